import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock, systemClock } from '../../src/clock.ts';
import { resolveConfig } from '../../src/config.ts';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitTransition,
} from '../../src/jidoka/circuit-breaker.ts';
import { breakerOptions, Jidoka, transitionText } from '../../src/jidoka/jidoka.ts';
import { waitUntil } from '../helpers.ts';

function breaker(options: Partial<CircuitBreakerOptions> = {}) {
  const clock = new FakeClock();
  const transitions: CircuitTransition[] = [];
  const b = new CircuitBreaker('execute', { threshold: 5, openMs: 30_000, ...options }, clock, (t) =>
    transitions.push(t),
  );
  return { b, clock, transitions };
}

function calls(b: CircuitBreaker, pattern: string, durationMs = 0): void {
  for (const c of pattern) b.record(c === '.', durationMs);
}

describe('circuit breaker: consecutive failures (the default rule)', () => {
  test('opens after 5 consecutive failures', () => {
    const { b } = breaker();
    calls(b, 'xxxx');
    assert.equal(b.state, 'Closed');
    b.recordFailure();
    assert.equal(b.state, 'Open');
  });

  test('a success resets the consecutive count; with the rate rules off no share of failures opens it', () => {
    const { b } = breaker({ threshold: 3 });
    calls(b, 'xx.xx.xx.xx.xx.xx.xx.xx.xx.xx.');
    assert.equal(b.state, 'Closed');
    assert.equal(b.snapshot().failures, 20);
  });

  test('slow calls do not count while the slow-call rule is off', () => {
    const { b } = breaker({ threshold: 1 });
    calls(b, '..........', 60_000);
    assert.equal(b.state, 'Closed');
  });

  test('transitions carry the reason, the counts and the open time', () => {
    const { b, transitions } = breaker({ threshold: 2, openMs: 5_000 });
    calls(b, 'xx');
    assert.equal(transitions.length, 1);
    const t = transitions[0] as CircuitTransition;
    assert.equal(t.reason, '2 consecutive failures');
    assert.equal(t.consecutiveFailures, 2);
    assert.equal(t.name, 'execute');
    assert.equal(t.openMs, 5_000);
    assert.equal(transitionText(t), 'circuit execute Closed → Open for 5 s: 2 consecutive failures');
  });
});

describe('circuit breaker: failure rate over a window', () => {
  const rate = {
    threshold: 1_000,
    failureRatePct: 50,
    minimumCalls: 10,
    window: { kind: 'count', size: 10 },
  } as const;

  test('opens when the share of failures in the last N calls reaches the rate', () => {
    const { b, transitions } = breaker(rate);
    calls(b, '.x.x.x.x.');
    assert.equal(b.state, 'Closed', 'nine calls are under the minimum');
    b.recordFailure();
    assert.equal(b.state, 'Open');
    assert.equal(transitions[0]?.reason, 'failure rate 50 % over the last 10 calls');
  });

  test('old calls slide out of a count window', () => {
    const { b } = breaker(rate);
    calls(b, 'x.x.x.x...');
    assert.equal(b.snapshot().window.failureRatePct, 40);
    calls(b, '.....');
    assert.equal(b.snapshot().window.failureRatePct, 10, 'three of the four failures slid out');
    calls(b, 'x.x.');
    assert.equal(b.state, 'Closed');
  });

  test('does not open below the minimum number of calls', () => {
    const { b } = breaker({ ...rate, minimumCalls: 20, window: { kind: 'count', size: 50 } });
    calls(b, 'x.x.x.x.x.x.x.x.x.');
    assert.equal(b.state, 'Closed');
    assert.equal(b.snapshot().window.calls, 18);
    calls(b, 'x.');
    assert.equal(b.state, 'Open');
  });

  test('a time window forgets calls older than its length', () => {
    const { b, clock, transitions } = breaker({
      ...rate,
      minimumCalls: 4,
      window: { kind: 'time', size: 10 },
    });
    calls(b, 'x.x');
    clock.advance(11_000);
    calls(b, '.x.');
    assert.equal(b.state, 'Closed', 'the first three calls left the window');
    assert.equal(b.snapshot().window.calls, 3);
    calls(b, 'x');
    assert.equal(b.state, 'Open');
    assert.equal(transitions[0]?.reason, 'failure rate 50 % over the last 10 s');
  });
});

