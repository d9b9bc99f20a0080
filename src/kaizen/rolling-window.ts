/**
 * Outcome counts over the last `buckets × bucketMs` milliseconds, in fixed time buckets. O(1) to
 * record, O(buckets) to read, constant memory.
 */
export class RollingWindow {
  readonly #bucketMs: number;
  readonly #ok: Float64Array;
  readonly #failed: Float64Array;
  readonly #stamp: Float64Array;

  constructor(buckets = 60, bucketMs = 1000) {
    this.#bucketMs = bucketMs;
    this.#ok = new Float64Array(buckets);
    this.#failed = new Float64Array(buckets);
    this.#stamp = new Float64Array(buckets).fill(-1);
  }

  record(ok: boolean, nowMs: number): void {
    const slot = Math.floor(nowMs / this.#bucketMs);
    const i = slot % this.#stamp.length;
    if (this.#stamp[i] !== slot) {
      this.#stamp[i] = slot;
      this.#ok[i] = 0;
      this.#failed[i] = 0;
    }
    if (ok) (this.#ok[i] as number)++;
    else (this.#failed[i] as number)++;
  }

  /** Counts over the last `windowMs` (at most the whole window), the current bucket included. */
  totals(nowMs: number, windowMs = this.#stamp.length * this.#bucketMs): { ok: number; failed: number } {
    const current = Math.floor(nowMs / this.#bucketMs);
    const span = Math.min(this.#stamp.length, Math.ceil(windowMs / this.#bucketMs));
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < this.#stamp.length; i++) {
      const stamp = this.#stamp[i] as number;
      if (stamp > current - span && stamp <= current) {
        ok += this.#ok[i] as number;
        failed += this.#failed[i] as number;
      }
    }
    return { ok, failed };
  }
}
