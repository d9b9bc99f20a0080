import type { Histogram } from 'hdr-histogram-js';
import { newHistogram } from './histogram.ts';

/**
 * An HDR histogram over a sliding window: `slices` histograms of `sliceMs` each, the oldest
 * reset as time moves on. Values are microseconds.
 */
export class RecentHistogram {
  readonly #slices: Histogram[];
  readonly #stamps: number[];
  readonly #sliceMs: number;
  readonly #merged = newHistogram();

  constructor(slices = 6, sliceMs = 10_000) {
    this.#slices = Array.from({ length: slices }, newHistogram);
    this.#stamps = new Array<number>(slices).fill(-1);
    this.#sliceMs = sliceMs;
  }

  record(us: number, nowMs: number): void {
    const slot = Math.floor(nowMs / this.#sliceMs);
    const i = slot % this.#slices.length;
    const h = this.#slices[i] as Histogram;
    if (this.#stamps[i] !== slot) {
      this.#stamps[i] = slot;
      h.reset();
    }
    h.recordValue(us);
  }

  /** The values recorded within the window ending now, merged into one histogram. */
  merged(nowMs: number): Histogram {
    const current = Math.floor(nowMs / this.#sliceMs);
    this.#merged.reset();
    for (let i = 0; i < this.#slices.length; i++) {
      const stamp = this.#stamps[i] as number;
      if (stamp > current - this.#slices.length && stamp <= current) {
        this.#merged.add(this.#slices[i] as Histogram);
      }
    }
    return this.#merged;
  }
}
