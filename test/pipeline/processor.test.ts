import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/clock.ts';
import { CircuitOpenError, KanbanFullError, PermanentError } from '../../src/errors.ts';
import type { SignalHandler } from '../../src/handlers/registry.ts';
import { deferred, memoryStore, startSystem, statusOf, waitUntil } from '../helpers.ts';

const ok: SignalHandler = () => 'done';

describe('processing one signal', () => {
  test('a signal goes queued → processing → completed with its result', async (t) => {
    const gate = deferred();
    const store = memoryStore();
    const system = await startSystem(
      t,
      {},
      {
        store,
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
    const { signal } = await system.submit({ type: 'work', payload: { n: 7 } });
    const id = signal.signal_id;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(signal.trace_id, /^[0-9a-f]{32}$/);
    assert.equal(signal.status, 'queued');
    await waitUntil(async () => (await statusOf(system, id)) === 'processing', 'processing');
    const running = await system.status(id);
    assert.equal(running.attempts, 1);
    assert.match(running.worker_id ?? '', /^worker-\d$/);
    gate.resolve();
    const done = await system.waitFor(id, 5_000);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.message, 'did 7');
    assert.deepEqual(done?.result, { attempt: 1, worker: running.worker_id });
    assert.ok((done?.duration_ms ?? -1) >= 0);
    assert.ok(Date.parse(done?.finished_at ?? '') >= Date.parse(done?.started_at ?? ''));
    assert.equal((await store.get(id))?.signal, undefined, 'the payload is released once completed');
    const m = system.metrics();
    assert.equal(m.total_processed, 1);
    assert.equal(m.success_count, 1);
    assert.equal(m.accepted_total, 1);
  });

  test('what submit and status return is a snapshot: later changes do not reach it', async (t) => {
    const gate = deferred();
    const system = await startSystem(t, {}, { handlers: { work: () => gate.promise.then(() => 'ok') } });
    const { signal } = await system.submit({ type: 'work' });
    await waitUntil(async () => (await statusOf(system, signal.signal_id)) === 'processing', 'processing');
    const seen = await system.status(signal.signal_id);
    gate.resolve();
    await system.waitFor(signal.signal_id, 5_000);
    assert.equal(signal.status, 'queued');
    assert.equal(seen.status, 'processing');
    assert.equal((await system.status(signal.signal_id)).status, 'completed');
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
    const { signal } = await system.submit({ type: 'flaky' });
    const done = await system.waitFor(signal.signal_id, 5_000);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.attempts, 3);
    assert.equal(system.metrics().retries_total, 2);
    assert.equal(system.metrics().error_count, 0);
  });

  test('a signal that keeps failing is dead-lettered after the last attempt', async (t) => {
    let calls = 0;
    const store = memoryStore();
    const system = await startSystem(
      t,
      { retryBaseMs: 1, retryMaxMs: 2, maxAttempts: 3, cbThreshold: 100 },
      {
        store,
        handlers: {
          broken: () => {
            calls++;
            throw new Error('always broken');
          },
        },
      },
    );
    const { signal } = await system.submit({ type: 'broken' });
    const done = await system.waitFor(signal.signal_id, 5_000);
    assert.equal(done?.status, 'dead_lettered');
    assert.equal(done?.attempts, 3);
    assert.equal(done?.error, 'always broken');
    assert.equal(calls, 3);
    assert.equal(system.health().dlq_depth, 1);
    assert.equal(system.metrics().error_count, 1);
    assert.ok((await store.get(signal.signal_id))?.signal, 'the payload is kept so it can be retried');
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
    const { signal } = await system.submit({ type: 'hopeless' });
    const done = await system.waitFor(signal.signal_id, 5_000);
    assert.equal(done?.status, 'dead_lettered');
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
    const { signal } = await system.submit({ type: 'slow', timeoutMs: 20 });
    const done = await system.waitFor(signal.signal_id, 5_000);
    assert.equal(done?.status, 'dead_lettered');
    assert.match(done?.error ?? '', /did not finish within 20 ms/);
    assert.equal(sawAbort, true);
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
      const { signal } = await system.submit({ type: 'bad' });
      await system.waitFor(signal.signal_id, 5_000);
    }
    await assert.rejects(
      system.submit({ type: 'bad' }),
      (e: unknown) => e instanceof CircuitOpenError && e.signalType === 'bad' && e.retryAfterMs > 0,
    );
    const { signal } = await system.submit({ type: 'ok' });
    assert.equal((await system.waitFor(signal.signal_id, 5_000))?.status, 'completed');
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
      { cbThreshold: 1, cbTimeoutSecs: 30, maxAttempts: 1, kanbanBuffer: 1, numWorkers: 1, workerCards: 1 },
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
    await system.waitFor(first.signal.signal_id, 5_000);
    clock.advance(30_000);
    assert.equal(system.jidokaReport().circuits.bad?.state, 'HalfOpen');
    await system.submit({ type: 'held' });
    await waitUntil(() => system.health().in_flight === 1, 'the worker to hold one');
    await system.submit({ type: 'held' });
    await assert.rejects(system.submit({ type: 'bad' }), KanbanFullError);
    gate.resolve();
    await waitUntil(() => system.health().queue_depth === 0 && system.health().in_flight === 0, 'room again');
    const probe = await system.submit({ type: 'bad' });
    assert.equal(probe.signal.status, 'queued');
  });

  test('a producer that never yields to the event loop still feeds the workers', async (t) => {
    let runs = 0;
    const system = await startSystem(
      t,
      { kanbanBuffer: 100, numWorkers: 1, heijunkaPoolMax: 1, workerCards: 8 },
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

  test('critical signals jump the queue', async (t) => {
    const gate = deferred();
    const order: string[] = [];
    const system = await startSystem(
      t,
      { numWorkers: 1, workerCards: 1 },
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
    await waitUntil(() => system.health().in_flight === 1, 'the blocker to run');
    await system.submit({ type: 'step', priority: 4, payload: { name: 'low' } });
    await system.submit({ type: 'step', priority: 3, payload: { name: 'normal' } });
    await system.submit({ type: 'step', priority: 1, payload: { name: 'critical' } });
    gate.resolve();
    await waitUntil(() => order.length === 4, 'all four');
    assert.deepEqual(order, ['blocker', 'critical', 'normal', 'low']);
  });
});
