import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/clock.ts';
import { newTraceId, newUuid } from '../../src/ids.ts';
import { newRecord, type SignalRecord, type SignalState } from '../../src/signal.ts';
import { RecordArchive } from '../../src/status/archive.ts';
import { MemoryStatusStore } from '../../src/status/memory.ts';
import { testSignal } from '../helpers.ts';

function finished(state: SignalState = 'completed', overrides: Partial<SignalRecord> = {}): SignalRecord {
  const signal = testSignal({ traceId: newTraceId(), priority: 2, type: 'report' });
  const r = newRecord(signal, 3);
  Object.assign(r, {
    state,
    attempts: 2,
    deferrals: 1,
    startedAt: signal.acceptedAt + 1.25,
    finishedAt: signal.acceptedAt + 7.5,
    durationMs: 6.25,
    workerId: 'worker-3',
    message: 'Report generated',
    data: { fields: 3 },
    signal: state === 'completed' ? undefined : signal,
    error: state === 'completed' ? undefined : 'boom',
    ...overrides,
  });
  return r;
}

/** Random adds, removals, evictions and reads, checked against a Map at every step. */
function matchesMap(archive: RecordArchive): void {
  const model = new Map<string, SignalRecord>();
  // Deterministic pseudo-random sequence of operations.
  let seed = 42;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const ids: string[] = [];
  for (let step = 0; step < 20_000; step++) {
    const p = rand();
    if (p < 0.6 || model.size === 0) {
      const r = finished(rand() < 0.9 ? 'completed' : 'dead_lettered', {
        idempotencyKey: rand() < 0.1 ? `k${step}` : undefined,
      });
      assert.equal(archive.add(r), true);
      model.set(r.id, r);
      ids.push(r.id);
    } else if (p < 0.75) {
      const id = ids[Math.floor(rand() * ids.length)] as string;
      const slot = archive.find(id);
      assert.equal(slot >= 0, model.has(id));
      if (slot >= 0) {
        assert.equal(archive.remove(slot), model.get(id)?.idempotencyKey);
        model.delete(id);
      }
    } else if (p < 0.9) {
      const oldest = model.keys().next().value as string;
      const key = model.get(oldest)?.idempotencyKey;
      const evicted = archive.evictOldest();
      assert.deepEqual(evicted, key === undefined ? undefined : { id: oldest, idempotencyKey: key });
      model.delete(oldest);
      assert.equal(archive.has(oldest), false);
    } else {
      const id = ids[Math.floor(rand() * ids.length)] as string;
      assert.deepEqual(archive.get(id), model.get(id));
    }
    assert.equal(archive.size, model.size);
  }
  for (const [id, r] of model) assert.deepEqual(archive.get(id), r);
  const first = model.values().next().value as SignalRecord;
  assert.equal(archive.oldestFinishedAt(), first.finishedAt);
}

describe('record archive', () => {
  test('a packed record reads back equal, as a new object', () => {
    const archive = new RecordArchive(16);
    for (const r of [
      finished('completed'),
      finished('dead_lettered', { idempotencyKey: 'key-1', epoch: 4 }),
      finished('completed', { workerId: undefined, startedAt: undefined, durationMs: undefined }),
    ]) {
      assert.equal(archive.add(r), true);
      const back = archive.get(r.id);
      assert.deepEqual(back, r);
      assert.notEqual(back, r);
    }
    assert.equal(archive.size, 3);
  });

  test('refuses what it cannot pack: unfinished, ids in another form', () => {
    const archive = new RecordArchive(16);
    assert.equal(archive.add(finished('completed', { state: 'processing' })), false);
    assert.equal(archive.add(finished('completed', { state: 'failed' })), false);
    assert.equal(archive.add(finished('completed', { id: 'done-1' })), false);
    assert.equal(archive.add(finished('completed', { id: newUuid().toUpperCase() })), false);
    assert.equal(archive.add(finished('completed', { traceId: 'x'.repeat(32) })), false);
    assert.equal(archive.add(finished('completed', { attempts: 1.5 })), false);
    assert.equal(archive.add(finished('completed', { finishedAt: undefined })), false);
    assert.equal(archive.size, 0);
    assert.equal(archive.get('done-1'), undefined);
  });

  test('refuses counts past 65,535 (those stay objects); up to it they read back', () => {
    const archive = new RecordArchive(16);
    for (const field of ['epoch', 'attempts', 'maxAttempts', 'deferrals'] as const) {
      assert.equal(archive.add(finished('completed', { [field]: 65_536 })), false, field);
      const r = finished('completed', { [field]: 65_535 });
      assert.equal(archive.add(r), true, field);
      assert.deepEqual(archive.get(r.id), r);
    }
  });

  test('a finished record scheduled again keeps its next attempt time', () => {
    const archive = new RecordArchive(16);
    const r = finished('dead_lettered', { nextAttemptAt: 1_700_000_000_123.5 });
    assert.equal(archive.add(r), true);
    assert.deepEqual(archive.get(r.id), r);
  });

  test('grows up to its maximum capacity, not past it, while the records fit', () => {
    const archive = new RecordArchive(16, 1_000);
    const held: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const r = finished();
      assert.equal(archive.add(r), true);
      held.push(r.id);
      // The owner keeps at most 990, like a status store over its maxEntries.
      if (archive.size > 990) {
        archive.evictOldest();
        held.shift();
      }
      // A hole now and then, from the middle.
      if (i % 7 === 0 && held.length > 10) {
        const [gone] = held.splice(5, 1);
        archive.remove(archive.find(gone as string));
      }
    }
    assert.equal(archive.capacity, 1_000);
    assert.equal(archive.size, held.length);
    for (const id of held) assert.ok(archive.has(id));
    // Records alone filling it: it grows past, rather than refuse one.
    for (let i = archive.size; i <= 1_000; i++) assert.equal(archive.add(finished()), true);
    assert.equal(archive.capacity, 2_000);
  });

  for (const maxCapacity of [Number.POSITIVE_INFINITY, 300]) {
    test(`matches a Map through adds, removals, evictions and growth (maximum capacity ${maxCapacity})`, () => {
      matchesMap(new RecordArchive(16, maxCapacity));
    });
  }

  test('replace keeps the record in its place', () => {
    const archive = new RecordArchive(16);
    const a = finished('dead_lettered');
    const b = finished('completed');
    archive.add(a);
    archive.add(b);
    const changed = { ...a, epoch: 1, message: 'again', finishedAt: (a.finishedAt as number) + 100 };
    assert.equal(archive.replace(archive.find(a.id), changed), true);
    assert.deepEqual(archive.get(a.id), changed);
    assert.equal(archive.replace(archive.find(a.id), { ...changed, state: 'queued' }), false);
    assert.deepEqual(archive.get(a.id), changed, 'unchanged when refused');
    archive.evictOldest();
    assert.equal(archive.has(a.id), false);
    assert.deepEqual(archive.get(b.id), b);
  });
});