describe('circuit breaker: slow-call rate', () => {
  const slow = {
    threshold: 1_000,
    slowCallMs: 100,
    slowCallRatePct: 50,
    minimumCalls: 4,
    window: { kind: 'count', size: 10 },
  } as const;

  test('opens when too many successful calls are slower than the threshold', () => {
    const { b, transitions } = breaker(slow);
    calls(b, '..', 20);
    calls(b, '.', 150);
    assert.equal(b.state, 'Closed');
    calls(b, '.', 101);
    assert.equal(b.state, 'Open');
    assert.equal(transitions[0]?.reason, '50 % of calls slower than 100 ms over the last 10 calls');
  });

  test('a call exactly at the threshold is not slow', () => {
    const { b } = breaker(slow);
    calls(b, '........', 100);
    assert.equal(b.state, 'Closed');
    assert.equal(b.snapshot().window.slowCallRatePct, 0);
  });

  test('a slow probe counts as a failed probe', () => {
    const { b, clock, transitions } = breaker({ ...slow, openMs: 1_000 });
    calls(b, '....', 500);
    clock.advance(1_000);
    assert.equal(b.acquire(), 0);
    b.recordSuccess(500);
    assert.equal(b.state, 'Open');
    assert.equal(transitions.at(-1)?.reason, 'probe slower than 100 ms');
  });
});

