/** Counts over the last `buckets × bucketMs` milliseconds, in fixed one-bucket steps. */
export interface WindowTotals {
  readonly ok: number;
  readonly failed: number;
  /** Signals finished within the SLO target. */
  readonly withinSlo: number;
}

/**
 * Outcome counts over a sliding window, in fixed time buckets: O(1) to record, O(buckets) to
 * read, constant memory.
 */
export class RollingWindow {
  readonly #bucketMs: number;
  readonly #ok: Float64Array;
  readonly #failed: Float64Array;
  readonly #withinSlo: Float64Array;
  readonly #stamp: Float64Array;

  constructor(buckets = 300, bucketMs = 1000) {
    this.#bucketMs = bucketMs;
    this.#ok = new Float64Array(buckets);
    this.#failed = new Float64Array(buckets);
    this.#withinSlo = new Float64Array(buckets);
    this.#stamp = new Float64Array(buckets).fill(-1);
  }

  record(ok: boolean, withinSlo: boolean, nowMs: number): void {
    const slot = Math.floor(nowMs / this.#bucketMs);
    const i = slot % this.#stamp.length;
    if (this.#stamp[i] !== slot) {
      this.#stamp[i] = slot;
      this.#ok[i] = 0;
      this.#failed[i] = 0;
      this.#withinSlo[i] = 0;
    }
    if (ok) (this.#ok[i] as number)++;
    else (this.#failed[i] as number)++;
    if (withinSlo) (this.#withinSlo[i] as number)++;
  }

  /** Counts over the last `windowMs` (at most the whole window), the current bucket included. */
  totals(nowMs: number, windowMs = this.#stamp.length * this.#bucketMs): WindowTotals {
    const current = Math.floor(nowMs / this.#bucketMs);
    const span = Math.min(this.#stamp.length, Math.ceil(windowMs / this.#bucketMs));
    let ok = 0;
    let failed = 0;
    let withinSlo = 0;
    for (let i = 0; i < this.#stamp.length; i++) {
      const stamp = this.#stamp[i] as number;
      if (stamp > current - span && stamp <= current) {
        ok += this.#ok[i] as number;
        failed += this.#failed[i] as number;
        withinSlo += this.#withinSlo[i] as number;
      }
    }
    return { ok, failed, withinSlo };
  }
}