describe('memory status store with packed records', () => {
  test('a finished record is packed on update and read back as a copy', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 60_000 }, clock);
    const queued = newRecord(testSignal({ traceId: newTraceId(), acceptedAt: clock.wallNow() }), 3);
    await store.create(queued);
    assert.equal(await store.get(queued.id), queued, 'in the pipeline: the record itself');
    const r: SignalRecord = { ...queued, state: 'completed', finishedAt: clock.wallNow(), signal: undefined };
    await store.update(r);
    const copy = await store.get(r.id);
    assert.notEqual(copy, r);
    assert.deepEqual(copy, r);
    assert.equal(store.size(), 1);
    await store.close();
  });

  test('a dead-lettered copy retried by hand is unpacked, then packed again', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 60_000 }, clock);
    const dead = finished('dead_lettered');
    await store.create(dead);
    const copy = (await store.get(dead.id)) as SignalRecord;
    assert.deepEqual(copy, dead);
    const retried: SignalRecord = { ...copy, state: 'queued', epoch: 1 };
    await store.update(retried);
    assert.equal(await store.get(dead.id), retried, 'back in the pipeline: the record itself');
    assert.equal(store.size(), 1);
    const done: SignalRecord = { ...retried, state: 'completed', signal: undefined };
    await store.update(done);
    assert.deepEqual(await store.get(dead.id), done);
    assert.notEqual(await store.get(dead.id), done);
    assert.equal(store.size(), 1);
    await store.close();
  });

  test('evicts the oldest finished first and expires packed records after the TTL', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 60_000 }, clock);
    const active = newRecord(testSignal({ acceptedAt: clock.wallNow() }), 3);
    await store.create(active);
    const done: SignalRecord[] = [];
    for (let i = 0; i < 1500; i++) {
      const r = finished('completed', { finishedAt: clock.wallNow() });
      done.push(r);
      await store.create(r);
    }
    assert.equal(store.size(), 1000);
    assert.equal(await store.get(active.id), active);
    // 1000 = the active one + the newest 999 finished.
    assert.equal(await store.get((done[500] as SignalRecord).id), undefined);
    assert.ok(await store.get((done[501] as SignalRecord).id));
    clock.advance(60_001);
    store.sweep();
    assert.equal(store.size(), 1, 'only the signal in the pipeline is left');
    await store.close();
  });

  test('an idempotency key is held by a packed record until it is forgotten', async () => {
    const clock = new FakeClock();
    const store = new MemoryStatusStore({ maxEntries: 1000, ttlMs: 1_000 }, clock);
    const r = finished('completed', { idempotencyKey: 'k', finishedAt: clock.wallNow() });
    assert.equal(await store.claimIdempotencyKey('k', r.id), undefined);
    await store.create(r);
    assert.equal(await store.claimIdempotencyKey('k', 'other'), r.id);
    clock.advance(1_001);
    store.sweep();
    assert.equal(store.size(), 0);
    assert.equal(await store.claimIdempotencyKey('k', 'third'), undefined, 'released with the record');
    const s = finished('completed', { idempotencyKey: 'j', finishedAt: clock.wallNow() });
    await store.claimIdempotencyKey('j', s.id);
    await store.create(s);
    await store.delete(s.id);
    assert.equal(await store.get(s.id), undefined);
    assert.equal(await store.claimIdempotencyKey('j', 'fourth'), undefined, 'released by delete');
    await store.close();
  });
});
