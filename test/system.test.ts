import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import {
  CircuitOpenError,
  KanbanFullError,
  NotAcceptingError,
  PermanentError,
  SignalConflictError,
  SignalNotFoundError,
  UnknownSignalTypeError,
} from '../src/errors.ts';
import type { SignalHandler } from '../src/handlers/registry.ts';
import { levelerOrder } from '../src/heijunka/leveler.ts';
import { MemoryQueue } from '../src/kanban/memory.ts';
import { newRecord } from '../src/signal.ts';
import { createTpsSystem } from '../src/system.ts';
import { deferred, startSystem, testConfig, testSignal, waitUntil } from './helpers.ts';

const ok: SignalHandler = () => 'done';

describe('signal pipeline', () => {
  test('a signal goes queued → processing → completed with its result', async (t) => {
    const gate = deferred();
    const system = await startSystem(
      t,
      {},
      {
        handlers: {
          work: async (signal, ctx) => {
            await gate.promise;
            return {
              message: `did ${String(signal.payload.n)}`,
              data: { attempt: ctx.attempt, worker: ctx.workerId },
            };
          },
        },
      },
    );
    const { record } = await system.submit({ type: 'work', payload: { n: 7 } });
    assert.match(record.id, /^[0-9a-f-]{36}$/);
    assert.match(record.traceId, /^[0-9a-f]{32}$/);
    await waitUntil(() => record.state === 'processing', 'processing');
    assert.equal(record.attempts, 1);
    assert.match(record.workerId ?? '', /^worker-\d$/);
    gate.resolve();
    const done = await system.waitFor(record.id, 5_000);
    assert.equal(done?.state, 'completed');
    assert.equal(done?.message, 'did 7');
    assert.deepEqual(done?.data, { attempt: 1, worker: record.workerId });
    assert.ok((done?.durationMs ?? -1) >= 0);
    assert.ok((done?.finishedAt ?? 0) >= (done?.startedAt ?? Infinity));
    assert.equal(done?.signal, undefined, 'the payload is released once completed');
    const m = system.metrics();
    assert.equal(m.total_processed, 1);
    assert.equal(m.success_count, 1);
    assert.equal(m.accepted_total, 1);
  });

  test('a failing attempt is retried with backoff and can still succeed', async (t) => {
    let calls = 0;
    const system = await startSystem(
      t,
      { retryBaseMs: 1, retryMaxMs: 5, maxAttempts: 3 },
      {
        handlers: {
          flaky: () => {
            calls++;
            if (calls < 3) throw new Error(`transient ${calls}`);
            return 'third time lucky';
          },
        },
      },
    );
    const { record } = await system.submit({ type: 'flaky' });
    const done = await system.waitFor(record.id, 5_000);
    assert.equal(done?.state, 'completed');
    assert.equal(done?.attempts, 3);
    assert.equal(system.metrics().retries_total, 2);
    assert.equal(system.metrics().error_count, 0);
  });

  test('a signal that keeps failing is dead-lettered after the last attempt', async (t) => {
    let calls = 0;
    const system = await startSystem(
      t,
      { retryBaseMs: 1, retryMaxMs: 2, maxAttempts: 3, cbThreshold: 100 },
      {
        handlers: {
          broken: () => {
            calls++;
            throw new Error('always broken');
          },
        },
      },
    );
    const { record } = await system.submit({ type: 'broken' });
    const done = await system.waitFor(record.id, 5_000);
    assert.equal(done?.state, 'dead_lettered');
    assert.equal(done?.attempts, 3);
    assert.equal(done?.error, 'always broken');
    assert.equal(calls, 3);
    assert.equal(system.queue.dlqDepth(), 1);
    assert.equal(system.metrics().error_count, 1);
    assert.ok(done?.signal, 'the payload is kept so the signal can be retried');
  });

  test('a PermanentError dead-letters at once', async (t) => {
    let calls = 0;
    const system = await startSystem(
      t,
      {},
      {
        handlers: {
          hopeless: () => {
            calls++;
            throw new PermanentError('cannot ever work');
          },
        },
      },
    );
    const { record } = await system.submit({ type: 'hopeless' });
    const done = await system.waitFor(record.id, 5_000);
    assert.equal(done?.state, 'dead_lettered');
    assert.equal(calls, 1);
  });

  test('a handler past timeout_ms is aborted and the attempt fails', async (t) => {
    let sawAbort = false;
    const system = await startSystem(
      t,
      { maxAttempts: 1 },
      {
        handlers: {
          slow: (_signal, ctx) =>
            new Promise(() => {
              ctx.abortSignal.addEventListener('abort', () => {
                sawAbort = true;
              });
            }),
        },
      },
    );
    const { record } = await system.submit({ type: 'slow', timeoutMs: 20 });
    const done = await system.waitFor(record.id, 5_000);
    assert.equal(done?.state, 'dead_lettered');
    assert.match(done?.error ?? '', /did not finish within 20 ms/);
    assert.equal(sawAbort, true);
  });

  test('a dead-lettered signal retried by request runs again and completes', async (t) => {
    let fail = true;
    const system = await startSystem(
      t,
      { maxAttempts: 1 },
      {
        handlers: {
          fixable: () => {
            if (fail) throw new Error('not yet');
            return 'fixed';
          },
        },
      },
    );
    const { record } = await system.submit({ type: 'fixable', payload: { keep: 'me' } });
    await system.waitFor(record.id, 5_000);
    assert.equal(record.state, 'dead_lettered');
    fail = false;
    const retried = await system.retry(record.id);
    assert.equal(retried.epoch, 1);
    assert.equal(system.queue.dlqDepth(), 0);
    const done = await system.waitFor(record.id, 5_000);
    assert.equal(done?.state, 'completed');
    assert.equal(done?.attempts, 1);
  });

  test('retrying a failed signal runs it now, and the scheduled retry is dropped', async (t) => {
    let calls = 0;
    const system = await startSystem(
      t,
      { retryBaseMs: 300, retryMaxMs: 300, maxAttempts: 2 },
      {
        handlers: {
          once: () => {
            calls++;
            if (calls === 1) throw new Error('first fails');
            return 'ok';
          },
        },
        random: () => 1,
      },
    );
    const { record } = await system.submit({ type: 'once' });
    await waitUntil(() => record.state === 'failed', 'the first attempt to fail');
    assert.ok(record.nextAttemptAt !== undefined);
    await system.retry(record.id);
    await system.waitFor(record.id, 5_000);
    assert.equal(record.state, 'completed');
    await waitUntil(() => system.queue.depth() === 0, 'the superseded retry to come due', 2_000);
    await waitUntil(() => system.pool.inFlight() === 0, 'nothing in flight');
    assert.equal(calls, 2, 'the superseded scheduled retry did not run');
  });

  test('only failed or dead-lettered signals can be retried', async (t) => {
    const system = await startSystem(t, {}, { handlers: { ok } });
    const { record } = await system.submit({ type: 'ok' });
    await system.waitFor(record.id, 5_000);
    await assert.rejects(system.retry(record.id), SignalConflictError);
    await assert.rejects(system.retry('nope'), SignalNotFoundError);
  });

  test('the breaker of a failing type opens and rejects that type only', async (t) => {
    const system = await startSystem(
      t,
      { cbThreshold: 2, maxAttempts: 1 },
      {
        handlers: {
          ok,
          bad: () => {
            throw new Error('bad');
          },
        },
      },
    );
    for (let i = 0; i < 2; i++) {
      const { record } = await system.submit({ type: 'bad' });
      await system.waitFor(record.id, 5_000);
    }
    await assert.rejects(
      system.submit({ type: 'bad' }),
      (e: unknown) => e instanceof CircuitOpenError && e.signalType === 'bad' && e.retryAfterMs > 0,
    );
    const { record } = await system.submit({ type: 'ok' });
    assert.equal((await system.waitFor(record.id, 5_000))?.state, 'completed');
    assert.equal(system.health().circuit_state, 'Open');
    assert.deepEqual(system.health().circuits, { ok: 'Closed', bad: 'Open' });
    assert.equal(system.metrics().rejected_total.circuit_open, 1);
    system.evaluateAndon();
    assert.equal(system.andonBoard().principles.jidoka.level, 'RED');
  });

  test('a signal refused for a full buffer does not use up the half-open probe', async (t) => {
    const clock = new FakeClock();
    const gate = deferred();
    const system = await startSystem(
      t,
      {
        cbThreshold: 1,
        cbTimeoutSecs: 30,
        maxAttempts: 1,
        kanbanBuffer: 1,
        numWorkers: 1,
        heijunkaPool: 1,
        workerCards: 1,
      },
      {
        clock,
        handlers: {
          held: () => gate.promise.then(() => 'ok'),
          bad: () => {
            throw new Error('bad');
          },
        },
      },
    );
    const first = await system.submit({ type: 'bad' });
    await system.waitFor(first.record.id, 5_000);
    clock.advance(30_000);
    assert.equal(system.jidoka.breaker('bad').state, 'HalfOpen');
    await system.submit({ type: 'held' });
    await waitUntil(() => system.pool.inFlight() === 1, 'the worker to hold one');
    await system.submit({ type: 'held' });
    await assert.rejects(system.submit({ type: 'bad' }), KanbanFullError);
    gate.resolve();
    await waitUntil(() => system.queue.depth() === 0 && system.pool.inFlight() === 0, 'room again');
    const probe = await system.submit({ type: 'bad' });
    assert.equal(probe.record.state === 'queued' || probe.record.state === 'processing', true);
  });

  test('a full buffer refuses the signal and leaves no trace of it', async (t) => {
    const gate = deferred();
    const system = await startSystem(
      t,
      { kanbanBuffer: 2, numWorkers: 1, heijunkaPool: 1, workerCards: 1 },
      {
        handlers: { held: () => gate.promise.then(() => 'ok') },
      },
    );
    await system.submit({ type: 'held' });
    await waitUntil(() => system.pool.inFlight() === 1, 'the worker to hold one');
    await system.submit({ type: 'held' });
    await system.submit({ type: 'held', idempotencyKey: 'k-last' });
    const before = system.store.size();
    await assert.rejects(system.submit({ type: 'held', idempotencyKey: 'k-full' }), KanbanFullError);
    assert.equal(system.store.size(), before);
    assert.equal(system.metrics().rejected_total.queue_full, 1);
    gate.resolve();
    await waitUntil(() => system.queue.depth() === 0, 'room again');
    const again = await system.submit({ type: 'held', idempotencyKey: 'k-full' });
    assert.equal(again.replayed, false, 'the refused key was released');
  });

  test('an idempotency key returns the first signal instead of enqueueing twice', async (t) => {
    let calls = 0;
    const system = await startSystem(
      t,
      {},
      {
        handlers: {
          ok: () => {
            calls++;
            return 'ok';
          },
          other: ok,
        },
      },
    );
    const first = await system.submit({ type: 'ok', idempotencyKey: 'order-42' });
    const second = await system.submit({ type: 'ok', idempotencyKey: 'order-42' });
    assert.equal(second.replayed, true);
    assert.equal(second.record.id, first.record.id);
    await system.waitFor(first.record.id, 5_000);
    assert.equal(calls, 1);
    await assert.rejects(system.submit({ type: 'other', idempotencyKey: 'order-42' }), SignalConflictError);
  });

  test('a producer that never yields to the event loop still feeds the workers', async (t) => {
    let runs = 0;
    const system = await startSystem(
      t,
      { kanbanBuffer: 100, numWorkers: 1, heijunkaPool: 1, heijunkaPoolMax: 1, workerCards: 8 },
      {
        handlers: {
          ok: () => {
            runs++;
            return 'ok';
          },
        },
      },
    );
    // Awaited submits only: no timer, no I/O, so the loop never lets the event loop turn. Ten times
    // the buffer goes through: the workers are fed while it runs, none is refused.
    for (let i = 0; i < 1_000; i++) await system.submit({ type: 'ok' });
    await waitUntil(() => system.metrics().total_processed === 1_000, 'all processed');
    assert.equal(runs, 1_000);
  });

  test('a replayed key whose signal still waits in the queue is not run twice', async (t) => {
    const gate = deferred();
    const runs = new Map<string, number>();
    const system = await startSystem(
      t,
      { numWorkers: 1, workerCards: 1, heijunkaPool: 1, heijunkaPoolMax: 1 },
      {
        handlers: {
          ok: async (signal) => {
            runs.set(signal.id, (runs.get(signal.id) ?? 0) + 1);
            await gate.promise;
            return 'ok';
          },
        },
      },
    );
    // The only card is taken by the first signal, so the second waits in the queue.
    const first = await system.submit({ type: 'ok' });
    const waiting = await system.submit({ type: 'ok', idempotencyKey: 'order-7' });
    await waitUntil(() => runs.get(first.record.id) === 1, 'first signal running');
    assert.equal(system.queue.depth(), 1);
    const replay = await system.submit({ type: 'ok', idempotencyKey: 'order-7' });
    assert.equal(replay.replayed, true);
    assert.equal(replay.record.id, waiting.record.id);
    assert.equal(system.queue.depth(), 1, 'the replay enqueued nothing');
    gate.resolve();
    assert.equal((await system.waitFor(waiting.record.id, 5_000))?.state, 'completed');
    await waitUntil(() => system.pool.inFlight() === 0 && system.queue.depth() === 0, 'all settled');
    assert.equal(runs.get(waiting.record.id), 1);
  });

  test('a status write that fails while the publish is pending loses nothing', async (t) => {
    const queue = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    const publishing = deferred();
    const publish = queue.publish.bind(queue);
    queue.publish = async (signal) => {
      await publishing.promise;
      return publish(signal);
    };
    const system = await startSystem(t, {}, { handlers: { ok }, queue });
    const create = system.store.create.bind(system.store);
    let failed = 0;
    system.store.create = async () => {
      failed++;
      throw new Error('store unavailable');
    };
    const accepted = system.submit({ type: 'ok' });
    await waitUntil(() => failed === 1, 'the write to fail');
    // The write's rejection is handled before the publish settles (else the runner reports it).
    await new Promise((resolve) => setImmediate(resolve));
    system.store.create = create;
    publishing.resolve();
    const { record } = await accepted;
    // The worker finds no record and rebuilds it from the signal.
    await waitUntil(
      async () => (await system.store.get(record.id))?.state === 'completed',
      'the signal to complete',
    );
  });

  test('a publish that fails after the record was written leaves no record behind', async (t) => {
    const queue = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    queue.publish = async () => {
      throw new Error('broker unavailable');
    };
    const system = await startSystem(t, {}, { handlers: { ok }, queue });
    await assert.rejects(system.submit({ type: 'ok', idempotencyKey: 'k-lost' }), /broker unavailable/);
    assert.equal(system.store.size(), 0);
    assert.equal(system.metrics().rejected_total.not_accepting, 1);
    // The key was released: a later request with it is a new signal, not a replay of the lost one.
    queue.publish = MemoryQueue.prototype.publish.bind(queue);
    const again = await system.submit({ type: 'ok', idempotencyKey: 'k-lost' });
    assert.equal(again.replayed, false);
  });

  test('a replayed key whose signal was recorded but never enqueued gets it enqueued', async (t) => {
    const system = await startSystem(t, {}, { handlers: { ok } });
    // What a process that died between recording a signal and enqueueing it leaves behind.
    const signal = testSignal({ type: 'ok' });
    await system.store.claimIdempotencyKey('k-orphan', signal.id);
    await system.store.create(newRecord(signal, 3, 'k-orphan'));
    const replay = await system.submit({ type: 'ok', idempotencyKey: 'k-orphan' });
    assert.equal(replay.replayed, true);
    assert.equal(replay.record.id, signal.id);
    assert.equal((await system.waitFor(signal.id, 5_000))?.state, 'completed');
  });

  test('critical signals jump the queue', async (t) => {
    const gate = deferred();
    const order: string[] = [];
    const system = await startSystem(
      t,
      { numWorkers: 1, heijunkaPool: 1, workerCards: 1 },
      {
        handlers: {
          step: async (signal) => {
            if (signal.payload.name === 'blocker') await gate.promise;
            order.push(String(signal.payload.name));
            return 'ok';
          },
        },
      },
    );
    await system.submit({ type: 'step', payload: { name: 'blocker' } });
    await waitUntil(() => system.pool.inFlight() === 1, 'the blocker to run');
    await system.submit({ type: 'step', priority: 4, payload: { name: 'low' } });
    await system.submit({ type: 'step', priority: 3, payload: { name: 'normal' } });
    await system.submit({ type: 'step', priority: 1, payload: { name: 'critical' } });
    gate.resolve();
    await waitUntil(() => order.length === 4, 'all four');
    assert.deepEqual(order, ['blocker', 'critical', 'normal', 'low']);
  });

  test('a caller traceparent is continued', async (t) => {
    const system = await startSystem(t, {}, { handlers: { ok } });
    const { record } = await system.submit({
      type: 'ok',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    assert.equal(record.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(record.signal?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.notEqual(record.signal?.parentSpanId, '00f067aa0ba902b7', 'the publish span is its own');
  });

  test('unknown types and bad fields are refused with what is accepted', async (t) => {
    const system = await startSystem(t, {}, { handlers: { ok, another: ok } });
    await assert.rejects(
      system.submit({ type: 'nope' }),
      (e: unknown) => e instanceof UnknownSignalTypeError && /known types: another, ok/.test(e.message),
    );
    await assert.rejects(
      system.submit({ type: 'ok', priority: 7 as never }),
      /priority must be an integer from 1/,
    );
    await assert.rejects(system.submit({ type: 'ok', timeoutMs: 0 }), /timeout_ms must be an integer from 1/);
  });

  test('waitFor gives up after its timeout', async (t) => {
    const system = await startSystem(t, {}, { handlers: { never: () => new Promise(() => {}) } });
    const { record } = await system.submit({ type: 'never' });
    assert.equal(await system.waitFor(record.id, 20), undefined);
  });
});

describe('shutdown', () => {
  test('stop drains queued and in-flight signals, then refuses new ones', async (t) => {
    let done = 0;
    const system = await startSystem(
      t,
      { numWorkers: 1, heijunkaPool: 1, workerCards: 2 },
      {
        handlers: {
          slowish: async () => {
            await new Promise((r) => setTimeout(r, 10));
            done++;
            return 'ok';
          },
        },
      },
    );
    for (let i = 0; i < 20; i++) await system.submit({ type: 'slowish' });
    const report = await system.stop(10_000);
    assert.deepEqual(report, { drained: true, remaining: 0 });
    assert.equal(done, 20);
    assert.equal(system.state, 'stopped');
    await assert.rejects(system.submit({ type: 'slowish' }), NotAcceptingError);
  });

  test('a drain that runs out of time reports what was left', async (t) => {
    const system = await startSystem(
      t,
      { numWorkers: 1, heijunkaPool: 1, workerCards: 1 },
      {
        handlers: {
          stuck: (_s, ctx) =>
            new Promise((_r, reject) =>
              ctx.abortSignal.addEventListener('abort', () => reject(new Error('aborted'))),
            ),
        },
      },
    );
    for (let i = 0; i < 3; i++) await system.submit({ type: 'stuck' });
    const report = await system.stop(50);
    assert.equal(report.drained, false);
    assert.equal(report.remaining, 3);
  });

  test('a system that never started stops cleanly', async () => {
    const system = createTpsSystem(testConfig());
    assert.deepEqual(await system.stop(), { drained: true, remaining: 0 });
    await assert.rejects(system.submit({ type: 'x' }), NotAcceptingError);
  });
});
