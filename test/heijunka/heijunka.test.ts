import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SignalHandler } from '../../src/handlers/registry.ts';
import type { Priority } from '../../src/signal.ts';
import type { TpsSystem } from '../../src/system.ts';
import { deferred, startApp, startSystem, waitUntil } from '../helpers.ts';

/** No scaling unless a test asks: the pool keeps its size. */
const FIXED = { heijunkaPoolMax: 1 };

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function queueWaits(system: TpsSystem, ids: string[]): Promise<number[]> {
  const waits: number[] = [];
  for (const id of ids) {
    const r = await system.status(id);
    assert.equal(r.status, 'completed', `${id} completed`);
    waits.push(Date.parse(r.started_at ?? '') - Date.parse(r.accepted_at));
  }
  return waits;
}

/** Holds the only card until released, so everything submitted meanwhile waits in the queue. */
function gated() {
  const gate = deferred();
  const order: string[] = [];
  const handlers: Record<string, SignalHandler> = {
    gate: () => gate.promise.then(() => 'opened'),
    a: (s) => {
      order.push(`a${s.priority}`);
    },
    b: (s) => {
      order.push(`b${s.priority}`);
    },
  };
  return { gate, order, handlers };
}

describe('heijunka: levelling', () => {
  test('critical signals are not stuck behind a flood of low-priority work', async (t) => {
    const system = await startSystem(t, { ...FIXED, kanbanBuffer: 20_000 });
    const low: string[] = [];
    const critical: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      // Arrivals come over I/O in a service: let the event loop run between batches, as it would.
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      low.push((await system.submit({ type: 'report', priority: 4 })).signal.signal_id);
      if (i % 100 === 50) {
        critical.push(
          (await system.submit({ type: 'validate', priority: 1, payload: { data: [1] } })).signal.signal_id,
        );
      }
    }
    await waitUntil(
      () => system.health().queue_depth === 0 && system.health().in_flight === 0,
      'the flood processed',
      60_000,
    );
    const criticalWaits = await queueWaits(system, critical);
    const lowWaits = await queueWaits(system, low);
    const p99 = percentile(criticalWaits, 99);
    t.diagnostic(
      `queue wait: critical p99 ${p99.toFixed(1)} ms (n=${critical.length}); low p50 ${percentile(lowWaits, 50).toFixed(1)} ms, p99 ${percentile(lowWaits, 99).toFixed(1)} ms`,
    );
    assert.equal(critical.length, 100);
    assert.ok(p99 < 50, `critical queue wait p99 ${p99} ms`);
    assert.ok(percentile(lowWaits, 99) > p99, 'the flood itself waited longer');
  });

  for (const [weights, expected] of [
    ['', 0.5],
    ['a=3', 0.75],
  ] as const) {
    test(`two saturating types with weights ${weights || 'equal'} share the completions ${expected * 100} / ${100 - expected * 100}`, async (t) => {
      const { gate, order, handlers } = gated();
      const system = await startSystem(
        t,
        { ...FIXED, numWorkers: 1, workerCards: 1, heijunkaWeights: weights },
        { handlers },
      );
      await system.submit({ type: 'gate' });
      await waitUntil(() => system.health().in_flight === 1, 'the gate to hold the card');
      for (let i = 0; i < 400; i++) await system.submit({ type: 'a' });
      for (let i = 0; i < 400; i++) await system.submit({ type: 'b' });
      gate.resolve();
      await waitUntil(() => order.length === 800, 'all processed');
      // While both had work waiting (the first 400 completions at least), each got its share.
      const share = order.slice(0, 400).filter((x) => x.startsWith('a')).length / 400;
      assert.ok(Math.abs(share - expected) <= 0.05, `a got ${share * 100} %`);
    });
  }

  for (const agingMs of [150, 3_600_000]) {
    test(`low priority ${agingMs < 1000 ? 'progresses' : 'starves, as expected without aging,'} under endless high-priority load (aging ${agingMs} ms)`, async (t) => {
      let stop = false;
      const cold: string[] = [];
      const done = new Set<string>();
      const system = await startSystem(
        t,
        {
          ...FIXED,
          numWorkers: 1,
          heijunkaPool: 1,
          workerCards: 2,
          heijunkaAgingMs: agingMs,
          kanbanBuffer: 1000,
        },
        {
          handlers: {
            hot: () => sleep(1).then(() => undefined),
            cold: (s) => {
              done.add(s.id);
            },
          },
        },
      );
      // Keep 300 priority-1 signals waiting at all times (over 0.1 s of work), while the test runs.
      const feeder = (async () => {
        while (!stop) {
          while (!stop && system.health().queue_depth < 300 + cold.length - done.size) {
            await system.submit({ type: 'hot', priority: 1 });
          }
          await sleep(1);
        }
      })();
      await waitUntil(
        () => (system.heijunka().leveling?.priorities[0]?.waiting ?? 0) >= 250,
        'the hot backlog',
      );
      for (let i = 0; i < 10; i++)
        cold.push((await system.submit({ type: 'cold', priority: 4 })).signal.signal_id);
      const deadline = performance.now() + 2_500;
      while (done.size < cold.length && performance.now() < deadline) await sleep(20);
      const hotWaiting = system.heijunka().leveling?.priorities[0]?.waiting ?? 0;
      stop = true;
      await feeder;
      if (agingMs < 1000) {
        assert.equal(done.size, 10, 'every low-priority signal completed');
        assert.ok(hotWaiting > 0, 'while priority-1 work was still waiting');
      } else {
        assert.equal(done.size, 0, 'strict priority alone lets none through');
      }
    });
  }

  test('a per-type cap keeps that type to its limit while others run', async (t) => {
    const gate = deferred();
    let slowRunning = 0;
    let slowPeak = 0;
    let fastDone = 0;
    const system = await startSystem(
      t,
      { ...FIXED, numWorkers: 2, workerCards: 4, heijunkaCaps: 'slow=2' },
      {
        handlers: {
          slow: async () => {
            slowRunning++;
            slowPeak = Math.max(slowPeak, slowRunning);
            await gate.promise;
            slowRunning--;
          },
          fast: () => {
            fastDone++;
          },
        },
      },
    );
    for (let i = 0; i < 6; i++) await system.submit({ type: 'slow' });
    for (let i = 0; i < 20; i++) await system.submit({ type: 'fast' });
    await waitUntil(() => fastDone === 20, 'the fast type to run past the capped one');
    assert.equal(slowRunning, 2);
    assert.deepEqual(system.heijunka().leveling?.in_flight, { slow: 2 });
    assert.equal(system.heijunka().leveling?.priorities[2]?.types.slow, 4);
    gate.resolve();
    await waitUntil(() => system.health().queue_depth === 0 && system.health().in_flight === 0, 'all done');
    assert.equal(slowPeak, 2);
  });
});

