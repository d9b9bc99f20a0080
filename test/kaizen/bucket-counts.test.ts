import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BucketCounts, LATENCY_BUCKETS } from '../../src/kaizen/bucket-counts.ts';

describe('bucket counts', () => {
  test('counts each value at or below each bound, cumulatively, with the sum in seconds', () => {
    const b = new BucketCounts([0.001, 0.01, 0.1]);
    for (const us of [1, 1000, 1001, 10_000, 99_999, 100_001, 5_000_000]) b.record(us);
    assert.deepEqual(b.read(), {
      bounds: [0.001, 0.01, 0.1],
      cumulative: [2, 4, 5],
      count: 7,
      sum: 5.212002,
    });
  });

  test('starts empty on the latency bounds', () => {
    const r = new BucketCounts().read();
    assert.deepEqual(r.bounds, LATENCY_BUCKETS);
    assert.deepEqual(r.cumulative, new Array(LATENCY_BUCKETS.length).fill(0));
    assert.equal(r.count, 0);
    assert.equal(r.sum, 0);
  });

  test('places a value on a bound whose microseconds are not exact in binary', () => {
    // 0.000249 s × 10^6 is 248.99999999999997 in floating point: the bound is still 249 µs.
    const b = new BucketCounts([0.000249, 0.000251]);
    b.record(249);
    b.record(251);
    assert.deepEqual(b.read().cumulative, [1, 2]);
  });
});
