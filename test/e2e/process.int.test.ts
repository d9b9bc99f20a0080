import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadMallocTrim } from '../../src/malloc-trim.ts';

import {
  eventually,
  exitWithin,
  getJson,
  type Json,
  logLines,
  postSignal,
  show,
  startService,
  waitForStatus,
} from '../process.ts';

/**
 * End-to-end: the real service process (`node src/main.ts`), driven over TCP with `fetch`.
 * Each test starts its own process with its own configuration and free ports.
 */

test('a submitted signal is accepted, then completes', async (t) => {
  const service = await startService(t);

  const answer = await postSignal(service, 'validate', { data: { order: 42 } });
  assert.equal(answer.status, 202, show(answer));
  const body = answer.body;
  assert.equal(body.success, true);
  assert.equal(typeof body.signal_id, 'string');
  assert.match(body.trace_id as string, /^[0-9a-f]{32}$/);
  assert.equal(body.status, 'queued');
  assert.equal(body.status_url, `/signal/${body.signal_id as string}/status`);
  assert.equal(answer.headers.get('location'), body.status_url);

  const done = await waitForStatus(service, body.status_url as string, 'completed');
  assert.equal(done.signal_id, body.signal_id);
  assert.equal(done.signal_type, 'validate');
  assert.equal(done.trace_id, body.trace_id);
  assert.equal(done.attempts, 1);
  assert.equal(typeof done.worker_id, 'string');
  assert.notEqual(done.worker_id, '');
  assert.equal(done.message, 'Validation successful');
});

test('Prefer: wait answers 200 with the finished signal', async (t) => {
  const service = await startService(t);

  const answer = await postSignal(service, 'execute', { task: 'press' }, { prefer: 'wait=5' });
  assert.equal(answer.status, 200, show(answer));
  assert.equal(answer.headers.get('preference-applied'), 'wait=5');
  const body = answer.body;
  assert.equal(body.success, true);
  assert.equal(body.message, 'Execution completed');
  assert.equal(body.status, 'completed');
  assert.equal(typeof body.duration_ms, 'number');
  assert.ok((body.duration_ms as number) >= 40, `duration_ms ${String(body.duration_ms)} should be ≥ 40`);
  assert.match(body.trace_id as string, /^[0-9a-f]{32}$/);
  assert.equal(body.attempts, 1);
});

test('a full Kanban buffer answers 429 with Retry-After; accepted signals still complete', async (t) => {
  const service = await startService(t, {
    env: {
      TPS_KANBAN_BUFFER: '5',
      TPS_NUM_WORKERS: '1',
      TPS_HEIJUNKA_POOL: '1',
      TPS_WORKER_CARDS: '1',
    },
  });

  const answers = await Promise.all(
    Array.from({ length: 30 }, () => postSignal(service, 'chaos', { latency_ms: 300 })),
  );
  const statuses = answers.map((a) => a.status);
  assert.ok(
    statuses.every((s) => s === 202 || s === 429),
    `only 202 and 429 expected: ${statuses.join(',')}`,
  );
  const rejected = answers.filter((a) => a.status === 429);
  const accepted = answers.filter((a) => a.status === 202);
  assert.ok(rejected.length >= 1, `expected at least one 429: ${statuses.join(',')}`);
  assert.ok(accepted.length >= 1, `expected at least one 202: ${statuses.join(',')}`);
  for (const a of rejected) {
    assert.equal(a.body.error, 'queue_full', show(a));
    assert.equal(a.body.success, false);
    const retryAfter = a.headers.get('retry-after');
    assert.ok(
      retryAfter !== null && /^\d+$/.test(retryAfter) && Number(retryAfter) >= 1,
      `Retry-After: ${retryAfter}`,
    );
  }

  for (const a of accepted) {
    const done = await waitForStatus(service, a.body.status_url as string, 'completed', 20_000);
    assert.equal(done.message, 'Chaos survived');
  }
});