describe('heijunka: dispatch and balance', () => {
  test('under uniform load the workers are level', async (t) => {
    const system = await startSystem(
      t,
      { ...FIXED, numWorkers: 4, workerCards: 8, kanbanBuffer: 5000 },
      { handlers: { even: () => sleep(2).then(() => undefined) } },
    );
    for (let i = 0; i < 2000; i++) await system.submit({ type: 'even' });
    await waitUntil(
      () => system.health().queue_depth === 0 && system.health().in_flight === 0,
      'all done',
      30_000,
    );
    const h = system.heijunka();
    t.diagnostic(
      `balance ${h.balance_coefficient.toFixed(3)}: ${h.workers.map((w) => w.processed).join(', ')}`,
    );
    assert.ok(h.balance_coefficient >= 0.9, `balance coefficient ${h.balance_coefficient}`);
  });

  test('a slow worker receives proportionally less', async (t) => {
    const system = await startSystem(
      t,
      { ...FIXED, numWorkers: 4, workerCards: 4, kanbanBuffer: 5000 },
      { handlers: { work: (_s, ctx) => sleep(ctx.workerId === 'worker-2' ? 20 : 2).then(() => undefined) } },
    );
    for (let i = 0; i < 1500; i++) await system.submit({ type: 'work' });
    await waitUntil(
      () => system.health().queue_depth === 0 && system.health().in_flight === 0,
      'all done',
      30_000,
    );
    const workers = system.heijunka().workers;
    const slow = workers.find((w) => w.id === 'worker-2')?.processed ?? 0;
    const others = workers.filter((w) => w.id !== 'worker-2').map((w) => w.processed);
    const mean = others.reduce((a, b) => a + b, 0) / others.length;
    t.diagnostic(`worker-2 (10× slower) took ${slow}; the others ${others.join(', ')}`);
    assert.ok(slow < mean / 3, `the slow worker took ${slow}, the others ${mean} on average`);
    assert.ok(slow > 0);
  });
});

