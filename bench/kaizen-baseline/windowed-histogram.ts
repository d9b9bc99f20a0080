// Kaizen as it was on hdr-histogram-js's private file and fields, with its own record, one-pass
// read and merge: kept only as the baseline of bench/kaizen.ts, which measures against it.
import { type Histogram, merge, newHistogram, record } from './histogram.ts';

/** The finished slices of one window length, merged once per slice and reused until the next. */
interface PastSlices {
  slot: number;
  readonly histogram: Histogram;
}

/**
 * An HDR histogram over a sliding window: a ring of `slices` histograms of `sliceMs` each, made on
 * first use and reset when their slot comes round again. A window of any length up to the whole
 * ring is read by merging the slices it covers (the current one included). Finished slices never
 * change, so their merge is kept per window length and redone only when a new slice begins: a
 * read costs two merges, not one per slice.
 */
export class WindowedHistogram {
  readonly #slices: (Histogram | undefined)[];
  readonly #stamps: Float64Array;
  readonly #sliceMs: number;
  readonly #merged = newHistogram(2);
  readonly #past = new Map<number, PastSlices>();

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
    record(h, us);
  }

  /** The values recorded in the last `windowMs` (whole slices), merged into a histogram owned here. */
  merged(nowMs: number, windowMs: number): Histogram {
    const current = Math.floor(nowMs / this.#sliceMs);
    const span = Math.min(this.#slices.length, Math.ceil(windowMs / this.#sliceMs));
    const past = this.#pastSlices(current, span);
    this.#merged.reset();
    if (past.totalCount > 0) merge(this.#merged, past);
    const i = current % this.#slices.length;
    const now = this.#slices[i];
    if (now !== undefined && this.#stamps[i] === current && now.totalCount > 0) merge(this.#merged, now);
    return this.#merged;
  }

  /** The merge of the `span - 1` finished slices before `current`. */
  #pastSlices(current: number, span: number): Histogram {
    let past = this.#past.get(span);
    if (past === undefined) {
      past = { slot: Number.NaN, histogram: newHistogram(2) };
      this.#past.set(span, past);
    }
    if (past.slot !== current) {
      past.slot = current;
      past.histogram.reset();
      for (let i = 0; i < this.#slices.length; i++) {
        const h = this.#slices[i];
        const stamp = this.#stamps[i] as number;
        if (h !== undefined && stamp > current - span && stamp < current && h.totalCount > 0) {
          merge(past.histogram, h);
        }
      }
    }
    return past.histogram;
  }
}
