import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { valueAtPerMille } from '../../src/kaizen/histogram.ts';
import { WindowedHistogram } from '../../src/kaizen/windowed-histogram.ts';

describe('windowed histogram', () => {
  test('reads stay exact while a slice fills, as slices finish, and as they leave the window', () => {
    // Values below 256 µs: a two-digit histogram keeps each apart, so the max reads exactly.
    const w = new WindowedHistogram(6, 1000);
    const span = (now: number, ms: number) => {
      const h = w.merged(now, ms);
      return { count: h.count, max: h.max };
    };
    w.record(10, 0);
    assert.deepEqual(span(0, 3000), { count: 1, max: 10 });
    // More in the same slice after a read: the read after sees it.
    w.record(20, 500);
    assert.deepEqual(span(500, 3000), { count: 2, max: 20 });
    w.record(30, 1500);
    w.record(40, 2500);
    assert.deepEqual(span(2500, 3000), { count: 4, max: 40 });
    // The first slice leaves a 3 s window at 3 s, the second at 4 s; a 2 s window keeps less.
    assert.deepEqual(span(3000, 3000), { count: 2, max: 40 });
    assert.equal(w.merged(3000, 2000).count, 1);
    assert.equal(w.merged(3000, 6000).count, 4);
    w.record(50, 3200);
    assert.equal(w.merged(3200, 3000).count, 3);
    assert.equal(w.merged(4000, 3000).count, 2);
    // A slot that comes round again starts empty (0 s and 6 s share a ring slot).
    w.record(60, 6000);
    assert.deepEqual(span(6000, 6000), { count: 4, max: 60 });
    assert.equal(w.merged(20_000, 6000).count, 0);
  });

  test('merges the slices of a window into one set of percentiles', () => {
    const w = new WindowedHistogram(30, 10_000);
    // One value a second for a minute: 1 µs … 60 µs, six slices of ten.
    for (let s = 0; s < 60; s++) w.record(s + 1, s * 1000);
    const minute = w.merged(59_000, 60_000);
    assert.equal(minute.count, 60);
    assert.equal(valueAtPerMille(minute, 500), 30);
    assert.equal(valueAtPerMille(minute, 950), 57);
    assert.equal(minute.mean, 30.5);
    // Twenty seconds later the first two slices (1–20 µs) are out of the last minute.
    const later = w.merged(79_000, 60_000);
    assert.equal(later.count, 40);
    assert.equal(valueAtPerMille(later, 1), 21);
    assert.equal(w.merged(79_000, 300_000).count, 60, 'five minutes still hold them all');
  });
});
