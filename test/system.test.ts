import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { systemClock } from '../src/clock.ts';
import { NotAcceptingError } from '../src/errors.ts';
import { MemoryStatusStore } from '../src/status/memory.ts';
import { createTpsSystem } from '../src/system.ts';
import { startSystem, testConfig } from './helpers.ts';

describe('the system as a library', () => {
  test('TPS_NUM_WORKERS is the number of workers it runs', async (t) => {
    const system = await startSystem(t, { numWorkers: 2 });
    assert.equal(system.heijunka().pool_size, 2);
    assert.equal(system.health().active_workers, 2);
  });

  test('waitFor gives up after its timeout', async (t) => {
    const system = await startSystem(t, {}, { handlers: { never: () => new Promise(() => {}) } });
    const { signal } = await system.submit({ type: 'never' });
    assert.equal(await system.waitFor(signal.signal_id, 20), undefined);
  });

  test('a library system runs no collection of its host process unless asked to', async (t) => {
    const system = await startSystem(t, { idleCompactSecs: 1 });
    assert.equal(system.compaction().enabled, false);
  });
});

describe('shutdown', () => {
  test('stop drains queued and in-flight signals, then refuses new ones', async (t) => {
    let done = 0;
    const system = await startSystem(
      t,
      { numWorkers: 1, workerCards: 2 },
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

  test('stop called twice returns the same promise, and stops once', async (t) => {
    const system = await startSystem(t, {}, { handlers: { ok: () => 'ok' } });
    const first = system.stop(1_000);
    const second = system.stop(1_000);
    assert.equal(first, second);
    assert.deepEqual(await first, { drained: true, remaining: 0 });
    assert.equal(system.stop(), first, 'a call after it finished too');
  });

  test('a drain that runs out of time reports what was left', async (t) => {
    const system = await startSystem(
      t,
      { numWorkers: 1, workerCards: 1 },
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

describe('a start that fails', () => {
  test('rejects, and stop() then undoes what it did and resolves', async () => {
    class Unavailable extends MemoryStatusStore {
      async start(): Promise<void> {
        throw new Error('store unavailable');
      }
    }
    const store = new Unavailable({ maxEntries: 1000, ttlMs: 60_000 }, systemClock);
    const system = createTpsSystem(testConfig(), { store });
    system.registerHandler('ok', () => 'ok');
    await assert.rejects(system.start(), /store unavailable/);
    assert.deepEqual(await system.stop(), { drained: true, remaining: 0 });
    assert.equal(system.state, 'stopped');
    await assert.rejects(system.submit({ type: 'ok' }), NotAcceptingError);
  });
});
