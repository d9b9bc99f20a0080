import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/clock.ts';
import { MAX_US, merge, newHistogram, record, summarize } from '../../src/kaizen/histogram.ts';
import { Kaizen } from '../../src/kaizen/metrics.ts';
import { RollingWindow } from '../../src/kaizen/rolling-window.ts';
import { WindowedHistogram } from '../../src/kaizen/windowed-histogram.ts';

/** The exact nearest-rank percentile of a sorted list. */
/** A repeatable pseudo-random sequence in [0, 1) (a linear congruential generator). */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function exact(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

describe('kaizen', () => {
  test('p50/p95/p99 agree with exact percentiles within HDR precision (0.1 %)', () => {
    const k = new Kaizen(new FakeClock());
    const durations: number[] = [];
    const random = seededRandom(42);
    for (let i = 0; i < 20_000; i++) {
      const ms = 1 + random() ** 3 * 400; // long-tailed
      durations.push(Math.round(ms * 1000) / 1000);
      k.recordFinished('t', true, ms, ms + 1);
    }
    durations.sort((a, b) => a - b);
    const s = k.snapshot();
    for (const [p, got] of [
      [50, s.p50_duration_ms],
      [95, s.p95_duration_ms],
      [99, s.p99_duration_ms],
      [99.9, s.p999_duration_ms],
    ] as const) {
      const want = exact(durations, p);
      assert.ok(Math.abs(got - want) <= want * 0.001 + 0.001, `p${p}: got ${got}, exact ${want}`);
    }
    const mean = durations.reduce((a, b) => a + b, 0) / durations.length;
    assert.ok(Math.abs(s.avg_duration_ms - mean) <= mean * 0.001 + 0.001);
  });

  test('counts each finished signal once and the error rate in percent', () => {
    const k = new Kaizen(new FakeClock());
    for (let i = 0; i < 97; i++) k.recordFinished('t', true, 10, 12);
    for (let i = 0; i < 3; i++) k.recordFinished('t', false, 10, 12);
    k.countRetry('t');
    k.countAccepted('t');
    k.countRejected('queue_full');
    const s = k.snapshot();
    assert.equal(s.total_processed, 100);
    assert.equal(s.success_count, 97);
    assert.equal(s.error_count, 3);
    assert.equal(s.error_rate, 3);
    assert.equal(s.retries_total, 1);
    assert.equal(s.accepted_total, 1);
    assert.equal(s.rejected_total.queue_full, 1);
  });

  test('the last-minute window forgets what is older than a minute', () => {
    const clock = new FakeClock();
    const k = new Kaizen(clock);
    for (let i = 0; i < 10; i++) k.recordFinished('t', false, 600, 600);
    assert.equal(k.errorRateLastMinute(), 100);
    assert.ok(k.p99LatencyLastMinute() >= 599);
    clock.advance(61_000);
    k.recordFinished('t', true, 5, 5);
    assert.equal(k.errorRateLastMinute(), 0);
    assert.ok(k.p99LatencyLastMinute() < 10);
    assert.equal(k.snapshot().error_rate, 90.909, 'since-start figures keep everything (10 of 11 failed)');
  });

  test('keeps figures per signal type, and SLO attainment against the target', () => {
    const clock = new FakeClock();
    const k = new Kaizen(clock, 100);
    k.addType('fast');
    k.addType('slow');
    for (let i = 0; i < 10; i++) k.recordFinished('fast', true, 5, 20);
    for (let i = 0; i < 10; i++) k.recordFinished('slow', true, 150, 300);
    k.recordFinished('unregistered', false, 1, 1);
    const s = k.snapshot();
    assert.equal(s.total_processed, 21);
    assert.deepEqual(Object.keys(s.by_type), ['fast', 'slow'], 'only registered types get figures');
    assert.equal(s.by_type.fast?.processed, 10);
    assert.equal(s.by_type.slow?.slo_attainment, 0);
    assert.equal(s.by_type.fast?.slo_attainment, 1);
    assert.ok(Math.abs((s.slo_attainment ?? 0) - 11 / 21) < 0.001);
    assert.ok((s.by_type.slow?.latency.p99_ms ?? 0) >= 299);
    assert.equal(s.windows['1m'].processed, 21);
    assert.equal(k.sloAttainment('5m'), 11 / 21);
  });

  test('windows keep the last minute and five minutes apart', () => {
    const clock = new FakeClock();
    const k = new Kaizen(clock);
    k.addType('t');
    for (let i = 0; i < 5; i++) k.recordFinished('t', false, 500, 500);
    clock.advance(120_000);
    for (let i = 0; i < 5; i++) k.recordFinished('t', true, 10, 10);
    const s = k.snapshot();
    assert.equal(s.windows['1m'].processed, 5);
    assert.equal(s.windows['1m'].errors, 0);
    assert.ok(s.windows['1m'].latency.p99_ms < 11);
    assert.equal(s.windows['5m'].processed, 10);
    assert.equal(s.windows['5m'].error_rate, 50);
    assert.ok(s.windows['5m'].latency.p99_ms >= 495, 'the five-minute window still holds the slow ones');
    assert.equal(s.windows['1m'].throughput_per_sec, 0.083, '5 over the last 60 s');
    clock.advance(300_000);
    assert.equal(k.snapshot().windows['5m'].processed, 0);
    assert.equal(k.snapshot().windows['5m'].slo_attainment, null);
  });

  test('an empty system reports zeros, not NaN', () => {
    const s = new Kaizen(new FakeClock()).snapshot();
    assert.equal(s.error_rate, 0);
    assert.equal(s.p99_duration_ms, 0);
    assert.equal(s.latency.count, 0);
  });
});

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

describe('histogram record', () => {
  test('puts every value where the library recordValue puts it', () => {
    for (const digits of [2, 3] as const) {
      const ours = newHistogram(digits);
      const library = newHistogram(digits);
      const values: number[] = [1, 2, 3, 127, 128, 255, 256, 1023, 1024, 2047, 2048, MAX_US - 1, MAX_US];
      // Around every power of two, and a spread of whole and fractional microseconds.
      for (let k = 1; k < 32; k++) values.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
      let x = 12345;
      for (let i = 0; i < 20_000; i++) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        const scale = 10 ** (x % 10);
        values.push(Math.min(MAX_US, Math.max(1, Math.round((x / 2 ** 31) * scale))));
        values.push(1 + (x % 1000) + 0.5);
      }
      for (const v of values.filter((v) => v <= MAX_US)) {
        record(ours, v);
        library.recordValue(v);
      }
      assert.equal(ours.totalCount, library.totalCount);
      assert.equal(ours.minNonZeroValue, library.minNonZeroValue);
      assert.equal(ours.maxValue, library.maxValue);
      for (let i = 0; i < library.countsArrayLength; i++) {
        if (ours.getCountAtIndex(i) !== library.getCountAtIndex(i)) {
          assert.fail(
            `${digits} digits: count at index ${i}: ${ours.getCountAtIndex(i)} vs ${library.getCountAtIndex(i)}`,
          );
        }
      }
    }
  });
});

