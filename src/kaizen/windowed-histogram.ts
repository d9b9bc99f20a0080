import { type Histogram, newHistogram } from './histogram.ts';

/**
 * An HDR histogram over a sliding window: a ring of `slices` histograms of `sliceMs` each, made on
 * first use and reset when their slot comes round again. A window of any length up to the whole
 * ring is read by merging the slices it covers (the current one included).
 */
export class WindowedHistogram {
  readonly #slices: (Histogram | undefined)[];
  readonly #stamps: Float64Array;
  readonly #sliceMs: number;
  readonly #merged = newHistogram(2);

  constructor(slices: number, sliceMs: number) {
    this.#slices = new Array(slices).fill(undefined);
    this.#stamps = new Float64Array(slices).fill(-1);
    this.#sliceMs = sliceMs;
  }

  record(us: number, nowMs: number): void {
    const slot = Math.floor(nowMs / this.#sliceMs);
    const i = slot % this.#slices.length;
    let h = this.#slices[i];
    if (h === undefined) {
      h = newHistogram(2);
      this.#slices[i] = h;
    }
    if (this.#stamps[i] !== slot) {
      this.#stamps[i] = slot;
      h.reset();
    }
    h.recordValue(us);
  }

  /** The values recorded in the last `windowMs` (whole slices), merged into a histogram owned here. */
  merged(nowMs: number, windowMs: number): Histogram {
    const current = Math.floor(nowMs / this.#sliceMs);
    const span = Math.min(this.#slices.length, Math.ceil(windowMs / this.#sliceMs));
    this.#merged.reset();
    for (let i = 0; i < this.#slices.length; i++) {
      const h = this.#slices[i];
      const stamp = this.#stamps[i] as number;
      if (h !== undefined && stamp > current - span && stamp <= current) this.#merged.add(h);
    }
    return this.#merged;
  }
}
