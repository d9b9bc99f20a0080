import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, runLoad } from './load.ts';
import { freePort } from './net.ts';
import type { RunResult } from './result.ts';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(dirname(HERE), '..');
// The service beside this file: src/main.ts in a clone, dist/src/main.js once compiled (Node
// strips no types under node_modules, so an installed package runs the JavaScript).
const SERVICE_MAIN = join(ROOT, 'src', `main${extname(HERE)}`);
const NATS_SERVER = process.env.TPS_NATS_SERVER ?? 'nats-server';

export interface ChaosOptions {
  /** Steady `validate` load during the whole run, requests per second. */
  readonly rate: number;
  /** Length of each fault phase, seconds. */
  readonly phaseSecs: number;
  /** `memory`: the embedded queue; `nats`: JetStream and NATS KV on a NATS server of its own. */
  readonly backend: 'memory' | 'nats';
  readonly log: (line: string) => void;
}

export interface ChaosPhase {
  readonly name: string;
  /** Seconds since the run started. */
  readonly at: number;
  readonly note: string;
}

export interface ChaosReport {
  readonly backend: 'memory' | 'nats';
  readonly phases: readonly ChaosPhase[];
  /** Every signal the service answered 202 for, steady load and injected ones alike. */
  readonly accepted: number;
  readonly completed: number;
  readonly deadLettered: number;
  /**
   * Embedded queue only: signals still in the pipeline when the service was restarted. Its
   * graceful stop settles every accepted signal before it exits 0, but their statuses go with
   * the process; counted here, and as lost if the exit code was not 0.
   */
  readonly settledInDrain: number;
  /** Accepted and never settled: must be 0. */
  readonly lost: number;
  readonly lostIds: readonly string[];
  readonly serviceExitCodes: readonly (number | null)[];
  /** The steady load's own figures (requests refused while the service restarted show here). */
  readonly load: Pick<RunResult, 'sent' | 'answered' | 'statusCodes' | 'errorRatePct' | 'latencyMs'>;
}

