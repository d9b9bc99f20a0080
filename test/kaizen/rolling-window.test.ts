import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RollingWindow } from '../../src/kaizen/rolling-window.ts';

describe('rolling window', () => {
  test('sums the buckets inside the window only', () => {
    const w = new RollingWindow();
    const w60 = new RollingWindow(60, 1000);
    w60.record(true, true, 0);
    w60.record(false, false, 500);
    w60.record(true, false, 30_000);
    assert.deepEqual(w60.totals(30_000), { ok: 2, failed: 1, withinSlo: 1 });
    assert.deepEqual(w60.totals(30_000, 10_000), { ok: 1, failed: 0, withinSlo: 0 });
    assert.deepEqual(w60.totals(60_500), { ok: 1, failed: 0, withinSlo: 0 });
    assert.deepEqual(w60.totals(200_000), { ok: 0, failed: 0, withinSlo: 0 });
    assert.equal(w.totals(0).ok, 0);
  });
});