describe('histogram summary', () => {
  test('one pass gives the same mean and percentiles as the library', () => {
    const random = seededRandom(7);
    for (const digits of [2, 3] as const) {
      for (const n of [1, 2, 3, 10, 999, 20_000]) {
        const h = newHistogram(digits);
        for (let i = 0; i < n; i++) h.recordValue(1 + Math.floor(random() ** 3 * 5_000_000));
        const asked = [0, 0.1, 50, 95, 99, 99.9, 100];
        const { mean, values } = summarize(h, asked);
        assert.equal(mean, h.mean, `mean, ${n} values, ${digits} digits`);
        assert.deepEqual(
          values,
          asked.map((p) => h.getValueAtPercentile(p)),
          `percentiles, ${n} values, ${digits} digits`,
        );
      }
    }
    assert.deepEqual(summarize(newHistogram(), [50, 99]), { mean: 0, values: [0, 0] });
  });

  test("one pass reads each index's value and range as the library does, at every index", () => {
    for (const [digits, stride] of [
      [2, 1],
      [3, 7],
    ] as const) {
      // A count at every index: each percentile below lands on a different one.
      const h = newHistogram(digits);
      const n = h.countsArrayLength;
      for (let i = 0; i < n; i++) h.addToCountAtIndex(i, 1);
      h.setTotalCount(n);
      const asked: number[] = [0];
      for (let k = 1; k <= n; k += stride) asked.push((k * 100) / n);
      const { mean, values } = summarize(h, asked);
      assert.equal(mean, h.mean, `mean, ${digits} digits`);
      for (let j = 0; j < asked.length; j++) {
        const p = asked[j] as number;
        if (values[j] !== h.getValueAtPercentile(p)) {
          assert.fail(`${digits} digits, p${p}: ${values[j]} ≠ ${h.getValueAtPercentile(p)}`);
        }
      }
    }
  });

  test("merge adds counts as the library's add does", () => {
    const random = seededRandom(11);
    for (const digits of [2, 3] as const) {
      for (const [a, b] of [
        [0, 5],
        [5, 0],
        [1, 1],
        [300, 2_000],
        [20_000, 17],
      ] as const) {
        const fill = (count: number, scale: number) => {
          const h = newHistogram(digits);
          for (let i = 0; i < count; i++) record(h, 1 + Math.floor(random() ** 3 * scale));
          return h;
        };
        const into = fill(a, 200_000);
        const from = fill(b, MAX_US);
        const expected = fill(0, 1);
        expected.add(into);
        expected.add(from);
        merge(into, from);
        const label = `${digits} digits, ${a} + ${b} values`;
        assert.equal(into.totalCount, expected.totalCount, label);
        assert.equal(into.maxValue, expected.maxValue, label);
        assert.equal(into.minNonZeroValue, expected.minNonZeroValue, label);
        for (let i = 0; i < into.countsArrayLength; i++) {
          if (into.getCountAtIndex(i) !== expected.getCountAtIndex(i)) assert.fail(`${label}: index ${i}`);
        }
      }
    }
  });
});

