import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  completed,
  deadLettered,
  heldBack,
  retried,
  retrying,
  started,
} from '../../src/pipeline/transitions.ts';
import { newRecord, type SignalRecord } from '../../src/signal.ts';
import { testSignal } from '../helpers.ts';

function queued(): SignalRecord {
  return Object.freeze(newRecord(testSignal({ type: 'work' }), 3, 'k-1'));
}

describe('a record’s state changes', () => {
  test('each returns a new record and leaves the one it was given as it was', () => {
    const r = queued();
    const next = started(r, 1, 'worker-1', 10);
    assert.notEqual(next, r);
    assert.equal(r.state, 'queued');
    assert.equal(next.state, 'processing');
  });

  test('started counts the attempt, names the worker and clears the wait', () => {
    const held = heldBack(queued(), 5, 100, 'held back: circuit work Open');
    const r = started(held, 1, 'worker-2', 200);
    assert.deepEqual(
      [r.state, r.attempts, r.workerId, r.startedAt, r.nextAttemptAt, r.message, r.deferrals],
      ['processing', 1, 'worker-2', 200, undefined, undefined, 1],
    );
  });

  test('held back: queued again, one deferral more, due after the hold', () => {
    const r = heldBack(queued(), 1_000, 250, 'held back: circuit work HalfOpen');
    assert.deepEqual(
      [r.state, r.deferrals, r.nextAttemptAt, r.message, r.attempts],
      ['queued', 1, 1_250, 'held back: circuit work HalfOpen', 0],
    );
  });

  test('completed keeps the result, drops the error and the payload', () => {
    const failed = retrying(started(queued(), 1, 'w', 0), 'boom', 5, 5, 100);
    const r = completed(started(failed, 2, 'w', 200), { message: undefined, data: { n: 1 } }, 260, 60);
    assert.deepEqual(
      [r.state, r.message, r.data, r.error, r.signal, r.finishedAt, r.durationMs],
      ['completed', 'completed', { n: 1 }, undefined, undefined, 260, 60],
    );
  });

  test('retrying: failed, with the error and when the next attempt is due', () => {
    const r = retrying(started(queued(), 1, 'w', 0), 'timeout', 30, 30, 200);
    assert.deepEqual([r.state, r.error, r.nextAttemptAt, r.durationMs], ['failed', 'timeout', 230, 30]);
  });

  test('dead-lettered keeps the payload for a retry by request, and the last duration', () => {
    const running = { ...started(queued(), 3, 'w', 0), durationMs: 12 };
    const r = deadLettered(running, 'no luck', 50);
    assert.deepEqual([r.state, r.error, r.finishedAt, r.durationMs], ['dead_lettered', 'no luck', 50, 12]);
    assert.ok(r.signal);
    assert.equal(deadLettered(running, 'no luck', 50, 7).durationMs, 7);
  });

  test('retried by request: a new epoch, fresh attempts, the signal of that epoch', () => {
    const dead = deadLettered(started(queued(), 3, 'w', 0), 'no luck', 50);
    const { record, signal } = retried(dead, dead.signal ?? testSignal());
    assert.deepEqual(
      [record.state, record.epoch, record.attempts, record.deferrals, record.finishedAt, signal.epoch],
      ['queued', 1, 0, 0, undefined, 1],
    );
    assert.equal(record.signal, signal);
    assert.equal(dead.epoch, 0);
  });
});
