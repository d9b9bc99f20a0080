// Kaizen as it was on hdr-histogram-js's private file and fields, with its own record, one-pass
// read and merge: kept only as the baseline of bench/kaizen.ts, which measures against it.
// The package's index also loads its WebAssembly build and log encoders (~8 MB of memory we
// never use); the plain JavaScript histogram is all Kaizen needs.
import int32Module from 'hdr-histogram-js/dist/Int32Histogram.js';

const Int32Histogram = int32Module.default;

/** The JavaScript HDR histogram: records, reads percentiles, and iterates its recorded values. */
export type Histogram = InstanceType<typeof Int32Histogram>;

/** Largest value kept: one hour, in microseconds. */
export const MAX_US = 3_600_000_000;

/**
 * An HDR histogram of microseconds, from 1 µs to one hour. Three significant digits (±0.1 %,
 * ~94 kB) for the figures since start; two (±1 %, ~13 kB) for the many short window slices.
 */
export function newHistogram(significantDigits: 2 | 3 = 3): Histogram {
  return new Int32Histogram(1, MAX_US, significantDigits);
}

/**
 * Records `us` in `h`, exactly as `h.recordValue(us)` does. The library finds a value's count with
 * `Math.log2` and two `Math.pow` calls (libm calls, and Kaizen records a dozen values a signal);
 * for whole microseconds from 1 to `MAX_US` (below 2^32) the same index comes from `Math.clz32` and
 * shifts. Anything else goes to the library.
 */
export function record(h: Histogram, us: number): void {
  if (!(us >= 1 && us <= MAX_US) || us !== Math.floor(us)) {
    h.recordValue(us);
    return;
  }
  const unit = h.unitMagnitude;
  const half = h.subBucketHalfCountMagnitude;
  // floor(log2(us)) is 31 - clz32(us) for 1 ≤ us < 2^32; value / 2^k is a shift there.
  const bucket = Math.max(31 - Math.clz32(us) - half - unit, 0);
  const index = ((bucket + 1) << half) + (us >>> (bucket + unit)) - h.subBucketHalfCount;
  if (index >= h.countsArrayLength) {
    h.recordValue(us);
    return;
  }
  h.incrementCountAtIndex(index);
  h.updateMinAndMax(us);
  h.incrementTotalCount();
}

export function toMicros(ms: number): number {
  return Math.min(MAX_US, Math.max(1, Math.round(ms * 1000)));
}

/** What one pass over a histogram gives: the mean and the value at each asked percentile. */
export interface Summary {
  /** Microseconds; 0 when the histogram is empty. */
  readonly mean: number;
  /** Microseconds, in the order the percentiles were asked; 0 when the histogram is empty. */
  readonly values: number[];
}

/** 2^k for k = 0…63: read, not computed with `Math.pow`. */
const POW2 = Float64Array.from({ length: 64 }, (_, k) => 2 ** k);

/**
 * The mean and several percentiles of `h` in one pass over its counts, with the library's own
 * rules (`mean` from each bucket's median equivalent value; a percentile is the highest
 * equivalent value of the first bucket whose cumulative count reaches it). The library reads
 * each percentile with its own scan and the mean through an allocating iterator, and finds each
 * index's value and range with `Math.log2` and `Math.pow`: here one scan, and shifts and a table
 * (an index's bucket is in its bits). `percentiles` must be ascending.
 */
export function summarize(h: Histogram, percentiles: readonly number[]): Summary {
  const total = h.totalCount;
  const values = new Array<number>(percentiles.length).fill(0);
  if (total === 0) return { mean: 0, values };
  const targets = percentiles.map((p) => {
    const fp = (Math.min(p, 100) / 100) * total;
    // As the library: round up, without letting a one-ulp error skip a count.
    return Math.max(Math.ceil(fp - 2 ** (Math.floor(Math.log2(fp)) - 52)), 1);
  });
  const half = h.subBucketHalfCount;
  const halfMagnitude = h.subBucketHalfCountMagnitude;
  const unit = h.unitMagnitude;
  let next = 0;
  let cumulative = 0;
  let sum = 0;
  const length = h.countsArrayLength;
  for (let i = 0; i < length && cumulative < total; i++) {
    const c = h.getCountAtIndex(i);
    if (c === 0) continue;
    cumulative += c;
    // As valueFromIndex and sizeOfEquivalentValueRange: index i holds [value, value + size).
    let bucket = (i >> halfMagnitude) - 1;
    let sub = (i & (half - 1)) + half;
    if (bucket < 0) {
      sub -= half;
      bucket = 0;
    }
    const size = POW2[bucket + unit] as number;
    const value = sub * size;
    sum += (value + Math.floor(size / 2)) * c;
    while (next < targets.length && cumulative >= (targets[next] as number)) {
      // As the library: percentile 0 is the bottom of the first bucket, any other its top.
      values[next] = percentiles[next] === 0 ? value : value + size - 1;
      next++;
    }
  }
  return { mean: sum / total, values };
}

/**
 * Adds the counts of `from` into `into`, as `into.add(from)` does, for histograms made by
 * `newHistogram` with the same precision; any other pair goes to the library. The library scans
 * every index of `from`; no count lies above the index of its highest value, so this stops there
 * (Kaizen's values are milliseconds to seconds in a range of up to an hour).
 */
export function merge(into: Histogram, from: Histogram): void {
  const max = from.maxValue;
  if (
    into.unitMagnitude !== 0 ||
    from.unitMagnitude !== 0 ||
    into.countsArrayLength !== from.countsArrayLength ||
    into.subBucketCount !== from.subBucketCount ||
    !(max >= 1 && max <= MAX_US) ||
    max !== Math.floor(max)
  ) {
    into.add(from);
    return;
  }
  if (from.totalCount === 0) return;
  const halfMagnitude = from.subBucketHalfCountMagnitude;
  const bucket = Math.max(31 - Math.clz32(max) - halfMagnitude, 0);
  const top = Math.min(
    ((bucket + 1) << halfMagnitude) + (max >>> bucket) - from.subBucketHalfCount,
    from.countsArrayLength - 1,
  );
  let observed = 0;
  for (let i = 0; i <= top; i++) {
    const c = from.getCountAtIndex(i);
    if (c > 0) {
      into.addToCountAtIndex(i, c);
      observed += c;
    }
  }
  into.setTotalCount(into.totalCount + observed);
  // With a lowest value of 1 the library stores both as they are (no unit rounding).
  into.maxValue = Math.max(into.maxValue, max);
  into.minNonZeroValue = Math.min(into.minNonZeroValue, from.minNonZeroValue);
  into.startTimeStampMsec = Math.min(into.startTimeStampMsec, from.startTimeStampMsec);
  into.endTimeStampMsec = Math.max(into.endTimeStampMsec, from.endTimeStampMsec);
}
