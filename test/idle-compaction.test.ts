import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import { exposedCollector, IdleCompactor } from '../src/idle-compaction.ts';
import { startApp, waitUntil } from './helpers.ts';

const MB = 2 ** 20;

/** A compactor over a fake process: its activity, its queue, its RSS and a collector that halves it. */
function fixture(idleMs = 5_000, minGrowthBytes = 16 * MB) {
  const clock = new FakeClock();
  const world = { activity: 0, quiet: true, rss: 120 * MB, collected: 0 };
  const compactor = new IdleCompactor({
    idleMs,
    minGrowthBytes,
    activity: () => world.activity,
    quiet: () => world.quiet,
    collect: () => {
      world.collected++;
      world.rss = Math.round(world.rss * 0.75);
    },
    rss: () => world.rss,
    clock,
  });
  return { clock, world, compactor };
}

describe('idle compaction', () => {
  test('compacts once the service has been quiet for the period, then not again while nothing grows', () => {
    const { clock, world, compactor } = fixture();
    assert.equal(compactor.status().due, true, 'start-up counts: measured from 0');
    assert.equal(compactor.check(), undefined);
    clock.advance(4_999);
    assert.equal(compactor.check(), undefined, 'not quiet long enough yet');
    clock.advance(1);
    const c = compactor.check();
    assert.ok(c !== undefined);
    assert.equal(world.collected, 1);
    assert.equal(c.rssBeforeBytes, 120 * MB);
    assert.equal(c.rssAfterBytes, 90 * MB);
    clock.advance(60_000);
    assert.equal(compactor.check(), undefined, 'no growth since the last one');
    assert.equal(world.collected, 1);
    const s = compactor.status();
    assert.equal(s.compactions, 1);
    assert.equal(s.freedBytes, 30 * MB);
    assert.equal(s.due, false);
    assert.deepEqual(s.last, c);
  });

  test('activity, or work queued or running, starts the quiet period again', () => {
    const { clock, world, compactor } = fixture();
    clock.advance(4_000);
    world.activity++;
    assert.equal(compactor.check(), undefined);
    clock.advance(4_000);
    assert.equal(compactor.check(), undefined, 'only 4 s since the last signal');
    world.quiet = false;
    clock.advance(2_000);
    assert.equal(compactor.check(), undefined, 'a signal still running');
    world.quiet = true;
    clock.advance(4_999);
    assert.equal(compactor.check(), undefined, 'the period counts from when the work ended');
    clock.advance(1);
    assert.notEqual(compactor.check(), undefined);
    assert.equal(world.collected, 1);
  });

  test('the RSS a compaction left is what the next growth is measured from', () => {
    const { clock, world, compactor } = fixture();
    clock.advance(5_000);
    assert.notEqual(compactor.check(), undefined); // 120 → 90 MB
    world.activity++; // a burst…
    world.rss = 90 * MB + 16 * MB - 1;
    assert.equal(compactor.status().due, false);
    compactor.check();
    clock.advance(5_000);
    assert.equal(compactor.check(), undefined, 'grew 1 byte short of the threshold');
    world.activity++;
    world.rss = 90 * MB + 16 * MB;
    assert.equal(compactor.status().due, true);
    compactor.check();
    clock.advance(5_000);
    assert.notEqual(compactor.check(), undefined, 'grew by the threshold');
    assert.equal(world.collected, 2);
  });

  test('the malloc trim runs right after the collection, inside the pause it reports', () => {
    const clock = new FakeClock();
    const steps: string[] = [];
    let rss = 120 * MB;
    const compactor = new IdleCompactor({
      idleMs: 1_000,
      minGrowthBytes: MB,
      activity: () => 0,
      quiet: () => true,
      collect: () => {
        steps.push('collect');
        rss = 100 * MB;
      },
      trimMalloc: () => {
        steps.push('trim');
        rss = 80 * MB;
        return true;
      },
      rss: () => {
        steps.push('rss');
        return rss;
      },
      clock,
    });
    assert.equal(compactor.status().mallocTrim, true);
    steps.length = 0;
    clock.advance(1_000);
    const c = compactor.check();
    assert.deepEqual(steps, ['rss', 'collect', 'trim', 'rss']);
    assert.equal(c?.rssAfterBytes, 80 * MB, 'measured after the trim');
    assert.equal(c?.mallocTrimmed, true);

    // Without one: the status says so, and no compaction claims a trim.
    const { clock: clock2, compactor: plain } = fixture(1_000);
    assert.equal(plain.status().mallocTrim, false);
    clock2.advance(1_000);
    assert.equal(plain.check()?.mallocTrimmed, false);
  });

  test('the collector is the one `--expose-gc` gives, and only then', () => {
    const collect = exposedCollector();
    assert.equal(collect === undefined, typeof globalThis.gc !== 'function');
  });

  test('/info and /metrics show it; without a collector it is off', async (t) => {
    const clock = new FakeClock();
    let rss = 200 * MB;
    let collected = 0;
    const on = await startApp(
      t,
      { idleCompactSecs: 1 },
      {
        clock,
        idleCompaction: {
          rss: () => rss,
          collect: () => {
            collected++;
            rss = 150 * MB;
          },
          trimMalloc: () => {
            rss -= 10 * MB;
            return true;
          },
        },
      },
    );
    const done = await on.system.submit({ type: 'report', payload: {} });
    assert.equal((await on.system.waitFor(done.signal.signal_id, 5_000))?.status, 'completed');
    // The compactor looks once a second (real time); the quiet time it sees is the fake clock's.
    await waitUntil(() => {
      clock.advance(100);
      return collected > 0;
    }, 'an idle compaction');
    assert.equal(collected, 1);
    const info = (await on.app.inject({ method: 'GET', url: '/info' })).json();
    assert.equal(info.memory.idle_compaction.enabled, true);
    assert.equal(info.memory.idle_compaction.malloc_trim, true);
    assert.equal(info.memory.idle_compaction.compactions, 1);
    assert.equal(info.memory.idle_compaction.freed_bytes, 60 * MB);
    assert.equal(info.memory.idle_compaction.last.rss_before_bytes, 200 * MB);
    assert.equal(info.memory.idle_compaction.last.rss_after_bytes, 140 * MB);
    assert.equal(info.memory.idle_compaction.last.malloc_trimmed, true);
    const metrics = (
      await on.app.inject({ method: 'GET', url: '/metrics', headers: { accept: 'text/plain' } })
    ).body;
    assert.match(metrics, /^tps_idle_compactions_total 1$/m);
    assert.match(metrics, new RegExp(`^tps_idle_compaction_freed_bytes_total ${60 * MB}$`, 'm'));

    const off = await startApp(t, { idleCompactSecs: 1 });
    const offInfo = (await off.app.inject({ method: 'GET', url: '/info' })).json();
    assert.deepEqual(offInfo.memory.idle_compaction, {
      enabled: false,
      malloc_trim: false,
      compactions: 0,
      due: false,
      freed_bytes: 0,
      last: null,
    });
  });
});