describe('circuit breaker: open, half-open, probes', () => {
  test('while open the door refuses and says how long is left', () => {
    const { b, clock } = breaker({ threshold: 1 });
    assert.equal(b.admit(), 0);
    b.recordFailure();
    assert.equal(b.admit(), 30_000);
    clock.advance(12_000);
    assert.equal(b.admit(), 18_000);
    assert.equal(b.snapshot().retryAfterMs, 18_000);
    assert.equal(b.snapshot().rejected, 2);
  });

  test('while open the line holds every signal back for the rest of the open time', () => {
    const { b, clock } = breaker({ threshold: 1 });
    b.recordFailure();
    clock.advance(20_000);
    assert.equal(b.acquire(), 10_000);
    assert.equal(b.acquire(), 10_000);
    assert.equal(b.snapshot().deferred, 2);
  });

  test('half-open: the door admits, the line runs exactly N probes at once', () => {
    const { b, clock } = breaker({ threshold: 1, openMs: 1_000, halfOpenProbes: 3 });
    b.recordFailure();
    clock.advance(1_000);
    assert.equal(b.state, 'HalfOpen');
    assert.equal(b.admit(), 0, 'new signals may queue while probing');
    assert.deepEqual([b.acquire(), b.acquire(), b.acquire()], [0, 0, 0]);
    assert.equal(b.acquire(), 100, 'a fourth waits a tenth of the open time');
    b.recordSuccess();
    assert.equal(b.state, 'Closed');
  });

  test('closes only after the configured number of successful probes', () => {
    const { b, clock, transitions } = breaker({
      threshold: 1,
      openMs: 1_000,
      halfOpenProbes: 2,
      successesToClose: 3,
    });
    b.recordFailure();
    clock.advance(1_000);
    for (let i = 0; i < 2; i++) {
      assert.equal(b.acquire(), 0);
      b.recordSuccess();
      assert.equal(b.state, 'HalfOpen');
    }
    assert.equal(b.acquire(), 0);
    b.recordSuccess();
    assert.equal(b.state, 'Closed');
    assert.deepEqual(
      transitions.map((t) => `${t.from}->${t.to}`),
      ['Closed->Open', 'Open->HalfOpen', 'HalfOpen->Closed'],
    );
    assert.equal(transitions.at(-1)?.reason, '3 probes succeeded');
  });

  test('a failed probe opens it again', () => {
    const { b, clock } = breaker({ threshold: 1, openMs: 1_000, successesToClose: 2 });
    b.recordFailure();
    clock.advance(1_500);
    assert.equal(b.acquire(), 0);
    b.recordSuccess();
    assert.equal(b.acquire(), 0);
    b.recordFailure();
    assert.equal(b.state, 'Open');
    assert.equal(b.admit(), 1_000);
    assert.equal(b.snapshot().openings, 2);
  });

  test('the open time doubles with each failed probe up to the cap, and starts over once closed', () => {
    const { b, clock, transitions } = breaker({ threshold: 1, openMs: 1_000, maxOpenMs: 5_000 });
    b.recordFailure();
    const openTimes: number[] = [];
    for (let i = 0; i < 4; i++) {
      openTimes.push(b.snapshot().retryAfterMs);
      clock.advance(b.snapshot().retryAfterMs);
      assert.equal(b.acquire(), 0);
      b.recordFailure();
    }
    openTimes.push(b.snapshot().retryAfterMs);
    assert.deepEqual(openTimes, [1_000, 2_000, 4_000, 5_000, 5_000]);
    assert.deepEqual(
      transitions.filter((t) => t.to === 'Open').map((t) => t.openMs),
      [1_000, 2_000, 4_000, 5_000, 5_000],
    );
    clock.advance(5_000);
    assert.equal(b.acquire(), 0);
    b.recordSuccess();
    assert.equal(b.state, 'Closed');
    b.recordFailure();
    assert.equal(b.snapshot().retryAfterMs, 1_000);
  });

  test('without a cap the open time stays the same', () => {
    const { b, clock } = breaker({ threshold: 1, openMs: 1_000 });
    b.recordFailure();
    clock.advance(1_000);
    b.acquire();
    b.recordFailure();
    assert.equal(b.snapshot().retryAfterMs, 1_000);
  });

  test('a probe whose outcome never comes back frees its slot after the probe timeout', () => {
    const { b, clock } = breaker({ threshold: 1, openMs: 1_000 });
    b.recordFailure();
    clock.advance(1_000);
    assert.equal(b.acquire(), 0);
    clock.advance(500);
    assert.ok(b.acquire() > 0);
    clock.advance(500);
    assert.equal(b.acquire(), 0);
  });
});

describe('circuit breaker: operators', () => {
  test('isolate holds it open past the open time until reset', () => {
    const { b, clock, transitions } = breaker({ openMs: 1_000 });
    b.isolate();
    assert.equal(b.state, 'Open');
    clock.advance(60_000);
    assert.equal(b.state, 'Open', 'no probes while isolated');
    assert.equal(b.admit(), 1_000);
    assert.equal(b.acquire(), 1_000);
    const snap = b.snapshot();
    assert.equal(snap.isolated, true);
    assert.equal(snap.retryAfterMs, 0);
    assert.equal(transitions[0]?.reason, 'isolated by an operator');
    assert.equal(transitions[0]?.openMs, 0);
    b.reset();
    assert.equal(b.state, 'Closed');
    assert.equal(b.admit(), 0);
    assert.equal(b.snapshot().isolated, false);
    assert.equal(transitions.at(-1)?.reason, 'reset by an operator');
  });

  test('reset closes an open circuit and forgets the failures', () => {
    const { b } = breaker({ threshold: 3 });
    calls(b, 'xxx');
    assert.equal(b.state, 'Open');
    b.reset();
    assert.equal(b.state, 'Closed');
    calls(b, 'xx');
    assert.equal(b.state, 'Closed', 'the count started over');
  });

  test('isolating an open circuit keeps it open past its timeout', () => {
    const { b, clock } = breaker({ threshold: 1, openMs: 1_000 });
    b.recordFailure();
    b.isolate();
    clock.advance(5_000);
    assert.equal(b.state, 'Open');
  });
});

