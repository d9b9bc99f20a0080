/** Latency bucket bounds, seconds: the demo handlers work 5–50 ms, and the default SLO is 200 ms. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

/** What a Prometheus histogram exposes: counts at or below each bound, the count and the sum. */
export interface BucketReading {
  /** Upper bounds, seconds, ascending. */
  readonly bounds: readonly number[];
  /** Values at or below each bound (cumulative), in the order of `bounds`. */
  readonly cumulative: readonly number[];
  readonly count: number;
  /** Seconds. */
  readonly sum: number;
}

/**
 * Counts of values by fixed upper bound, counted as they are recorded. Node's HDR histogram has no
 * public call that counts the values below a bound, so the Prometheus buckets cannot be read from
 * it; a value's bound is found among a dozen, which is cheaper than the histogram's own record.
 */
export class BucketCounts {
  readonly #bounds: readonly number[];
  readonly #boundsUs: readonly number[];
  /** Values in (previous bound, bound]; those above the last bound are only in `#count`. */
  readonly #counts: number[];
  #count = 0;
  #sumUs = 0;

  /** @param bounds upper bounds in seconds, ascending */
  constructor(bounds: readonly number[] = LATENCY_BUCKETS) {
    this.#bounds = bounds;
    this.#boundsUs = bounds.map((s) => Math.round(s * 1_000_000));
    this.#counts = new Array<number>(bounds.length).fill(0);
  }

  record(us: number): void {
    this.#count++;
    this.#sumUs += us;
    let i = 0;
    while (i < this.#boundsUs.length && us > (this.#boundsUs[i] as number)) i++;
    if (i < this.#counts.length) (this.#counts[i] as number)++;
  }

  read(): BucketReading {
    let running = 0;
    const cumulative = this.#counts.map((c) => {
      running += c;
      return running;
    });
    return { bounds: this.#bounds, cumulative, count: this.#count, sum: this.#sumUs / 1_000_000 };
  }
}
