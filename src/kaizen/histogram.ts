import type { Histogram } from 'hdr-histogram-js';
// The package's index also loads its WebAssembly build and log encoders (~8 MB of memory we
// never use); the plain JavaScript histogram is all Kaizen needs.
import int32Module from 'hdr-histogram-js/dist/Int32Histogram.js';

const Int32Histogram = int32Module.default;

/** Largest value kept: one hour, in microseconds. */
export const MAX_US = 3_600_000_000;

/** An HDR histogram of microseconds, from 1 µs to one hour, to three significant digits (±0.1 %). */
export function newHistogram(): Histogram {
  return new Int32Histogram(1, MAX_US, 3);
}