type Final = 'completed' | 'dead_lettered';

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ok())) {
    if (performance.now() > deadline) throw new Error(`chaos: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A child process we start, stop and start again on the same ports. */
class Managed {
  readonly #name: string;
  readonly #command: string;
  readonly #args: readonly string[];
  readonly #env: NodeJS.ProcessEnv;
  readonly #logFile: string;
  #child: ChildProcess | undefined;
  #exit: Promise<number | null> = Promise.resolve(null);

  constructor(
    name: string,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    logFile: string,
  ) {
    this.#name = name;
    this.#command = command;
    this.#args = args;
    this.#env = env;
    this.#logFile = logFile;
  }

  start(): void {
    const out = openSync(this.#logFile, 'a');
    const child = spawn(this.#command, this.#args, {
      cwd: ROOT,
      env: this.#env,
      stdio: ['ignore', out, out],
    });
    this.#child = child;
    this.#exit = new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(null));
    });
  }

  /** Sends `signal` and waits for the exit (killing it after `timeoutMs`); the exit code. */
  async stop(signal: NodeJS.Signals, timeoutMs = 60_000): Promise<number | null> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return child?.exitCode ?? null;
    child.kill(signal);
    const timer = new AbortController();
    const code = await Promise.race([
      this.#exit,
      sleep(timeoutMs, 'timeout' as const, { signal: timer.signal }).catch(() => null),
    ]);
    timer.abort();
    if (code === 'timeout') {
      child.kill('SIGKILL');
      return this.#exit;
    }
    return code;
  }

  logTail(lines = 20): string {
    try {
      return readFileSync(this.#logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return `(no log for ${this.#name})`;
    }
  }
}

/**
 * Chaos: starts a service of its own (and, for `nats`, a NATS server of its own, so nothing
 * shared is disturbed), puts a steady load on it, injects faults in turn — failing handlers,
 * slow handlers, worker crashes, a broker restart (nats), a service restart (SIGKILL on nats,
 * where the broker keeps everything; a graceful SIGTERM on the embedded queue, which lives in the
 * process) — then reconciles every accepted signal id against its final status.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const dir = mkdtempSync(join(tmpdir(), 'tps-chaos-'));
  const [httpPort, metricsPort, natsPort] = [await freePort(), await freePort(), await freePort()];
  const url = `http://127.0.0.1:${httpPort}`;
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const nats =
    o.backend === 'nats'
      ? new Managed(
          'nats-server',
          NATS_SERVER,
          ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(dir, 'nats')],
          process.env,
          join(dir, 'nats.log'),
        )
      : undefined;
  const service = new Managed(
    'service',
    process.execPath,
    [SERVICE_MAIN],
    {
      ...process.env,
      HTTP_PORT: String(httpPort),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
      TPS_FAULT_INJECTION: 'true',
      // Its own service, whatever the shell says: no token, no rate limit, plain HTTP.
      AUTH_ENABLED: 'false',
      RATE_LIMIT: '0',
      SSL_ENABLED: 'false',
      TPS_KANBAN_BACKEND: o.backend,
      TPS_KANBAN_BUFFER: '20000',
      NATS_URL: natsUrl,
      TPS_BROKER_NAMESPACE: `chaos${process.pid}`,
      TPS_CB_TIMEOUT: '3',
      TPS_RETRY_BASE_MS: '100',
      TPS_RETRY_MAX_MS: '1000',
      TPS_NATS_ACK_WAIT_SECS: '5',
    },
    join(dir, 'service.log'),
  );
  const client = new Client(url);
  const healthy = async () =>
    (await client.send('GET', '/health').catch(() => ({ status: 0 }))).status === 200;
  const startService = async () => {
    service.start();
    await until('the service to become healthy', healthy, 30_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${service.logTail()}`);
    });
  };

  const t0 = performance.now();
  const phases: ChaosPhase[] = [];
  const phase = (name: string, note: string) => {
    const at = Math.round((performance.now() - t0) / 100) / 10;
    phases.push({ name, at, note });
    o.log(`chaos [${at} s] ${name}: ${note}`);
  };
  const exitCodes: (number | null)[] = [];

  // Every accepted id, and what is known of it: its final state, or not yet.
  const known = new Map<string, Final | undefined>();
  const accept = (id: string) => {
    if (!known.has(id)) known.set(id, undefined);
  };
  let settledInDrain = 0;
  let reconciling = true;
  const check = async (id: string) => {
    const a = await client.send('GET', `/signal/${id}/status`).catch(() => undefined);
    if (a?.status !== 200) return;
    const state = (JSON.parse(a.body) as { status?: string }).status;
    if (state === 'completed' || state === 'dead_lettered') known.set(id, state);
  };
  const reconciler = (async () => {
    while (reconciling) {
      const open = [...known].filter(([, s]) => s === undefined).slice(0, 400);
      for (let i = 0; i < open.length; i += 50) {
        await Promise.all(open.slice(i, i + 50).map(([id]) => check(id)));
      }
      await sleep(250);
    }
  })();

  /** Sends `chaos` signals with `payload` at `rate`/s for `secs`. */
  const inject = async (payload: Record<string, unknown>, rate: number, secs: number) => {
    const body = JSON.stringify({ signal_type: 'chaos', payload });
    const n = Math.round(rate * secs);
    for (let i = 0; i < n; i++) {
      void client.send('POST', '/signal', body).then(
        (a) => {
          if (a.status === 202) accept((JSON.parse(a.body) as { signal_id: string }).signal_id);
        },
        () => undefined,
      );
      await sleep(1000 / rate);
    }
  };

  try {
    if (nats !== undefined) {
      nats.start();
      await until('nats-server to listen', () => listening(natsPort), 10_000);
    }
    await startService();
    // Load throughout: half a phase before the faults, the fault phases, one phase after the restart.
    const faults = o.backend === 'nats' ? 5 : 4;
    const loadSecs = Math.ceil(o.phaseSecs * (faults + 1.5) + (o.backend === 'nats' ? 3 : 0));
    phase('steady load', `validate at ${o.rate}/s for ${loadSecs} s, every accepted id recorded`);
    const load = runLoad({
      url,
      scenario: 'chaos',
      signalType: 'validate',
      rate: o.rate,
      durationSecs: loadSecs,
      mode: 'accept',
      observe: false,
      onAccepted: accept,
    });

    await sleep(o.phaseSecs * 500);
    phase('handler failures', `chaos signals failing every attempt, 20/s for ${o.phaseSecs} s`);
    await inject({ failure_rate: 1 }, 20, o.phaseSecs);

    phase('slow handlers', `chaos signals taking 2 s each, 5/s for ${o.phaseSecs} s`);
    await inject({ latency_ms: 2000 }, 5, o.phaseSecs);

    const crashed: string[] = [];
    for (const worker of ['worker-1', 'worker-2']) {
      const a = await client.send('POST', `/chaos/workers/crash?worker=${worker}`).catch(() => undefined);
      if (a?.status === 200) crashed.push((JSON.parse(a.body) as { crashed: string }).crashed);
    }
    phase('worker crashes', `crashed through the fault-injection endpoint: ${crashed.join(', ') || 'none'}`);
    await sleep(o.phaseSecs * 1000);

    if (nats !== undefined) {
      phase('broker restart', 'own nats-server stopped for 3 s, then started on the same store');
      await nats.stop('SIGTERM');
      await sleep(3_000);
      nats.start();
      await until('nats-server to listen again', () => listening(natsPort), 10_000);
      await sleep(o.phaseSecs * 1000);
    }

    if (o.backend === 'nats') {
      phase('service restart', 'SIGKILL under load; the broker keeps every accepted signal');
      exitCodes.push(await service.stop('SIGKILL'));
    } else {
      phase('service restart', 'SIGTERM under load: intake stops, every accepted signal drains');
      exitCodes.push(await service.stop('SIGTERM'));
      // Statuses lived in the process: whatever the reconciler had not seen finish went with it.
      for (const [id, s] of known) {
        if (s !== undefined) continue;
        known.delete(id);
        if (exitCodes.at(-1) === 0) settledInDrain++;
        else known.set(id, undefined); // will be reported lost
      }
    }
    await startService();
    phase('service back', 'healthy again; the load goes on');
    const result = await load;
    phase('load ended', 'waiting for every accepted signal to settle');

    const deadline = performance.now() + 90_000;
    while ([...known.values()].some((s) => s === undefined) && performance.now() < deadline) await sleep(250);
    reconciling = false;
    await reconciler;

    const lostIds = [...known].filter(([, s]) => s === undefined).map(([id]) => id);
    let completed = 0;
    let deadLettered = 0;
    for (const s of known.values()) {
      if (s === 'completed') completed++;
      else if (s === 'dead_lettered') deadLettered++;
    }
    const report: ChaosReport = {
      backend: o.backend,
      phases,
      accepted: known.size + settledInDrain,
      completed,
      deadLettered,
      settledInDrain,
      lost: lostIds.length,
      lostIds: lostIds.slice(0, 100),
      serviceExitCodes: exitCodes,
      load: {
        sent: result.sent,
        answered: result.answered,
        statusCodes: result.statusCodes,
        errorRatePct: result.errorRatePct,
        latencyMs: result.latencyMs,
      },
    };
    o.log(
      `chaos: accepted ${report.accepted}; completed ${completed}; dead-lettered ${deadLettered}` +
        `${o.backend === 'memory' ? `; settled in the restart's drain ${settledInDrain} (exit code ${exitCodes.join(', ')})` : ''}` +
        `; lost ${report.lost}`,
    );
    return report;
  } finally {
    reconciling = false;
    client.close();
    await service.stop('SIGTERM', 30_000);
    await nats?.stop('SIGTERM', 10_000);
    rmSync(dir, { recursive: true, force: true });
  }
}
