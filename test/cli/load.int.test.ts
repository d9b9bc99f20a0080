import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { runChaos } from '../../cli/chaos.ts';
import { runLoad } from '../../cli/load.ts';
import { verdict } from '../../cli/verdict.ts';
import { startApp } from '../helpers.ts';
import { ROOT } from '../process.ts';

const run = promisify(execFile);

/**
 * A stand-in service: answers POST /signal with 202 at once, or holds every answer while
 * `stalled()` says so. Records when each request arrived.
 */
async function fakeService(t: TestContext, stalled: () => boolean = () => false) {
  const arrivals: number[] = [];
  const held: ServerResponse[] = [];
  let n = 0;
  const answer = (res: ServerResponse) =>
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ signal_id: `s${n++}` }));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      arrivals.push(performance.now());
      if (stalled()) held.push(res);
      else answer(res);
    });
  });
  const release = setInterval(() => {
    if (!stalled()) for (let res = held.shift(); res !== undefined; res = held.shift()) answer(res);
  }, 5);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    clearInterval(release);
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals };
}

describe('tps load generator', () => {
  test('keeps the asked rate (open loop), within 5 %', async (t) => {
    const svc = await fakeService(t);
    const r = await runLoad({
      url: svc.url,
      scenario: 'custom',
      signalType: 'validate',
      rate: 400,
      durationSecs: 3,
      mode: 'accept',
      observe: false,
    });
    assert.equal(r.sent, 1200);
    assert.equal(svc.arrivals.length, 1200);
    assert.equal(r.statusCodes['202'], 1200);
    // The rate the server saw, first arrival to last: 1199 intervals of 2.5 ms.
    const seen = (1199 * 1000) / ((svc.arrivals.at(-1) as number) - (svc.arrivals[0] as number));
    assert.ok(Math.abs(seen - 400) / 400 <= 0.05, `the server saw ${seen.toFixed(1)}/s`);
    assert.ok(Math.abs(r.achievedRate - 400) / 400 <= 0.05, `sent at ${r.achievedRate.toFixed(1)}/s`);
    assert.equal(r.errors, 0);
  });

  test('a server that stalls shows the stall in every request it delayed (no coordinated omission)', async (t) => {
    let t0 = 0;
    // Answers are held from 1 s to 2 s into the run.
    const svc = await fakeService(
      t,
      () => t0 > 0 && performance.now() - t0 >= 1000 && performance.now() - t0 < 2000,
    );
    t0 = performance.now();
    const r = await runLoad({
      url: svc.url,
      scenario: 'custom',
      signalType: 'validate',
      rate: 200,
      durationSecs: 3,
      mode: 'accept',
      observe: false,
    });
    // A third of the requests were due during the stall and waited for its end: 0–1000 ms each.
    // Measured from their due time, the 95th percentile is ~850 ms; a closed-loop client would
    // have sent only a handful during the stall and reported a p95 of a millisecond.
    assert.ok(r.latencyMs.p95 >= 600, `p95 ${r.latencyMs.p95} ms`);
    assert.ok(r.latencyMs.max >= 900, `max ${r.latencyMs.max} ms`);
    assert.ok(r.latencyMs.p50 < 100, `p50 ${r.latencyMs.p50} ms: the rest were quick`);
    const slow = r.timeline.filter((tick) => tick.max >= 500).length;
    assert.ok(slow >= 1, 'the timeline shows the stalled second');
  });

  test('a request never answered counts once, as no_answer, even if its socket fails later', async (t) => {
    const svc = await fakeService(t, () => true); // holds every answer
    const r = await runLoad({
      url: svc.url,
      scenario: 'custom',
      signalType: 'validate',
      rate: 20,
      durationSecs: 0.5,
      mode: 'accept',
      observe: false,
      answerTimeoutMs: 300,
    });
    assert.equal(r.sent, 10);
    assert.deepEqual(r.statusCodes, { no_answer: 10 });
    assert.equal(r.answered, 10);
    assert.equal(r.errorRatePct, 100);
    // Each measured from its own due time: the last was due ~475 ms into the run.
    assert.ok(r.latencyMs.max < r.latencyMs.p50 + 700, `max ${r.latencyMs.max}, p50 ${r.latencyMs.p50}`);
    // The held answers' sockets are destroyed now; nothing is counted a second time.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(r.statusCodes, { no_answer: 10 });
  });
});

