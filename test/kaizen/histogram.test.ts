import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_US, newHistogram, toMicros, valueAtPerMille } from '../../src/kaizen/histogram.ts';

describe('histogram', () => {
  test('reads percentiles by nearest rank, exactly where values fit the precision', () => {
    // Below 2,048 µs a three-digit histogram keeps every whole microsecond apart.
    const h = newHistogram(3);
    for (let us = 1; us <= 1000; us++) h.record(us);
    assert.deepEqual(
      [500, 950, 990, 999, 1000].map((perMille) => valueAtPerMille(h, perMille)),
      [500, 950, 990, 999, 1000],
    );
    assert.equal(h.mean, 500.5);
    assert.equal(h.count, 1000);
  });

  test('takes the first rank with at least the share at or below it, for small counts too', () => {
    const h = newHistogram(2);
    for (let us = 10; us <= 120; us += 10) h.record(us);
    assert.equal(valueAtPerMille(h, 950), 120, '95 % of 12 is 11.4 values: the 12th');
    assert.equal(valueAtPerMille(h, 500), 60, '50 % of 12 is the 6th');
    assert.equal(valueAtPerMille(h, 1), 10);
    const one = newHistogram(2);
    one.record(42);
    assert.equal(valueAtPerMille(one, 999), 42);
    assert.equal(valueAtPerMille(one, 1), 42);
  });

  test('reads a value as the top of its bucket, within 0.1 % (3 digits) or 1 % (2 digits)', () => {
    for (const [digits, precision] of [
      [3, 0.001],
      [2, 0.01],
    ] as const) {
      for (const us of [10_001, 123_457, 2_999_999, MAX_US]) {
        const h = newHistogram(digits);
        h.record(us);
        const read = valueAtPerMille(h, 500);
        assert.ok(read >= us && read <= us * (1 + precision), `${digits} digits: ${us} reads ${read}`);
        assert.equal(h.max, read, 'the max is read the same way');
      }
    }
  });

  test('an empty histogram reads 0', () => {
    assert.equal(valueAtPerMille(newHistogram(), 990), 0);
  });

  test('adds one histogram into another, and starts again on reset', () => {
    const a = newHistogram(2);
    const b = newHistogram(2);
    for (const us of [10, 20, 30]) a.record(us);
    for (const us of [40, 50]) b.record(us);
    a.add(b);
    assert.equal(a.count, 5);
    assert.equal(valueAtPerMille(a, 1000), 50);
    assert.equal(b.count, 2, 'the added one is left as it was');
    a.reset();
    assert.equal(a.count, 0);
    a.record(7);
    assert.equal(valueAtPerMille(a, 500), 7);
  });

  test('turns milliseconds into whole microseconds the histograms accept', () => {
    assert.equal(toMicros(1.2345), 1235);
    assert.equal(toMicros(10), 10_000);
    assert.equal(toMicros(0), 1);
    assert.equal(toMicros(-3), 1);
    assert.equal(toMicros(Number.NaN), 1);
    assert.equal(toMicros(1e12), MAX_US);
    assert.equal(toMicros(Number.POSITIVE_INFINITY), MAX_US);
    const h = newHistogram();
    for (const ms of [0, -3, Number.NaN, 1e12, 0.0004]) h.record(toMicros(ms));
    assert.equal(h.count, 5);
  });
});