describe('windowed histogram', () => {
  test('reads stay exact while a slice fills, as slices finish, and as they leave the window', () => {
    const w = new WindowedHistogram(6, 1000);
    const span = (now: number, ms: number) => {
      const h = w.merged(now, ms);
      return { count: h.totalCount, max: h.maxValue };
    };
    w.record(100, 0);
    assert.deepEqual(span(0, 3000), { count: 1, max: 100 });
    // More in the same slice after a read: the read after sees it.
    w.record(200, 500);
    assert.deepEqual(span(500, 3000), { count: 2, max: 200 });
    w.record(300, 1500);
    w.record(400, 2500);
    assert.deepEqual(span(2500, 3000), { count: 4, max: 400 });
    // The first slice leaves a 3 s window at 3 s, the second at 4 s; a 2 s window keeps less.
    assert.deepEqual(span(3000, 3000), { count: 2, max: 400 });
    assert.equal(w.merged(3000, 2000).totalCount, 1);
    assert.equal(w.merged(3000, 6000).totalCount, 4);
    w.record(500, 3200);
    assert.equal(w.merged(3200, 3000).totalCount, 3);
    assert.equal(w.merged(4000, 3000).totalCount, 2);
    // A slot that comes round again starts empty (0 s and 6 s share a ring slot).
    w.record(600, 6000);
    assert.deepEqual(span(6000, 6000), { count: 4, max: 600 });
    assert.equal(w.merged(20_000, 6000).totalCount, 0);
  });
});