describe('tps verdict', () => {
  type Input = Parameters<typeof verdict>[0];
  const base: Input = {
    errorRatePct: 0,
    p99Ms: 50,
    circuitOpenings: 0,
    circuitOpenSharePct: 0,
    drainMs: 100,
  };
  const level = (over: Partial<Input>) => verdict({ ...base, ...over });

  test('all within GREEN is GREEN, with a reason per criterion', () => {
    const v = level({});
    assert.equal(v.level, 'GREEN');
    assert.deepEqual(
      v.criteria.map((c) => [c.name, c.level]),
      [
        ['errors', 'GREEN'],
        ['p99', 'GREEN'],
        ['circuit', 'GREEN'],
        ['drain', 'GREEN'],
      ],
    );
    assert.equal(v.criteria[1]?.value, '50 ms');
  });

  test('each criterion has its YELLOW and RED band, and the worst decides', () => {
    const cases: [Partial<Input>, string, string][] = [
      [{ errorRatePct: 0.99 }, 'errors', 'GREEN'],
      [{ errorRatePct: 1 }, 'errors', 'YELLOW'],
      [{ errorRatePct: 5 }, 'errors', 'YELLOW'],
      [{ errorRatePct: 5.01 }, 'errors', 'RED'],
      [{ p99Ms: 199.9 }, 'p99', 'GREEN'],
      [{ p99Ms: 200 }, 'p99', 'YELLOW'],
      [{ p99Ms: 500 }, 'p99', 'YELLOW'],
      [{ p99Ms: 501 }, 'p99', 'RED'],
      [{ circuitOpenings: 1, circuitOpenSharePct: 2 }, 'circuit', 'GREEN'],
      [{ circuitOpenings: 3, circuitOpenSharePct: 10 }, 'circuit', 'YELLOW'],
      [{ circuitOpenings: 1, circuitOpenSharePct: 20 }, 'circuit', 'YELLOW'],
      [{ circuitOpenings: 1, circuitOpenSharePct: 80 }, 'circuit', 'RED'],
      [{ drainMs: 10_000 }, 'drain', 'GREEN'],
      [{ drainMs: 45_000 }, 'drain', 'YELLOW'],
      [{ drainMs: 61_000 }, 'drain', 'RED'],
      [{ drainMs: null }, 'drain', 'RED'],
    ];
    for (const [over, name, expected] of cases) {
      const v = level(over);
      const c = v.criteria.find((x) => x.name === name);
      assert.equal(c?.level, expected, `${JSON.stringify(over)} → ${name} ${c?.level}`);
      assert.equal(v.level, expected, 'the others are GREEN, so this one decides');
    }
    assert.equal(level({ errorRatePct: 2, p99Ms: 600 }).level, 'RED');
  });

  test('a service that could not be watched is judged YELLOW on circuit and drain, not GREEN', () => {
    const v = level({ observed: false, drainMs: null, circuitOpenings: 0, circuitOpenSharePct: 0 });
    assert.deepEqual(
      v.criteria.map((c) => [c.name, c.level, c.value]),
      [
        ['errors', 'GREEN', '0 %'],
        ['p99', 'GREEN', '50 ms'],
        ['circuit', 'YELLOW', 'not observed'],
        ['drain', 'YELLOW', 'not observed'],
      ],
    );
    assert.equal(v.level, 'YELLOW');
  });
});

describe('tps command line', () => {
  test('reads the service RSS when drained, at its peak, and once idle after its compaction', async (t) => {
    let collected = 0;
    let reads = 0;
    const { system, app } = await startApp(
      t,
      { idleCompactSecs: 1 },
      // Each reading 20 MB more than the last: every quiet spell is worth a compaction.
      { idleCompaction: { collect: () => collected++, rss: () => (64 + 20 * reads++) * 2 ** 20 } },
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    const startedAt = Date.now();
    const r = await runLoad({
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      scenario: 'custom',
      signalType: 'report',
      rate: 100,
      durationSecs: 1,
      mode: 'accept',
      observe: true,
    });
    assert.equal(r.statusCodes['202'], 100);
    const last = system.compaction().last;
    assert.ok(
      last !== undefined && last.at >= startedAt + 1_000,
      'the idle reading waited for a compaction after the run',
    );
    assert.equal(system.compaction().compactions, collected);
    for (const v of [r.serviceRssMb, r.servicePeakRssMb, r.serviceIdleRssMb]) {
      assert.ok(v !== null && v > 0, String(v));
    }
    assert.ok((r.servicePeakRssMb as number) >= (r.serviceRssMb as number));
  });

  test('runs a scenario against a server and prints the verdict; --json gives the same figures', async (t) => {
    const svc = await fakeService(t);
    const { stdout, stderr } = await run(
      process.execPath,
      [
        'cli/tps.ts',
        'run',
        '--url',
        svc.url,
        '--rate',
        '50',
        '--duration',
        '2',
        '--mode',
        'accept',
        '--json',
      ],
      { cwd: ROOT },
    );
    const result = JSON.parse(stdout);
    assert.equal(result.sent, 100);
    assert.equal(result.statusCodes['202'], 100);
    assert.match(stderr, /VERDICT (GREEN|YELLOW|RED)/);
    assert.match(stderr, /sent 100 at/);
  });
});

describe('tps chaos', () => {
  for (const backend of ['memory', 'nats'] as const) {
    test(`faults in turn on the ${backend} backend, then every accepted signal reconciled: none lost`, async () => {
      const lines: string[] = [];
      const report = await runChaos({ rate: 40, phaseSecs: 1.5, backend, log: (l) => lines.push(l) });
      assert.deepEqual(
        report.phases.map((p) => p.name),
        [
          'steady load',
          'handler failures',
          'slow handlers',
          'worker crashes',
          ...(backend === 'nats' ? ['broker restart'] : []),
          'service restart',
          'service back',
          'load ended',
        ],
      );
      assert.match(report.phases.find((p) => p.name === 'worker crashes')?.note ?? '', /worker-1, worker-2/);
      assert.ok(report.accepted > 100, `accepted ${report.accepted}`);
      assert.equal(report.lost, 0, `lost: ${report.lostIds.join(', ')}`);
      assert.ok(
        report.completed > report.accepted * 0.9,
        `completed ${report.completed} of ${report.accepted}`,
      );
      assert.ok(report.deadLettered > 0, 'the failing handler dead-lettered some');
      assert.deepEqual(report.serviceExitCodes, [backend === 'nats' ? null : 0]);
    });
  }
});