test('Jidoka opens the circuit of a failing type only, then a half-open probe closes it', async (t) => {
  const service = await startService(t, {
    // Three seconds open leaves a busy machine ample time for the checks made while it is open.
    env: { TPS_CB_THRESHOLD: '2', TPS_CB_TIMEOUT: '3', TPS_MAX_ATTEMPTS: '1' },
  });

  for (let i = 0; i < 2; i++) {
    const failed = await postSignal(service, 'chaos', { failure_rate: 1 }, { prefer: 'wait=5' });
    assert.equal(failed.status, 200, show(failed));
    assert.equal(failed.body.success, false, show(failed));
    assert.equal(failed.body.status, 'dead_lettered', show(failed));
  }
  const openedAt = performance.now();

  const stopped = await postSignal(service, 'chaos', { failure_rate: 0 });
  assert.equal(stopped.status, 503, show(stopped));
  assert.equal(stopped.body.error, 'circuit_open', show(stopped));
  assert.equal(stopped.body.circuit_state, 'Open', show(stopped));
  assert.equal(stopped.body.signal_type, 'chaos', show(stopped));
  const retryAfter = stopped.headers.get('retry-after');
  assert.ok(
    retryAfter !== null && /^\d+$/.test(retryAfter) && Number(retryAfter) >= 1,
    `Retry-After: ${retryAfter}`,
  );

  const health = await getJson(service, '/health');
  assert.equal(health.body.circuit_state, 'Open', show(health));
  const circuits = health.body.circuits as Record<string, string>;
  assert.equal(circuits.chaos, 'Open', show(health));
  assert.equal(circuits.validate, 'Closed', show(health));

  // Only the broken line stops.
  const other = await postSignal(service, 'validate', {});
  assert.equal(other.status, 202, show(other));

  await sleep(Math.max(0, 3200 - (performance.now() - openedAt)));
  const probe = await postSignal(service, 'chaos', { failure_rate: 0 }, { prefer: 'wait=5' });
  assert.equal(probe.status, 200, show(probe));
  assert.equal(probe.body.success, true, show(probe));
  assert.equal(probe.body.status, 'completed', show(probe));

  const after = await getJson(service, '/health');
  assert.equal(after.body.circuit_state, 'Closed', show(after));
  assert.equal((after.body.circuits as Record<string, string>).chaos, 'Closed', show(after));

  const log = logLines(service.stdout());
  assert.ok(
    log.some((l) => l.msg === 'circuit opened: line stopped' && l.signal_type === 'chaos'),
    `no circuit-opened log line\n${service.logs()}`,
  );
});

test('SIGTERM stops intake at once, drains every accepted signal, and exits 0', async (t) => {
  const service = await startService(t, {
    env: { TPS_NUM_WORKERS: '1', TPS_HEIJUNKA_POOL: '1', TPS_WORKER_CARDS: '2' },
  });

  const accepted = await Promise.all(
    Array.from({ length: 20 }, () => postSignal(service, 'chaos', { latency_ms: 100 })),
  );
  for (const a of accepted) assert.equal(a.status, 202, show(a));

  assert.ok(service.child.kill('SIGTERM'), 'SIGTERM not delivered');
  // The signal is handled asynchronously: wait for the process to say it stopped intake.
  await eventually(
    () => service.stdout().includes('"msg":"draining: intake stopped"'),
    () => `the draining log line\n${service.logs()}`,
    10_000,
    5,
  );

  const refused = await postSignal(service, 'validate', {});
  assert.equal(
    service.child.exitCode,
    null,
    `the process exited before the drain could be observed\n${service.logs()}`,
  );
  assert.equal(refused.status, 503, show(refused));
  assert.equal(refused.body.error, 'not_accepting', show(refused));
  assert.ok(refused.headers.get('retry-after') !== null, 'Retry-After on 503 not_accepting');

  const exit = await exitWithin(service, 20_000);
  assert.deepEqual(exit, { code: 0, signal: null }, service.logs());

  const log = logLines(service.stdout());
  const draining = log.find((l) => l.msg === 'draining: intake stopped');
  assert.ok(draining !== undefined);
  assert.ok(
    (draining.queued as number) + (draining.in_flight as number) > 0,
    `the drain started with work pending: ${JSON.stringify(draining)}`,
  );
  const stopped = log.find((l) => l.msg === 'tps system stopped; every accepted signal settled');
  assert.ok(stopped !== undefined, `no stopped log line\n${service.logs()}`);
  assert.equal(stopped.remaining, 0);
  assert.equal(stopped.drained, true);
});

