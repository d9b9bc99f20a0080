import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import {
  KanbanFullError,
  SignalConflictError,
  SignalNotFoundError,
  UnknownSignalTypeError,
} from '../../src/errors.ts';
import type { SignalHandler } from '../../src/handlers/registry.ts';
import { levelerOrder } from '../../src/heijunka/leveler.ts';
import { MemoryQueue } from '../../src/kanban/memory.ts';
import { newRecord } from '../../src/signal.ts';
import { MemoryStatusStore } from '../../src/status/memory.ts';
import { deferred, memoryStore, startSystem, statusOf, testSignal, waitUntil } from '../helpers.ts';

const ok: SignalHandler = () => 'done';

describe('intake', () => {
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

  test('a caller traceparent is continued, under a publish span of its own', async (t) => {
    const store = memoryStore();
    const system = await startSystem(t, {}, { store, handlers: { ok } });
    const { signal } = await system.submit({
      type: 'ok',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    assert.equal(signal.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
    const work = (await store.get(signal.signal_id))?.signal;
    assert.equal(work?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.notEqual(work?.parentSpanId, '00f067aa0ba902b7', 'the publish span is its own');
  });

  test('a full buffer refuses the signal and leaves no trace of it', async (t) => {
    const gate = deferred();
    const store = memoryStore();
    const system = await startSystem(
      t,
      { kanbanBuffer: 2, numWorkers: 1, workerCards: 1 },
      { store, handlers: { held: () => gate.promise.then(() => 'ok') } },
    );
    await system.submit({ type: 'held' });
    await waitUntil(() => system.health().in_flight === 1, 'the worker to hold one');
    await system.submit({ type: 'held' });
    await system.submit({ type: 'held', idempotencyKey: 'k-last' });
    const before = store.size();
    await assert.rejects(system.submit({ type: 'held', idempotencyKey: 'k-full' }), KanbanFullError);
    assert.equal(store.size(), before);
    assert.equal(system.metrics().rejected_total.queue_full, 1);
    gate.resolve();
    await waitUntil(() => system.health().queue_depth === 0, 'room again');
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
    assert.equal(second.signal.signal_id, first.signal.signal_id);
    await system.waitFor(first.signal.signal_id, 5_000);
    assert.equal(calls, 1);
    await assert.rejects(system.submit({ type: 'other', idempotencyKey: 'order-42' }), SignalConflictError);
  });

  test('a replayed key whose signal still waits in the queue is not run twice', async (t) => {
    const gate = deferred();
    const runs = new Map<string, number>();
    const system = await startSystem(
      t,
      { numWorkers: 1, workerCards: 1, heijunkaPoolMax: 1 },
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
    await waitUntil(() => runs.get(first.signal.signal_id) === 1, 'first signal running');
    assert.equal(system.health().queue_depth, 1);
    const replay = await system.submit({ type: 'ok', idempotencyKey: 'order-7' });
    assert.equal(replay.replayed, true);
    assert.equal(replay.signal.signal_id, waiting.signal.signal_id);
    assert.equal(system.health().queue_depth, 1, 'the replay enqueued nothing');
    gate.resolve();
    assert.equal((await system.waitFor(waiting.signal.signal_id, 5_000))?.status, 'completed');
    await waitUntil(
      () => system.health().in_flight === 0 && system.health().queue_depth === 0,
      'all settled',
    );
    assert.equal(runs.get(waiting.signal.signal_id), 1);
  });

  test('a status write that fails while the publish is pending loses nothing', async (t) => {
    const queue = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    const publishing = deferred();
    const publish = queue.publish.bind(queue);
    queue.publish = async (signal) => {
      await publishing.promise;
      return publish(signal);
    };
    const store = memoryStore();
    const create = store.create.bind(store);
    let failed = 0;
    store.create = async () => {
      failed++;
      throw new Error('store unavailable');
    };
    const system = await startSystem(t, {}, { handlers: { ok }, queue, store });
    const accepted = system.submit({ type: 'ok' });
    await waitUntil(() => failed === 1, 'the write to fail');
    // The write's rejection is handled before the publish settles (else the runner reports it).
    await new Promise((resolve) => setImmediate(resolve));
    store.create = create;
    publishing.resolve();
    const { signal } = await accepted;
    // The worker finds no record and rebuilds it from the signal.
    const completed = () =>
      statusOf(system, signal.signal_id).then(
        (s) => s === 'completed',
        () => false,
      );
    await waitUntil(completed, 'the rebuilt record to complete');
  });

  test('a publish that fails after the record was written leaves no record behind', async (t) => {
    const queue = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    queue.publish = async () => {
      throw new Error('broker unavailable');
    };
    const store = memoryStore();
    const system = await startSystem(t, {}, { handlers: { ok }, queue, store });
    await assert.rejects(system.submit({ type: 'ok', idempotencyKey: 'k-lost' }), /broker unavailable/);
    assert.equal(store.size(), 0);
    assert.equal(system.metrics().rejected_total.not_accepting, 1);
    // The key was released: a later request with it is a new signal, not a replay of the lost one.
    queue.publish = MemoryQueue.prototype.publish.bind(queue);
    const again = await system.submit({ type: 'ok', idempotencyKey: 'k-lost' });
    assert.equal(again.replayed, false);
  });

  test('a replayed key whose signal was recorded but never enqueued gets it enqueued', async (t) => {
    const store = memoryStore();
    const system = await startSystem(t, {}, { store, handlers: { ok } });
    // What a process that died between recording a signal and enqueueing it leaves behind.
    const signal = testSignal({ type: 'ok' });
    await store.claimIdempotencyKey('k-orphan', signal.id);
    await store.create(newRecord(signal, 3, 'k-orphan'));
    const replay = await system.submit({ type: 'ok', idempotencyKey: 'k-orphan' });
    assert.equal(replay.replayed, true);
    assert.equal(replay.signal.signal_id, signal.id);
    assert.equal((await system.waitFor(signal.id, 5_000))?.status, 'completed');
  });
});

describe('retry by request', () => {
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
    const { signal } = await system.submit({ type: 'fixable', payload: { keep: 'me' } });
    const id = signal.signal_id;
    assert.equal((await system.waitFor(id, 5_000))?.status, 'dead_lettered');
    fail = false;
    const retried = await system.retry(id);
    assert.equal(retried.status, 'queued');
    assert.equal(retried.attempts, 0);
    assert.equal(system.health().dlq_depth, 0);
    const done = await system.waitFor(id, 5_000);
    assert.equal(done?.status, 'completed');
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
    const { signal } = await system.submit({ type: 'once' });
    const id = signal.signal_id;
    await waitUntil(async () => (await statusOf(system, id)) === 'failed', 'the first attempt to fail');
    assert.ok((await system.status(id)).next_attempt_at !== undefined);
    await system.retry(id);
    assert.equal((await system.waitFor(id, 5_000))?.status, 'completed');
    await waitUntil(() => system.health().queue_depth === 0, 'the superseded retry to come due', 2_000);
    await waitUntil(() => system.health().in_flight === 0, 'nothing in flight');
    assert.equal(calls, 2, 'the superseded scheduled retry did not run');
  });

  test('only failed or dead-lettered signals can be retried', async (t) => {
    const system = await startSystem(t, {}, { handlers: { ok } });
    const { signal } = await system.submit({ type: 'ok' });
    await system.waitFor(signal.signal_id, 5_000);
    await assert.rejects(system.retry(signal.signal_id), SignalConflictError);
    await assert.rejects(system.retry('nope'), SignalNotFoundError);
  });
});

describe('idempotency keys whose signal is gone', () => {
  /** Keys kept as a shared store keeps them: a key names its signal until it is released. */
  class KeyedStore extends MemoryStatusStore {
    readonly keys = new Map<string, string>();
    override async claimIdempotencyKey(key: string, id: string): Promise<string | undefined> {
      const holder = this.keys.get(key);
      if (holder !== undefined) return holder;
      this.keys.set(key, id);
      return undefined;
    }
    override async releaseIdempotencyKey(key: string): Promise<void> {
      this.keys.delete(key);
    }
  }

  test('a key still naming a forgotten signal is taken over; a replay then returns the new one', async (t) => {
    const store = new KeyedStore({ maxEntries: 1000, ttlMs: 3_600_000 }, systemClock);
    store.keys.set('k-stale', 'a-signal-long-forgotten');
    const system = await startSystem(t, {}, { store, handlers: { ok } });
    const first = await system.submit({ type: 'ok', idempotencyKey: 'k-stale' });
    assert.equal(first.replayed, false);
    assert.equal(store.keys.get('k-stale'), first.signal.signal_id, 'the key now names the new signal');
    const again = await system.submit({ type: 'ok', idempotencyKey: 'k-stale' });
    assert.equal(again.replayed, true);
    assert.equal(again.signal.signal_id, first.signal.signal_id);
  });
});
