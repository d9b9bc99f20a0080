import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Node's HDR histogram (HdrHistogram_c) of whole microseconds. */
export type Histogram = RecordableHistogram;

/** Largest value kept: one hour, in microseconds. */
export const MAX_US = 3_600_000_000;

/**
 * An HDR histogram of microseconds, from 1 µs to one hour. Three significant digits (±0.1 %) for
 * the figures since start; two (±1 %, a seventh of the memory) for the many short window slices.
 */
export function newHistogram(significantDigits: 2 | 3 = 3): Histogram {
  return createHistogram({ lowest: 1, highest: MAX_US, figures: significantDigits });
}

/** Milliseconds to whole microseconds in 1…`MAX_US`, the only values a histogram here takes. */
export function toMicros(ms: number): number {
  const us = Math.round(ms * 1000);
  // `record` throws on anything but an integer ≥ 1: NaN and negatives count as the smallest value.
  return us >= 1 ? Math.min(us, MAX_US) : 1;
}

/**
 * The value at a percentile given in tenths of a percent (999 for p99.9), by nearest rank: the
 * smallest value (to the histogram's precision) with at least that share of the count at or below
 * it; 0 when empty. Node's `percentile(p)` rounds the rank p/100 × count to the nearest whole
 * (HdrHistogram_c's rule), which for a small count can be the rank below (p95 of 12 values: the
 * 11th); asking it for the percentile of the nearest rank itself keeps the usual definition.
 * Tenths of a percent keep the rank's arithmetic in whole numbers, so it is exact.
 */
export function valueAtPerMille(h: Histogram, perMille: number): number {
  const count = h.count;
  if (count === 0) return 0;
  const rank = Math.max(1, Math.ceil((perMille * count) / 1000));
  return h.percentile((rank * 100) / count);
}
