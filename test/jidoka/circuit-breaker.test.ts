import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/clock.ts';
import { CircuitBreaker, type CircuitTransition } from '../../src/jidoka/circuit-breaker.ts';
import { Jidoka } from '../../src/jidoka/jidoka.ts';

function breaker(threshold = 5, openMs = 30_000) {
  const clock = new FakeClock();
  const transitions: CircuitTransition[] = [];
  const b = new CircuitBreaker('execute', { threshold, openMs }, clock, (t) => transitions.push(t));
  return { b, clock, transitions };
}

describe('circuit breaker', () => {
  test('opens after 5 consecutive failures', () => {
    const { b } = breaker();
    for (let i = 0; i < 4; i++) b.recordFailure();
    assert.equal(b.state, 'Closed');
    b.recordFailure();
    assert.equal(b.state, 'Open');
  });

  test('a success resets the consecutive count', () => {
    const { b } = breaker(3);
    b.recordFailure();
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    b.recordFailure();
    assert.equal(b.state, 'Closed');
  });

  test('while open it refuses admission and says how long to wait', () => {
    const { b, clock } = breaker(1, 30_000);
    assert.equal(b.admit(), 0);
    b.recordFailure();
    assert.equal(b.admit(), 30_000);
    clock.advance(12_000);
    assert.equal(b.admit(), 18_000);
    assert.equal(b.snapshot().retryAfterMs, 18_000);
  });

  test('after the open time it goes half-open and lets exactly one probe through', () => {
    const { b, clock } = breaker(1, 1_000);
    b.recordFailure();
    clock.advance(1_000);
    assert.equal(b.state, 'HalfOpen');
    assert.equal(b.admit(), 0);
    assert.ok(b.admit() > 0, 'a second call waits for the probe');
  });

  test('a successful probe closes the circuit again', () => {
    const { b, clock, transitions } = breaker(1, 1_000);
    b.recordFailure();
    clock.advance(1_000);
    assert.equal(b.admit(), 0);
    b.recordSuccess();
    assert.equal(b.state, 'Closed');
    assert.equal(b.admit(), 0);
    assert.deepEqual(
      transitions.map((t) => `${t.from}->${t.to}`),
      ['Closed->Open', 'Open->HalfOpen', 'HalfOpen->Closed'],
    );
  });

  test('a failed probe opens it again for a full open time', () => {
    const { b, clock } = breaker(1, 1_000);
    b.recordFailure();
    clock.advance(1_500);
    assert.equal(b.admit(), 0);
    b.recordFailure();
    assert.equal(b.state, 'Open');
    assert.equal(b.admit(), 1_000);
    assert.equal(b.snapshot().openings, 2);
  });

  test('a probe whose outcome never comes back frees its slot after the probe timeout', () => {
    const { b, clock } = breaker(1, 1_000);
    b.recordFailure();
    clock.advance(1_000);
    assert.equal(b.admit(), 0);
    clock.advance(500);
    assert.equal(b.admit(), 500);
    clock.advance(500);
    assert.equal(b.admit(), 0);
  });

  test('a probe slot given back lets the next call probe at once', () => {
    const { b, clock } = breaker(1, 1_000);
    b.recordFailure();
    clock.advance(1_000);
    assert.equal(b.admit(), 0);
    assert.ok(b.admit() > 0);
    b.releaseProbe();
    assert.equal(b.admit(), 0);
  });

  test('transitions carry the reason and counts', () => {
    const { b, transitions } = breaker(2);
    b.recordFailure();
    b.recordFailure();
    assert.equal(transitions.length, 1);
    assert.equal(transitions[0]?.reason, '2 consecutive failures');
    assert.equal(transitions[0]?.consecutiveFailures, 2);
    assert.equal(transitions[0]?.name, 'execute');
  });
});

describe('jidoka', () => {
  test('a failing line stops alone: other types keep flowing', () => {
    const j = new Jidoka({ threshold: 2, openMs: 10_000 }, new FakeClock());
    j.recordFailure('execute');
    j.recordFailure('execute');
    assert.ok(j.admit('execute') > 0);
    assert.equal(j.admit('validate'), 0);
    assert.deepEqual(j.states(), { execute: 'Open', validate: 'Closed' });
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
  });

  test('listeners hear every transition until they unsubscribe', () => {
    const j = new Jidoka({ threshold: 1, openMs: 1_000 }, new FakeClock());
    const seen: string[] = [];
    const off = j.onTransition((t) => seen.push(`${t.name}:${t.to}`));
    j.recordFailure('a');
    off();
    j.recordFailure('b');
    assert.deepEqual(seen, ['a:Open']);
  });
});
