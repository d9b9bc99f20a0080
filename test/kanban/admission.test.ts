import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KanbanFullError, SignalShedError } from '../../src/errors.ts';
import { shedDepths, shedFillPct } from '../../src/kanban/admission.ts';
import type { Priority } from '../../src/signal.ts';
import { deferred, startApp, startSystem, waitUntil } from '../helpers.ts';

describe('admission control: shedding by priority', () => {
  test('low priority is shed first, critical only when full', () => {
    assert.deepEqual(shedDepths(1000, 80), [1000, 934, 867, 800]);
    assert.deepEqual(shedDepths(10, 40), [10, 8, 6, 4]);
    assert.deepEqual(shedDepths(1000, 100), [1000, 1000, 1000, 1000], '100 % sheds nothing before full');
    assert.deepEqual(
      ([1, 2, 3, 4] as Priority[]).map((p) => shedFillPct(p, 70)),
      [100, 90, 80, 70],
    );
  });

  test('a filling queue refuses priority 4, then 3, then 2, and priority 1 only when full', async (t) => {
    const gate = deferred();
    const system = await startSystem(
      t,
      { kanbanBuffer: 10, kanbanHighWaterPct: 40, numWorkers: 1, workerCards: 1 },
      { handlers: { held: () => gate.promise.then(() => 'ok') } },
    );
    // One in the worker's hands; the rest wait in the queue.
    await system.submit({ type: 'held', priority: 1 });
    await waitUntil(() => system.health().in_flight === 1, 'the worker to hold one');
    const refusedAt: Record<number, number> = {};
    for (let n = 0; n < 20; n++) {
      for (const priority of [4, 3, 2, 1] as Priority[]) {
        if (refusedAt[priority] !== undefined) continue;
        const depth = system.health().queue_depth;
        try {
          await system.submit({ type: 'held', priority });
          break; // one signal more per round, at the lowest priority still accepted
        } catch (error) {
          refusedAt[priority] = depth;
          if (priority === 1) assert.ok(error instanceof KanbanFullError);
          else {
            assert.ok(error instanceof SignalShedError);
            assert.match(error.message, new RegExp(`priority ${priority} \\(`));
          }
        }
      }
    }
    assert.deepEqual(refusedAt, { 4: 4, 3: 6, 2: 8, 1: 10 });
    const rejected = system.metrics().rejected_total;
    assert.equal(rejected.shed, 3);
    assert.equal(rejected.queue_full, 1);
    gate.resolve();
  });

  test('over HTTP a shed signal gets 429 with Retry-After and says why', async (t) => {
    const gate = deferred();
    const { system, app } = await startApp(
      t,
      { kanbanBuffer: 4, kanbanHighWaterPct: 50, numWorkers: 1, workerCards: 1 },
      { handlers: { held: () => gate.promise.then(() => 'ok') } },
    );
    const post = (priority: number) =>
      app.inject({ method: 'POST', url: '/signal', payload: { signal_type: 'held', priority } });
    assert.equal((await post(4)).statusCode, 202);
    await waitUntil(() => system.health().in_flight === 1, 'the worker to hold one');
    assert.equal((await post(4)).statusCode, 202);
    assert.equal((await post(4)).statusCode, 202);
    const shed = await post(4);
    assert.equal(shed.statusCode, 429);
    assert.equal(shed.headers['retry-after'], '1');
    const body = shed.json();
    assert.equal(body.error, 'shed');
    assert.equal(body.priority, 4);
    assert.equal(body.queue_fill_pct, 50);
    assert.equal(body.shed_from_pct, 50);
    assert.equal((await post(1)).statusCode, 202, 'critical work still gets in');
    gate.resolve();
  });
});
