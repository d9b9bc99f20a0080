import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/clock.ts';
import { Kaizen } from '../../src/kaizen/metrics.ts';

/** A repeatable pseudo-random sequence in [0, 1) (a linear congruential generator). */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** The exact nearest-rank percentile of a sorted list. */
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

  test('reads a few values by nearest rank, and the max is not below any percentile', () => {
    const k = new Kaizen(new FakeClock());
    for (let ms = 1; ms <= 12; ms++) k.recordFinished('t', true, ms, ms);
    const p = k.snapshot().processing;
    const near = (got: number, want: number) => got >= want && got <= want * 1.001;
    assert.ok(near(p.p50_ms, 6), `p50 ${p.p50_ms}`);
    // 95 % of 12 is 11.4 values: the 12th is the first with at least 95 % at or below it.
    assert.ok(near(p.p95_ms, 12), `p95 ${p.p95_ms}`);
    assert.ok(near(p.max_ms, 12), `max ${p.max_ms}`);
    assert.ok(p.max_ms >= p.p999_ms);
    assert.ok(near(p.avg_ms, 6.5), `mean ${p.avg_ms}`);
  });

  test('counts since-start values by Prometheus bucket, overall and per type', () => {
    const k = new Kaizen(new FakeClock());
    k.addType('t');
    for (const ms of [0.5, 3, 5, 250, 90_000]) k.recordFinished('t', true, 1, ms);
    k.recordWait('other', 2);
    const latency = k.buckets('latency', 't');
    const at = (le: number) => latency.cumulative[latency.bounds.indexOf(le)];
    assert.equal(at(0.001), 1);
    assert.equal(at(0.0025), 1);
    assert.equal(at(0.005), 3, 'a value on a bound counts in that bound');
    assert.equal(at(0.2), 3);
    assert.equal(at(0.5), 4);
    assert.equal(at(60), 4, '90 s is only in +Inf');
    assert.equal(latency.count, 5);
    assert.ok(Math.abs(latency.sum - 90.2585) < 1e-9, `sum ${latency.sum}`);
    assert.equal(k.buckets('queue_wait').count, 1, 'an unregistered type counts overall');
    assert.equal(k.buckets('queue_wait', 't').count, 0);
    assert.equal(k.buckets('latency', 'unknown').count, 0);
  });
});
