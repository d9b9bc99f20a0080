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

export function toMicros(ms: number): number {
  return Math.min(MAX_US, Math.max(1, Math.round(ms * 1000)));
}
