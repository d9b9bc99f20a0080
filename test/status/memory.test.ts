import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/clock.ts';
import { newRecord, type SignalState } from '../../src/signal.ts';
import { MemoryStatusStore } from '../../src/status/memory.ts';
import { testSignal } from '../helpers.ts';

function record(clock: FakeClock, id: string, state: SignalState = 'queued', key?: string) {
  const signal = testSignal({ id, acceptedAt: clock.wallNow() });
  const finished = state === 'completed' || state === 'dead_lettered';
  return { ...newRecord(signal, 3, key), state, finishedAt: finished ? clock.wallNow() : undefined };
}

describe('memory status store', () => {
  test('stays bounded by forgetting the oldest finished records', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 3_600_000 }, clock);
    await store.create(record(clock, 'active-old', 'queued'));
    for (let i = 0; i < 5000; i++) await store.create(record(clock, `done-${i}`, 'completed'));
    assert.equal(store.size(), 1000);
    assert.ok(await store.get('active-old'), 'a signal still in the pipeline is never forgotten');
    assert.equal(await store.get('done-0'), undefined);
    assert.ok(await store.get('done-4999'));
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
    assert.equal(await store.get('old-done'), undefined);
    assert.ok(await store.get('old-active'));
    assert.ok(await store.get('newer-done'));
    clock.advance(30_000);
    store.sweep();
    assert.equal(await store.get('newer-done'), undefined);
    await store.close();
  });

  test('an idempotency key is claimed once, released, and forgotten with its record', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 1_000 }, clock);
    assert.equal(await store.claimIdempotencyKey('k', 'id-1'), undefined);
    await store.create(record(clock, 'id-1', 'completed', 'k'));
    assert.equal(await store.claimIdempotencyKey('k', 'id-2'), 'id-1');
    clock.advance(1_001);
    store.sweep();
    assert.equal(
      await store.claimIdempotencyKey('k', 'id-3'),
      undefined,
      'free again once the record is gone',
    );
    await store.releaseIdempotencyKey('k');
    assert.equal(await store.claimIdempotencyKey('k', 'id-4'), undefined);
    await store.close();
  });

  test('a record forgotten to keep the bound takes its idempotency key along', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 3_600_000 }, clock);
    assert.equal(await store.claimIdempotencyKey('k', 'first'), undefined);
    await store.create(record(clock, 'first', 'completed', 'k'));
    for (let i = 0; i < 1000; i++) await store.create(record(clock, `done-${i}`, 'completed'));
    assert.equal(await store.get('first'), undefined);
    assert.equal(await store.claimIdempotencyKey('k', 'second'), undefined, 'the key is free again');
    await store.close();
  });

  test('a finished record moved back into the pipeline (a retry) is kept whatever its age', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 1_000 }, clock);
    const done = record(clock, 'r', 'dead_lettered', 'k');
    await store.claimIdempotencyKey('k', 'r');
    await store.create(done);
    await store.update({ ...done, state: 'queued', finishedAt: undefined });
    clock.advance(5_000);
    store.sweep();
    assert.equal((await store.get('r'))?.state, 'queued');
    assert.equal(await store.claimIdempotencyKey('k', 'other'), 'r', 'its key still names it');
    await store.close();
  });

  test('delete forgets a record', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 1_000 }, clock);
    await store.create(record(clock, 'x'));
    await store.delete('x');
    assert.equal(await store.get('x'), undefined);
    assert.equal(store.size(), 0);
    await store.close();
  });
});