describe('jidoka', () => {
  test('a failing line stops alone: other types keep flowing', () => {
    const j = new Jidoka({ threshold: 2, openMs: 10_000 }, new FakeClock());
    j.recordFailure('execute');
    j.recordFailure('execute');
    assert.ok(j.admit('execute') > 0);
    assert.ok(j.acquire('execute') > 0);
    assert.equal(j.admit('validate'), 0);
    assert.equal(j.acquire('validate'), 0);
    assert.deepEqual(j.states(), { execute: 'Open', validate: 'Closed' });
    j.close();
  });

  test('isolate and reset act on one line only', () => {
    const j = new Jidoka({ threshold: 2, openMs: 10_000 }, new FakeClock());
    j.breaker('validate');
    assert.equal(j.isolate('execute').state, 'Open');
    assert.deepEqual(j.states(), { validate: 'Closed', execute: 'Open' });
    assert.equal(j.reset('execute').state, 'Closed');
    j.close();
  });

  test('the worst state is reported over all lines', () => {
    const clock = new FakeClock();
    const j = new Jidoka({ threshold: 1, openMs: 1_000 }, clock);
    j.breaker('validate');
    assert.equal(j.worstState(), 'Closed');
    j.recordFailure('execute');
    assert.equal(j.worstState(), 'Open');
    clock.advance(1_000);
    assert.equal(j.worstState(), 'HalfOpen');
    j.close();
  });

  test('listeners hear every transition until they unsubscribe', () => {
    const j = new Jidoka({ threshold: 1, openMs: 1_000 }, new FakeClock());
    const seen: string[] = [];
    const off = j.onTransition((t) => seen.push(`${t.name}:${t.to}`));
    j.recordFailure('a');
    off();
    j.recordFailure('b');
    assert.deepEqual(seen, ['a:Open']);
    j.close();
  });

  test('an open circuit turns half-open by itself when its time is up', async () => {
    const j = new Jidoka({ threshold: 1, openMs: 40 }, systemClock);
    const seen: string[] = [];
    j.onTransition((t) => seen.push(t.to));
    j.recordFailure('a');
    await waitUntil(() => seen.length === 2, 'the half-open transition', 2_000);
    assert.deepEqual(seen, ['Open', 'HalfOpen']);
    j.close();
  });

  test('the configuration names every rule', () => {
    const o = breakerOptions(
      resolveConfig({
        cbThreshold: 7,
        cbTimeoutSecs: 10,
        cbTimeoutMaxSecs: 80,
        cbHalfOpenProbes: 3,
        cbCloseAfter: 2,
        cbWindowSecs: 30,
        cbMinCalls: 5,
        cbFailureRatePct: 40,
        cbSlowCallMs: 250,
        cbSlowCallRatePct: 60,
      }),
    );
    assert.deepEqual(o, {
      threshold: 7,
      openMs: 10_000,
      maxOpenMs: 80_000,
      halfOpenProbes: 3,
      successesToClose: 2,
      window: { kind: 'time', size: 30 },
      minimumCalls: 5,
      failureRatePct: 40,
      slowCallMs: 250,
      slowCallRatePct: 60,
    });
    const seed = breakerOptions(resolveConfig({}));
    assert.equal(seed.threshold, 5);
    assert.equal(seed.openMs, 30_000);
    assert.equal(seed.maxOpenMs, 30_000, 'no growth by default');
    assert.deepEqual(seed.window, { kind: 'count', size: 20 });
    assert.equal(seed.failureRatePct, 0, 'the rate rules are off by default');
    assert.equal(seed.slowCallRatePct, 0);
  });

  test('a cap below the open time is refused at start-up', () => {
    assert.throws(() => resolveConfig({ cbTimeoutSecs: 30, cbTimeoutMaxSecs: 10 }), /TPS_CB_TIMEOUT_MAX/);
  });
});