describe('heijunka: a stuck worker', () => {
  test('holds only the signals it started; everything else goes to the others', async (t) => {
    const release = deferred();
    const stuck: string[] = [];
    const system = await startSystem(
      t,
      { ...FIXED, numWorkers: 4, workerCards: 4, kanbanBuffer: 5000 },
      {
        handlers: {
          work: async (s, ctx) => {
            if (ctx.workerId === 'worker-2') {
              stuck.push(s.id);
              await release.promise; // hangs until the test lets go
            }
            await sleep(1);
          },
        },
      },
    );
    const ids: string[] = [];
    for (let i = 0; i < 600; i++) ids.push((await system.submit({ type: 'work' })).signal.signal_id);
    await waitUntil(
      async () =>
        (await Promise.all(ids.map((id) => system.status(id)))).filter((r) => r.status === 'completed')
          .length ===
        600 - stuck.length,
      'every signal not held by the stuck worker to complete',
      20_000,
    );
    assert.ok(stuck.length <= 4, `the stuck worker holds ${stuck.length}, at most its 4 cards`);
    assert.equal(system.health().queue_depth, 0, 'nothing waits for it');
    release.resolve();
    await waitUntil(() => system.health().in_flight === 0, 'the stuck ones finish once released');
  });
});

describe('heijunka: scaling', () => {
  test('a spike grows the pool within seconds, it shrinks back after, nothing lost or run twice', async (t) => {
    const runs = new Map<string, number>();
    const { app, system } = await startApp(
      t,
      {
        numWorkers: 2,
        heijunkaPool: 2,
        heijunkaPoolMax: 8,
        workerCards: 4,
        heijunkaScaleUpSecs: 0,
        heijunkaScaleDownSecs: 1,
        sloTargetMs: 100,
        kanbanBuffer: 5000,
      },
      {
        handlers: {
          spike: async (s) => {
            runs.set(s.id, (runs.get(s.id) ?? 0) + 1);
            await sleep(20);
          },
        },
      },
    );
    assert.equal(system.heijunka().pool_size, 2);
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < 1500; i++)
      ids.push((await system.submit({ type: 'spike', priority: 1 as Priority })).signal.signal_id);
    await waitUntil(() => system.heijunka().pool_size === 8, 'the pool to grow to its maximum', 5_000);
    t.diagnostic(`grew to 8 workers ${Math.round(performance.now() - t0)} ms after the spike began`);
    await waitUntil(
      () => system.health().queue_depth === 0 && system.health().in_flight === 0,
      'the spike processed',
      30_000,
    );
    await waitUntil(
      () => system.heijunka().workers.length === 2,
      'the pool back at its minimum, retired workers gone',
      10_000,
    );
    assert.equal(runs.size, 1500, 'every signal ran');
    assert.ok(
      [...runs.values()].every((n) => n === 1),
      'none ran twice',
    );
    for (const id of ids) assert.equal((await system.status(id)).status, 'completed');

    const body = (await app.inject({ method: 'GET', url: '/heijunka' })).json();
    assert.equal(body.pool_size, 2);
    assert.equal(body.pool_min, 2);
    assert.equal(body.pool_max, 8);
    assert.ok(body.scale_ups >= 1 && body.scale_downs >= 1);
    assert.ok(
      body.scaling.some((e: { direction: string; to: number }) => e.direction === 'up' && e.to === 8),
    );
    assert.ok(body.workers.every((w: { state: string }) => w.state === 'running'));
    const history = system
      .andonBoard()
      .history.filter((h) => h.principle === 'heijunka' && h.kind === 'alert');
    assert.ok(history.some((h) => h.reason.startsWith('pool scaled up 2 → 8 workers')));
    assert.ok(history.some((h) => h.reason.startsWith('pool scaled down')));
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: { accept: 'text/plain' } });
    assert.match(metrics.body, /tps_heijunka_scaling_total\{direction="up"\} [1-9]/);
    assert.equal(system.health().healthy, true, 'retired workers are not reported as down');
  });

  test('GET /heijunka shows what waits, by priority and type, with the weights', async (t) => {
    const gate = deferred();
    const { app, system } = await startApp(
      t,
      { ...FIXED, numWorkers: 1, workerCards: 1, heijunkaWeights: 'b=2' },
      { handlers: { gate: () => gate.promise.then(() => 'ok'), a: () => 'a', b: () => 'b' } },
    );
    await system.submit({ type: 'gate' });
    await waitUntil(() => system.health().in_flight === 1, 'the gate to hold the card');
    await system.submit({ type: 'a', priority: 2 });
    await system.submit({ type: 'b', priority: 2 });
    await system.submit({ type: 'b', priority: 4 });
    const body = (await app.inject({ method: 'GET', url: '/heijunka' })).json();
    assert.equal(body.leveling.waiting, 3);
    assert.deepEqual(body.leveling.priorities[1].types, { a: 1, b: 1 });
    assert.deepEqual(body.leveling.priorities[3].types, { b: 1 });
    assert.deepEqual(body.leveling.weights, { b: 2 });
    assert.equal(body.workers[0].in_use, 1);
    gate.resolve();
  });
});
