import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Real service processes for end-to-end and fault tests: spawned on free ports, driven over TCP
 * with `fetch`, killed when the test ends.
 */

export const ROOT = resolve(import.meta.dirname, '..');

export type Json = Record<string, unknown>;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Service {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<HTTP_PORT>` */
  readonly base: string;
  /** Its METRICS_PORT (the Prometheus exposition). */
  readonly metricsPort: number;
  /** Resolves once the process has exited and its output is fully read. */
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Both streams, for failure messages. */
  logs(): string;
}

export interface StartOptions {
  /** Environment variables on top of the defaults. */
  readonly env?: Record<string, string>;
  /** Wait until GET /health answers (default true). */
  readonly waitHealthy?: boolean;
  /** The entry script, relative to the repository (default `src/main.ts`). */
  readonly script?: string;
  /** Reuse these ports (a restarted service keeps its address). */
  readonly ports?: readonly [number, number];
  /** Node.js flags for the service process. */
  readonly nodeFlags?: readonly string[];
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
export async function freePorts(n: number): Promise<number[]> {
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
export async function eventually(
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
export async function exitWithin(service: Service, timeoutMs: number): Promise<Exit | undefined> {
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
export async function startService(t: TestContext, options: StartOptions = {}): Promise<Service> {
  const [httpPort, metricsPort] = options.ports ?? ((await freePorts(2)) as [number, number]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HTTP_PORT: String(httpPort),
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'info',
    ...options.env,
  };
  // The runner's marker is for test files, not for the service.
  delete env.NODE_TEST_CONTEXT;

  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), options.script ?? 'src/main.ts'], {
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
    metricsPort,
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

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Json;
}

export async function send(
  service: Service,
  method: string,
  path: string,
  init: RequestInit = {},
): Promise<Answer> {
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

export function postSignal(
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

export function getJson(service: Service, path: string): Promise<Answer> {
  return send(service, 'GET', path);
}

export function show(answer: Answer): string {
  return `${answer.status} ${JSON.stringify(answer.body)}`;
}

/** Polls a signal's status until it is `wanted`; returns the last status body. */
export async function waitForStatus(service: Service, statusUrl: string, wanted: string, timeoutMs = 15_000) {
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
export function logLines(text: string): Json[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Json);
}
