import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/clock.ts';
import { newTraceId, newUuid } from '../../src/ids.ts';
import { newRecord, type SignalState } from '../../src/signal.ts';
import { MemoryStatusStore } from '../../src/status/memory.ts';
import { testSignal } from '../helpers.ts';

/**
 * The store packs finished records whose ids are UUIDs (every id the service makes) and keeps
 * others as objects: each test runs with both kinds of id.
 */
for (const ids of ['UUID', 'other'] as const) {
  const uuids = new Map<string, string>();
  const idOf = (name: string): string => {
    if (ids === 'other') return name;
    let id = uuids.get(name);
    if (id === undefined) {
      id = newUuid();
      uuids.set(name, id);
    }
    return id;
  };
  const record = (clock: FakeClock, name: string, state: SignalState = 'queued', key?: string) => {
    const signal = testSignal({ id: idOf(name), traceId: newTraceId(), acceptedAt: clock.wallNow() });
    const finished = state === 'completed' || state === 'dead_lettered';
    return { ...newRecord(signal, 3, key), state, finishedAt: finished ? clock.wallNow() : undefined };
  };

  describe(`memory status store (${ids} ids)`, () => {
    test('stays bounded by forgetting the oldest finished records', async () => {
      const clock = new FakeClock();
      const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 3_600_000 }, clock);
      await store.create(record(clock, 'active-old', 'queued'));
      for (let i = 0; i < 5000; i++) await store.create(record(clock, `done-${i}`, 'completed'));
      assert.equal(store.size(), 1000);
      assert.ok(await store.get(idOf('active-old')), 'a signal still in the pipeline is never forgotten');
      assert.equal(await store.get(idOf('done-0')), undefined);
      assert.ok(await store.get(idOf('done-4999')));
      await store.close();
    });

    test('forgets finished records after the TTL, keeps active and fresh ones', async () => {
      const clock = new FakeClock();
      const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 60_000 }, clock);
      await store.create(record(clock, 'old-done', 'dead_lettered'));
      await store.create(record(clock, 'old-active', 'processing'));
      clock.advance(30_000);
      await store.create(record(clock, 'newer-done', 'completed'));
      clock.advance(30_001);
      store.sweep();
      assert.equal(await store.get(idOf('old-done')), undefined);
      assert.ok(await store.get(idOf('old-active')));
      assert.ok(await store.get(idOf('newer-done')));
      clock.advance(30_000);
      store.sweep();
      assert.equal(await store.get(idOf('newer-done')), undefined);
      await store.close();
    });

    test('an idempotency key is claimed once, released, and forgotten with its record', async () => {
      const clock = new FakeClock();
      const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 1_000 }, clock);
      assert.equal(await store.claimIdempotencyKey('k', idOf('id-1')), undefined);
      await store.create(record(clock, 'id-1', 'completed', 'k'));
      assert.equal(await store.claimIdempotencyKey('k', idOf('id-2')), idOf('id-1'));
      clock.advance(1_001);
      store.sweep();
      assert.equal(
        await store.claimIdempotencyKey('k', idOf('id-3')),
        undefined,
        'free again once the record is gone',
      );
      await store.releaseIdempotencyKey('k');
      assert.equal(await store.claimIdempotencyKey('k', idOf('id-4')), undefined);
      await store.close();
    });

    test('a record forgotten to keep the bound takes its idempotency key along', async () => {
      const clock = new FakeClock();
      const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 3_600_000 }, clock);
      assert.equal(await store.claimIdempotencyKey('k', idOf('first')), undefined);
      await store.create(record(clock, 'first', 'completed', 'k'));
      for (let i = 0; i < 1000; i++) await store.create(record(clock, `done-${i}`, 'completed'));
      assert.equal(await store.get(idOf('first')), undefined);
      assert.equal(await store.claimIdempotencyKey('k', idOf('second')), undefined, 'the key is free again');
      await store.close();
    });

    test('a finished record moved back into the pipeline (a retry) is kept whatever its age', async () => {
      const clock = new FakeClock();
      const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 1_000 }, clock);
      const done = record(clock, 'r', 'dead_lettered', 'k');
      await store.claimIdempotencyKey('k', idOf('r'));
      await store.create(done);
      await store.update({ ...done, state: 'queued', finishedAt: undefined });
      clock.advance(5_000);
      store.sweep();
      assert.equal((await store.get(idOf('r')))?.state, 'queued');
      assert.equal(await store.claimIdempotencyKey('k', idOf('other')), idOf('r'), 'its key still names it');
      await store.close();
    });

    test('delete forgets a record', async () => {
      const clock = new FakeClock();
      const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 1_000 }, clock);
      await store.create(record(clock, 'x'));
      await store.delete(idOf('x'));
      assert.equal(await store.get(idOf('x')), undefined);
      assert.equal(store.size(), 0);
      await store.close();
    });
  });
}
