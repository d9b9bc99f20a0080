import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { levelerOrder } from '../../src/heijunka/leveler.ts';
import { WorkerPool } from '../../src/heijunka/worker-pool.ts';
import { MemoryQueue } from '../../src/kanban/memory.ts';
import type { Delivery } from '../../src/kanban/queue.ts';
import type { WorkSignal } from '../../src/signal.ts';
import { Supervisor } from '../../src/supervision.ts';
import { deferred, testSignal, waitUntil } from '../helpers.ts';

function signal(id: string): WorkSignal {
  return testSignal({ id, acceptedAt: 0 });
}

/** A queue whose first `failures` pulls throw, as a broken connection would. */
class FlakyQueue extends MemoryQueue {
  failures: number;
  constructor(failures: number) {
    super({ order: levelerOrder(), capacity: 1000 });
    this.failures = failures;
  }
  override pull(max: number, abort: AbortSignal): Promise<Delivery[]> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error('connection lost'));
    }
    return super.pull(max, abort);
  }
}

describe('worker pool', () => {
  test('workers hold no more signals than their cards', async () => {
    const queue = new MemoryQueue({ order: levelerOrder(), capacity: 100 });
    const supervisor = new Supervisor(systemClock);
    const release = deferred();
    let running = 0;
    let peak = 0;
    const pool = new WorkerPool(
      queue,
      async (d) => {
        running++;
        peak = Math.max(peak, running);
        await release.promise;
        running--;
        await queue.ack(d);
      },
      supervisor,
      systemClock,
      { workers: 2, cards: 3 },
    );
    pool.start();
    for (let i = 0; i < 20; i++) await queue.publish(signal(`s${i}`));
    await waitUntil(() => pool.inFlight() === 6, 'six cards in use');
    assert.equal(queue.depth(), 14, 'the rest waits in the Kanban');
    assert.equal(pool.snapshot().cards_in_use, 6);
    assert.equal(pool.snapshot().pool_utilization, 1);
    release.resolve();
    await waitUntil(() => queue.depth() === 0 && pool.inFlight() === 0, 'all processed');
    assert.equal(peak, 6);
    const snap = pool.snapshot();
    assert.equal(
      snap.workers.reduce((sum, w) => sum + w.processed, 0),
      20,
    );
    assert.ok(snap.balance_coefficient > 0 && snap.balance_coefficient <= 1);
    await pool.stopPulling();
  });

  test('a crashed pull loop is restarted and keeps processing', async () => {
    const queue = new FlakyQueue(1);
    const supervisor = new Supervisor(systemClock, { initialBackoffMs: 5 });
    const crashes: string[] = [];
    supervisor.onEvent((e) => {
      if (e.kind === 'crashed') crashes.push(e.component);
    });
    const done: string[] = [];
    const pool = new WorkerPool(
      queue,
      async (d) => {
        done.push(d.signal.id);
      },
      supervisor,
      systemClock,
      { workers: 1, cards: 1 },
    );
    pool.start();
    await waitUntil(() => supervisor.health()[0]?.restarts === 1, 'a restart');
    assert.deepEqual(crashes, ['worker-1']);
    assert.equal(supervisor.health()[0]?.lastError, 'connection lost');
    await queue.publish(signal('after-crash'));
    await waitUntil(() => done.length === 1, 'processing after the restart');
    assert.equal(pool.running(), 1);
    await pool.stopPulling();
    assert.equal(pool.running(), 0);
  });

  test('stopping the pull loops leaves held signals running to the end', async () => {
    const queue = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    const supervisor = new Supervisor(systemClock);
    const release = deferred();
    let finished = 0;
    const pool = new WorkerPool(
      queue,
      async () => {
        await release.promise;
        finished++;
      },
      supervisor,
      systemClock,
      { workers: 1, cards: 2 },
    );
    pool.start();
    await queue.publish(signal('a'));
    await queue.publish(signal('b'));
    await queue.publish(signal('c'));
    await waitUntil(() => pool.inFlight() === 2, 'two held');
    await pool.stopPulling();
    release.resolve();
    await waitUntil(() => pool.inFlight() === 0, 'held ones finished');
    assert.equal(finished, 2);
    assert.equal(queue.depth(), 1, 'nothing more was pulled');
  });
});

describe('supervisor', () => {
  test('restarts a crashing component with growing backoff and stops it on request', async () => {
    const supervisor = new Supervisor(systemClock, { initialBackoffMs: 2, maxBackoffMs: 16 });
    const backoffs: number[] = [];
    supervisor.onEvent((e) => {
      if (e.kind === 'crashed' && e.backoffMs !== undefined) backoffs.push(e.backoffMs);
    });
    let runs = 0;
    supervisor.supervise('flaky', async () => {
      runs++;
      throw new Error(`crash ${runs}`);
    });
    await waitUntil(() => runs >= 6, 'six runs');
    await supervisor.stop('flaky');
    assert.deepEqual(backoffs.slice(0, 5), [2, 4, 8, 16, 16]);
    const [child] = supervisor.health();
    assert.equal(child?.state, 'stopped');
    assert.ok((child?.restarts ?? 0) >= 5);
  });

  test('a component that returns before it is asked to stop counts as crashed', async () => {
    const supervisor = new Supervisor(systemClock, { initialBackoffMs: 1 });
    let runs = 0;
    supervisor.supervise('quitter', async () => {
      runs++;
    });
    await waitUntil(() => runs >= 2, 'a restart');
    await supervisor.stop();
    assert.match(supervisor.health()[0]?.lastError ?? '', /returned before it was asked to stop/);
  });

  test('a component that works until aborted is stopped cleanly', async () => {
    const supervisor = new Supervisor(systemClock);
    supervisor.supervise(
      'steady',
      (abort) => new Promise((resolve) => abort.addEventListener('abort', () => resolve())),
    );
    assert.equal(supervisor.health()[0]?.state, 'running');
    await supervisor.stop();
    assert.deepEqual(
      supervisor.health().map((c) => [c.state, c.restarts]),
      [['stopped', 0]],
    );
  });
});