test('once idle, the service gives memory back with a full collection (node --expose-gc)', async (t) => {
  const service = await startService(t, { nodeFlags: ['--expose-gc'], env: { TPS_IDLE_COMPACT_SECS: '1' } });
  for (let i = 0; i < 20; i++) assert.equal((await postSignal(service, 'report')).status, 202);
  let compaction: Json = {};
  await eventually(
    async () => {
      const info = await getJson(service, '/info');
      compaction = (info.body.memory as Json).idle_compaction as Json;
      return (compaction.compactions as number) >= 1;
    },
    () => `no idle compaction: ${JSON.stringify(compaction)}`,
    15_000,
    200,
  );
  assert.equal(compaction.enabled, true);
  // The service loads the malloc-trim addon wherever it is built (test/malloc-trim.test.ts checks
  // that npm ci built it on glibc Linux).
  assert.equal(compaction.malloc_trim, loadMallocTrim() !== undefined);
  const last = compaction.last as Json;
  // Start-up garbage alone is enough: the service idles 15–20 MB smaller after its first one.
  assert.ok(
    (last.rss_after_bytes as number) < (last.rss_before_bytes as number),
    `RSS ${String(last.rss_before_bytes)} → ${String(last.rss_after_bytes)}`,
  );
  // The log line travels through a pipe, the /info answer through a socket: either may come first.
  await eventually(
    () => logLines(service.stdout()).some((l) => l.msg === 'idle: memory taken under load given back'),
    () => `the compaction's log line\n${service.logs()}`,
    5_000,
  );
});

test('without --expose-gc idle compaction is off, and says so in /info', async (t) => {
  const service = await startService(t);
  const info = await getJson(service, '/info');
  assert.deepEqual((info.body.memory as Json).idle_compaction, {
    enabled: false,
    malloc_trim: false,
    compactions: 0,
    due: false,
    freed_bytes: 0,
    last: null,
  });
});

test('a bad configuration value stops start-up with one line naming the variable', async (t) => {
  const service = await startService(t, { env: { TPS_NUM_WORKERS: 'abc' }, waitHealthy: false });

  const exit = await exitWithin(service, 15_000);
  assert.deepEqual(exit, { code: 1, signal: null }, service.logs());

  const lines = service
    .stderr()
    .split('\n')
    .filter((line) => line !== '');
  assert.equal(lines.length, 1, `exactly one stderr line expected:\n${service.stderr()}`);
  const line = lines[0] as string;
  assert.match(line, /TPS_NUM_WORKERS/);
  assert.match(line, /an integer from 1 to 256/);
  assert.match(line, /"abc"/);
  assert.equal(service.stdout(), '', 'nothing on stdout');
});

test('start-up warns once for each unknown TPS_ variable, naming the closest, and logs the address bound', async (t) => {
  const service = await startService(t, {
    env: { TPS_NUM_WORKER: '2', TPS_KANBAN_BUFER: '10', TPS_NUM_WORKERS: '1', HTTP_HOST: '127.0.0.1' },
  });
  await eventually(
    async () => logLines(service.stdout()).some((l) => l.msg === 'listening'),
    () => `the listening line\n${service.logs()}`,
    5_000,
  );
  const lines = logLines(service.stdout());
  const unknown = lines.filter((l) => typeof l.variable === 'string');
  assert.deepEqual(
    unknown.map((l) => [l.variable, l.closest]),
    [
      ['TPS_KANBAN_BUFER', 'TPS_KANBAN_BUFFER'],
      ['TPS_NUM_WORKER', 'TPS_NUM_WORKERS'],
    ],
  );
  for (const l of unknown) assert.equal(l.level, 40, 'at warn');
  const listening = lines.find((l) => l.msg === 'listening');
  assert.equal(listening?.address, service.base);
  const health = await getJson(service, '/health');
  assert.equal(health.body.active_workers, 1, 'TPS_NUM_WORKERS=1 runs one worker');
});

test('the listening line names the address bound, 0.0.0.0 when that is the host', async (t) => {
  const service = await startService(t, { env: { HTTP_HOST: '0.0.0.0' } });
  await eventually(
    async () => logLines(service.stdout()).some((l) => l.msg === 'listening'),
    () => `the listening line\n${service.logs()}`,
    5_000,
  );
  const listening = logLines(service.stdout()).find((l) => l.msg === 'listening');
  assert.match(String(listening?.address), /^http:\/\/0\.0\.0\.0:\d+$/);
});
