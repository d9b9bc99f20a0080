import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * End-to-end: the real service process (`node src/main.ts`), driven over TCP with `fetch`.
 * Each test starts its own process with its own configuration and free ports.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');

type Json = Record<string, unknown>;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Service {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<HTTP_PORT>` */
  readonly base: string;
  /** Resolves once the process has exited and its output is fully read. */
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Both streams, for failure messages. */
  logs(): string;
}

interface StartOptions {
  /** Environment variables on top of the defaults. */
  readonly env?: Record<string, string>;
  /** Wait until GET /health answers (default true). */
  readonly waitHealthy?: boolean;
}

function listen(server: Server): Promise<number> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') fail(new Error('no TCP address'));
      else done(address.port);
    });
  });
}

/** Ports nothing listens on right now (all held open together, so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  try {
    return await Promise.all(servers.map(listen));
  } finally {
    await Promise.all(
      servers.map((s) => new Promise<void>((done) => (s.listening ? s.close(() => done()) : done()))),
    );
  }
}

/** Polls `condition` every `everyMs` until it holds; throws with `what()` after `timeoutMs`. */
async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: () => string,
  timeoutMs: number,
  everyMs = 25,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(everyMs);
  }
}

/** The process's exit, or `undefined` if it has not exited within `timeoutMs`. */
async function exitWithin(service: Service, timeoutMs: number): Promise<Exit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((done) => {
    timer = setTimeout(() => done(undefined), timeoutMs);
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Spawns the service; kills it when the test ends if it is still running. */
async function startService(t: TestContext, options: StartOptions = {}): Promise<Service> {
  const [httpPort, metricsPort] = (await freePorts(2)) as [number, number];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HTTP_PORT: String(httpPort),
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'info',
    ...options.env,
  };
  // The runner's marker is for test files, not for the service.
  delete env.NODE_TEST_CONTEXT;

  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<Exit>((done) => {
    child.once('close', (code, signal) => done({ code, signal }));
  });
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const service: Service = {
    child,
    base: `http://127.0.0.1:${httpPort}`,
    exited,
    stdout: () => out,
    stderr: () => err,
    logs: () => `--- stdout ---\n${out.slice(-4000)}\n--- stderr ---\n${err.slice(-4000)}`,
  };

  t.after(async () => {
    if (running) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  if (options.waitHealthy ?? true) {
    await eventually(
      async () => {
        if (!running) throw new Error(`the service exited during start-up\n${service.logs()}`);
        try {
          const res = await fetch(`${service.base}/health`);
          await res.body?.cancel();
          return res.status === 200;
        } catch {
          return false;
        }
      },
      () => `GET /health to answer 200\n${service.logs()}`,
      15_000,
      50,
    );
  }
  return service;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Json;
}

async function send(service: Service, method: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${service.base}${path}`, { method, ...init });
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text) as Json;
  } catch {
    throw new Error(`${method} ${path} → ${res.status}: body is not JSON: ${text.slice(0, 500)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

function postSignal(
  service: Service,
  signalType: string,
  payload: Json = {},
  headers: Record<string, string> = {},
): Promise<Answer> {
  return send(service, 'POST', '/signal', {
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ signal_type: signalType, payload }),
  });
}

function getJson(service: Service, path: string): Promise<Answer> {
  return send(service, 'GET', path);
}

function show(answer: Answer): string {
  return `${answer.status} ${JSON.stringify(answer.body)}`;
}

/** Polls a signal's status until it is `wanted`; returns the last status body. */
async function waitForStatus(service: Service, statusUrl: string, wanted: string, timeoutMs = 15_000) {
  let last: Answer | undefined;
  await eventually(
    async () => {
      last = await getJson(service, statusUrl);
      assert.equal(last.status, 200, `GET ${statusUrl}: ${show(last)}`);
      return last.body.status === wanted;
    },
    () => `${statusUrl} to reach "${wanted}"; last: ${last ? show(last) : 'none'}\n${service.logs()}`,
    timeoutMs,
  );
  return (last as Answer).body;
}

/** The pino JSON lines of a log. */
function logLines(text: string): Json[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Json);
}

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
