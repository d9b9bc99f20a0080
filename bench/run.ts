/**
 * The benchmark: the service's sustained `POST /signal` accept rate against a bare Fastify ceiling
 * (`bench/bare-server.ts`), in alternating rounds on one machine; then a memory check on fresh
 * servers after exactly `--memory-signals` requests each at a fixed rate. Both servers run compiled,
 * as in production (`dist/src/main.js`, `dist/bench/bare-server.js`); this script runs from source.
 * See BENCHMARKS.md for how to read the figures.
 *
 *   npm run bench                      # builds, then runs this with the defaults
 *   node bench/run.ts [--type report] [--rounds 5] [--duration 10] [--connections 50] [--warmup 3]
 *                     [--memory-rate 5000] [--memory-signals 100000] [--json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../cli/net.ts';
import { VARIABLES } from '../src/config.ts';

// ---------------------------------------------------------------------------------------------
// autocannon (no type declarations ship with it: the part used here, typed)

interface AutocannonOptions {
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly connections: number;
  readonly duration?: number;
  readonly amount?: number;
  readonly overallRate?: number;
  readonly timeout?: number;
  readonly excludeErrorStats?: boolean;
}

interface AutocannonResult {
  /** Seconds. */
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number };
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  stop(): void;
}

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (options: AutocannonOptions) => AutocannonInstance;

// ---------------------------------------------------------------------------------------------
// options

/** Nominal work time of the demo handlers (src/handlers/demo.ts), ms. */
const WORK_MS = { report: 5, validate: 10, execute: 50 } as const;
type SignalType = keyof typeof WORK_MS;

function isSignalType(raw: string): raw is SignalType {
  return Object.hasOwn(WORK_MS, raw);
}

const USAGE = `usage: node bench/run.ts [options]   (after npm run build; npm run bench does both)
  --type TYPE          signal type sent: report (default), validate or execute
  --rounds N           measured rounds per target, alternating bare / tps (default 5)
  --duration SECS      length of one measured round per target (default 10)
  --connections N      connections autocannon keeps open in the rounds (default 50)
  --warmup SECS        load before the rounds, per target (default 3)
  --memory-rate N      memory check: fixed offered rate, requests/s (default 5000)
  --memory-signals N   memory check: requests sent to each fresh server (default 100000)
  --node-flags=FLAGS   Node.js flags for both servers (default: those of the start script); with
                       the = sign, as the value starts with a dash: --node-flags="--expose-gc"
  --service DIR        measure the service built in another checkout (DIR/dist/src/main.js), e.g. an
                       earlier commit's, against the same bare ceiling
  --json               print one JSON object with every figure on stdout (the report goes to stderr)
  -h, --help           this text`;

function fail(message: string, code: number): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(code);
}

function positiveInt(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    fail(`--${name} expects an integer ≥ ${min}, got ${JSON.stringify(raw)}`, 2);
  return n;
}

const args = parseArgs({
  options: {
    type: { type: 'string', default: 'report' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '3' },
    'memory-rate': { type: 'string', default: '5000' },
    'memory-signals': { type: 'string', default: '100000' },
    'node-flags': { type: 'string' },
    service: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
}).values;

if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const signalType = args.type;
if (!isSignalType(signalType)) {
  fail(`--type expects one of ${Object.keys(WORK_MS).join(', ')}, got ${JSON.stringify(signalType)}`, 2);
}

/** Connections of the memory check: fixed, the offered rate is what matters there. */
const MEMORY_CONNECTIONS = 20;

const options = {
  type: signalType,
  rounds: positiveInt('rounds', args.rounds, 1),
  durationSecs: positiveInt('duration', args.duration, 1),
  connections: positiveInt('connections', args.connections, 1),
  warmupSecs: positiveInt('warmup', args.warmup, 0),
  memoryRate: positiveInt('memory-rate', args['memory-rate'], 1),
  memorySignals: positiveInt('memory-signals', args['memory-signals'], MEMORY_CONNECTIONS),
  json: args.json,
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The service measured: this checkout's build, or the one under `--service DIR` (another checkout). */
const SERVICE_JS =
  args.service === undefined ? 'dist/src/main.js' : resolve(args.service, 'dist/src/main.js');
/** Node.js flags both servers run with: by default the ones `npm start` gives the service. */
const NODE_FLAGS = (
  args['node-flags'] ??
  (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  ).scripts.start
    .split(/\s+/)
    .filter((word) => word.startsWith('--'))
    .join(' ')
)
  .split(/\s+/)
  .filter((flag) => flag !== '');
const BARE_JS = 'dist/bench/bare-server.js';

for (const script of [SERVICE_JS, BARE_JS]) {
  if (!existsSync(resolve(ROOT, script))) {
    fail(
      `${script} is missing: run \`npm run build\` first (or \`npm run bench\`, which builds and runs)`,
      2,
    );
  }
}

const BODY = `{"signal_type":"${options.type}","priority":3,"payload":{"data":[1,2,3]}}`;
const HEADERS = { 'content-type': 'application/json' };
/** Share of non-2xx answers past which a service round counts as saturated (429 queue full). */
const SATURATION_SHARE = 0.01;
const RATIO_GOAL = 0.5;
const RSS_GOAL_MB = 110;
/** The number of signals the RSS goal is stated for. */
const RSS_GOAL_SIGNALS = 100_000;
/** Per-round accept rates of the service spread wider than this (max/min) get a warning. */
const SPREAD_WARNING = 1.25;

/** Whole-run limit: the load itself plus generous room for start-ups, drains and shutdowns. */
const RUN_LIMIT_MS =
  (2 * options.warmupSecs +
    2 * options.rounds * (options.durationSecs + 2) +
    2 * 1.5 * (options.memorySignals / options.memoryRate)) *
    1000 +
  240_000;

// ---------------------------------------------------------------------------------------------
// output: the report goes to stdout, or to stderr when stdout carries the JSON

const out = options.json ? process.stderr : process.stdout;

function say(line = ''): void {
  out.write(`${line}\n`);
}

/** Bytes → MB (2^20 bytes), one decimal. */
function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

function fmtMb(x: number | null): string {
  return x === null ? 'n/a' : `${x.toFixed(1)} MB`;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtMs(n: number): string {
  return n.toFixed(n < 10 ? 2 : 1);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? 0) + upper) / 2;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function statusText(codes: Readonly<Record<string, number>>): string {
  const parts = Object.entries(codes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code}×${fmtInt(n)}`);
  return parts.length === 0 ? 'none' : parts.join(' ');
}

// ---------------------------------------------------------------------------------------------
// child processes

interface LogTally {
  lines: number;
  /** Pino JSON lines at warn or above, by `level: msg`. */
  readonly warnings: Map<string, number>;
  readonly tail: string[];
}

interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly stdout: LogTally;
  readonly stderr: LogTally;
  readonly exited: Promise<void>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Set once the bench itself asked the child to stop. */
  stopping: boolean;
}

const children: Child[] = [];
let currentLoad: AutocannonInstance | undefined;

const PINO_LEVELS: Readonly<Record<number, string>> = { 40: 'warn', 50: 'error', 60: 'fatal' };

function tally(stream: NodeJS.ReadableStream | null, log: LogTally): void {
  if (stream === null) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      log.lines++;
      log.tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
      if (log.tail.length > 20) log.tail.shift();
      let key = 'non-JSON output';
      try {
        const entry = JSON.parse(line) as { msg?: unknown };
        // Read pino's level from the text: a later `level` field in the line would win in JSON.parse.
        const n = Number(/^\{"level":(\d+)/.exec(line)?.[1] ?? Number.NaN);
        if (n < 40) continue;
        const level = PINO_LEVELS[n] ?? 'level?';
        key = `${level}: ${typeof entry.msg === 'string' ? entry.msg : '(no msg)'}`;
      } catch {
        // not a JSON log line: counted as non-JSON output
      }
      log.warnings.set(key, (log.warnings.get(key) ?? 0) + 1);
    }
  });
}

function start(name: string, script: string, env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, [...NODE_FLAGS, script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${script}`);
  const newTally = (): LogTally => ({ lines: 0, warnings: new Map(), tail: [] });
  let resolveExit: () => void = () => {};
  const exited = new Promise<void>((resolve) => {
    resolveExit = resolve;
  });
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    stdout: newTally(),
    stderr: newTally(),
    exited,
    exit: undefined,
    stopping: false,
  };
  tally(proc.stdout, child.stdout);
  tally(proc.stderr, child.stderr);
  proc.on('exit', (code, signal) => {
    child.exit = { code, signal };
    resolveExit();
  });
  children.push(child);
  return child;
}

function describeExit(child: Child): string {
  const e = child.exit;
  if (e === undefined) return 'running';
  return e.signal !== null ? `killed by ${e.signal}` : `exit code ${e.code}`;
}

function outputTail(child: Child): string {
  const lines = [...child.stderr.tail, ...child.stdout.tail].slice(-20);
  return lines.length === 0 ? '(no output)' : lines.map((l) => `    ${l}`).join('\n');
}

/** Throws when a child ended on its own: the figures after that would be meaningless. */
function assertAlive(child: Child): void {
  if (child.exit !== undefined && !child.stopping) {
    throw new Error(`${child.name} (pid ${child.pid}) died: ${describeExit(child)}\n${outputTail(child)}`);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the child has exited. */
async function stopChild(child: Child, graceMs: number): Promise<void> {
  if (child.exit !== undefined) return;
  child.stopping = true;
  child.proc.kill('SIGTERM');
  const killer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(killer);
}

let cleaningUp: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    currentLoad?.stop();
    await Promise.all(children.map((c) => stopChild(c, 3000)));
  })();
  return cleaningUp;
}

// Last resort: never leave a child behind, whatever way the bench ends.
process.on('exit', () => {
  for (const c of children) if (c.exit === undefined) c.proc.kill('SIGKILL');
});

async function abort(message: string, code: number): Promise<never> {
  process.stderr.write(`\nbench: ${message}\n`);
  await cleanup();
  process.exit(code);
}

process.on('SIGINT', () => void abort('interrupted (SIGINT); stopping the servers', 130));
process.on('SIGTERM', () => void abort('terminated (SIGTERM); stopping the servers', 143));

const runLimit = setTimeout(
  () => void abort(`the run took longer than ${Math.round(RUN_LIMIT_MS / 1000)} s; giving up`, 1),
  RUN_LIMIT_MS,
);
runLimit.unref();

// ---------------------------------------------------------------------------------------------
// HTTP and /proc helpers

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok && response.status !== 503) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

interface Health {
  readonly queue_depth: number;
  readonly in_flight: number;
}

interface Metrics {
  readonly total_processed: number;
  readonly error_count: number;
}

interface Info {
  readonly memory: {
    readonly rss_bytes: number;
    readonly heap_used_bytes: number;
    readonly heap_total_bytes: number;
    readonly external_bytes: number;
    readonly idle_compaction: {
      readonly enabled: boolean;
      readonly compactions: number;
      readonly due: boolean;
    };
  };
  readonly config: Readonly<Record<string, string | number | boolean>>;
}

/**
 * VmRSS once the service has settled after its load: after the idle compaction that follows it
 * (TPS_IDLE_COMPACT_SECS of quiet) when one is due, or, when none is due or none comes within that
 * and 5 s more, as it is then.
 * Null when the service does not compact (started without --expose-gc).
 */
async function settledMemory(target: Target): Promise<{ vmrss_mb: number | null; waited_ms: number } | null> {
  const info = await getJson<Info>(`${target.base}/info`);
  if (!info.memory.idle_compaction.enabled) return null;
  if (!info.memory.idle_compaction.due) return { vmrss_mb: readMemory(target).vmrss_mb, waited_ms: 0 };
  const before = info.memory.idle_compaction.compactions;
  const quietSecs = Number(info.config.idle_compact_secs);
  const t0 = performance.now();
  const deadline = t0 + (quietSecs + 5) * 1000;
  while (performance.now() < deadline) {
    await sleep(250);
    const now = await getJson<Info>(`${target.base}/info`);
    if (now.memory.idle_compaction.compactions > before) break;
  }
  return { vmrss_mb: readMemory(target).vmrss_mb, waited_ms: Math.round(performance.now() - t0) };
}

/** Polls `probe` until it answers true; fails if the child dies or `timeoutMs` passes. */
async function waitUntil(
  child: Child,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    assertAlive(child);
    try {
      if (await probe()) return performance.now() - started;
    } catch {
      // not answering yet
    }
    if (performance.now() - started > timeoutMs) {
      throw new Error(
        `${child.name}: ${what} not reached within ${timeoutMs / 1000} s\n${outputTail(child)}`,
      );
    }
    await sleep(100);
  }
}

/** VmRSS and VmHWM (its peak over the process's life), in bytes, from /proc (Linux only). */
function procMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => {
      const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
      return match === null ? Number.NaN : Number(match[1]) * 1024;
    };
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process has used, from /proc (Linux only; assumes 100 ticks/s). */
function procCpuSecs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Newest modification time (ms) of the files under `dir`, recursively. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

// ---------------------------------------------------------------------------------------------
// the two targets

type TargetName = 'bare' | 'tps';

interface Target {
  readonly name: TargetName;
  readonly label: string;
  readonly child: Child;
  readonly base: string;
}

function serviceEnv(httpPort: number, metricsPort: number): NodeJS.ProcessEnv {
  // The service's defaults, whatever the caller's shell exports: drop every variable it reads.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const v of VARIABLES) delete env[v.env];
  return { ...env, HTTP_PORT: String(httpPort), METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn' };
}

/** Starts a bare server and a service, waits until both answer, and says so. */
async function startTargets(phase: string): Promise<{ bare: Target; tps: Target }> {
  const [barePort, tpsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const bare: Target = {
    name: 'bare',
    label: 'bare Fastify',
    child: start(`bare server (${phase})`, BARE_JS, { ...process.env, HTTP_PORT: String(barePort) }),
    base: `http://127.0.0.1:${barePort}`,
  };
  const tps: Target = {
    name: 'tps',
    label: 'TPS service',
    child: start(`TPS service (${phase})`, SERVICE_JS, serviceEnv(tpsPort, metricsPort)),
    base: `http://127.0.0.1:${tpsPort}`,
  };
  // Probed with GET so that no POST /signal is sent outside the measured load: the bare server
  // answers 404 (it has no other route), which is enough to show it listens.
  const bareReadyMs = await waitUntil(
    bare.child,
    'readiness (any HTTP answer)',
    async () => {
      await (await fetch(`${bare.base}/`)).arrayBuffer();
      return true;
    },
    20_000,
  );
  const tpsReadyMs = await waitUntil(
    tps.child,
    'readiness (GET /health → 200)',
    async () => {
      const r = await fetch(`${tps.base}/health`);
      await r.arrayBuffer();
      return r.status === 200;
    },
    20_000,
  );
  say(`${phase}: bare Fastify pid ${bare.child.pid} ready in ${fmtInt(bareReadyMs)} ms (${BARE_JS})`);
  say(`${phase}: TPS service pid ${tps.child.pid} ready in ${fmtInt(tpsReadyMs)} ms (${SERVICE_JS})`);
  return { bare, tps };
}

/** Stops both; the service gets time for its shutdown drain. Returns the service's exit. */
async function stopTargets(t: { bare: Target; tps: Target }): Promise<string> {
  await Promise.all([stopChild(t.bare.child, 5000), stopChild(t.tps.child, 35_000)]);
  const code = t.tps.child.exit?.code;
  return `${describeExit(t.tps.child)}${code === 0 ? ' (every accepted signal settled)' : ''}`;
}

async function drained(tps: Target, timeoutMs: number): Promise<number> {
  return waitUntil(
    tps.child,
    'an empty queue (queue_depth 0, in_flight 0)',
    async () => {
      const h = await getJson<Health>(`${tps.base}/health`);
      return h.queue_depth === 0 && h.in_flight === 0;
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------
// load

interface LoadResult {
  readonly durationSecs: number;
  readonly responses: number;
  /** 202 responses. */
  readonly accepted: number;
  readonly non2xx: number;
  readonly statusCodes: Record<string, number>;
  readonly errors: number;
  readonly timeouts: number;
  /** All responses per second: how fast the client got answered. */
  readonly offeredPerSec: number;
  /** 202 responses per second. */
  readonly acceptedPerSec: number;
  /** Latency of the 2xx responses, ms. */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyMaxMs: number;
}

type LoadSpec =
  | { readonly durationSecs: number; readonly connections: number }
  | { readonly amount: number; readonly overallRate: number; readonly connections: number };

async function load(target: Target, spec: LoadSpec): Promise<LoadResult> {
  const instance = autocannon({
    url: `${target.base}/signal`,
    method: 'POST',
    headers: HEADERS,
    body: BODY,
    connections: spec.connections,
    ...('amount' in spec
      ? { amount: spec.amount, overallRate: spec.overallRate }
      : { duration: spec.durationSecs }),
    timeout: 10,
    // Latency figures are those of the 2xx answers: a fast 429 is not a served request.
    excludeErrorStats: true,
  });
  currentLoad = instance;
  let result: AutocannonResult;
  try {
    result = await instance;
  } finally {
    currentLoad = undefined;
  }
  assertAlive(target.child);
  const statusCodes: Record<string, number> = {};
  let responses = 0;
  for (const [code, stats] of Object.entries(result.statusCodeStats)) {
    statusCodes[code] = stats.count;
    responses += stats.count;
  }
  const accepted = statusCodes['202'] ?? 0;
  const secs = result.duration > 0 ? result.duration : 1;
  return {
    durationSecs: result.duration,
    responses,
    accepted,
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    offeredPerSec: responses / secs,
    acceptedPerSec: accepted / secs,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
  };
}

// ---------------------------------------------------------------------------------------------
// phase 1: throughput rounds

interface RoundRecord extends LoadResult {
  readonly target: TargetName;
  readonly round: number;
  /** tps only: signals the service finished during the round, per second. */
  readonly processedPerSec?: number;
  /** The server's VmRSS right after the round, MB. */
  readonly rssAfterMb?: number;
  /** CPU time of the server process over the round, percent of one core. */
  readonly serverCpuPct?: number;
  /** CPU time of this process (autocannon) over the round, percent of one core. */
  readonly loadgenCpuPct: number;
}

async function measureRound(target: Target, round: number): Promise<RoundRecord> {
  let processedBefore: number | undefined;
  if (target.name === 'tps') {
    // Every service round starts with an empty queue.
    await drained(target, 30_000);
    processedBefore = (await getJson<Metrics>(`${target.base}/metrics`)).total_processed;
  }
  const cpuBefore = procCpuSecs(target.child.pid);
  const benchCpuBefore = process.cpuUsage();
  const r = await load(target, { durationSecs: options.durationSecs, connections: options.connections });
  const cpuAfter = procCpuSecs(target.child.pid);
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const secs = r.durationSecs || 1;
  const mem = procMemory(target.child.pid);
  const record: RoundRecord = {
    target: target.name,
    round,
    ...r,
    ...(processedBefore !== undefined
      ? {
          processedPerSec:
            ((await getJson<Metrics>(`${target.base}/metrics`)).total_processed - processedBefore) / secs,
        }
      : {}),
    ...(mem !== undefined ? { rssAfterMb: mb(mem.rss) } : {}),
    ...(cpuBefore !== undefined && cpuAfter !== undefined
      ? { serverCpuPct: Math.round(((cpuAfter - cpuBefore) / secs) * 100) }
      : {}),
    loadgenCpuPct: Math.round(((benchCpu.user + benchCpu.system) / 1e6 / secs) * 100),
  };
  const parts = [
    `accepted ${fmtInt(r.acceptedPerSec).padStart(6)}/s`,
    `offered ${fmtInt(r.offeredPerSec).padStart(6)} req/s`,
    `p50 ${fmtMs(r.latencyP50Ms)} ms`,
    `p99 ${fmtMs(r.latencyP99Ms)} ms`,
    statusText(r.statusCodes),
  ];
  if (r.errors > 0) parts.push(`${r.errors} errors (${r.timeouts} timeouts)`);
  if (record.processedPerSec !== undefined) parts.push(`processed ${fmtInt(record.processedPerSec)}/s`);
  if (record.serverCpuPct !== undefined) parts.push(`server CPU ${record.serverCpuPct} %`);
  parts.push(`autocannon CPU ${record.loadgenCpuPct} %`);
  if (record.rssAfterMb !== undefined) parts.push(`RSS ${fmtMb(record.rssAfterMb)}`);
  say(`round ${round} ${target.label.padEnd(12)} ${parts.join(', ')}`);
  return record;
}

function summarize(rounds: readonly RoundRecord[], name: TargetName) {
  const mine = rounds.filter((r) => r.target === name);
  const statusCodes: Record<string, number> = {};
  for (const r of mine) {
    for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  }
  const accepted = mine.map((r) => Math.round(r.acceptedPerSec));
  const responses = mine.reduce((s, r) => s + r.responses, 0);
  const non2xx = mine.reduce((s, r) => s + r.non2xx, 0);
  return {
    rounds: mine.length,
    accepted_per_sec_median: Math.round(median(accepted)),
    accepted_per_sec_min: Math.min(...accepted),
    accepted_per_sec_max: Math.max(...accepted),
    accepted_per_sec_rounds: accepted,
    offered_per_sec_median: Math.round(median(mine.map((r) => r.offeredPerSec))),
    latency_p50_ms_median: median(mine.map((r) => r.latencyP50Ms)),
    latency_p99_ms_median: median(mine.map((r) => r.latencyP99Ms)),
    latency_max_ms: Math.max(...mine.map((r) => r.latencyMaxMs)),
    responses,
    non2xx,
    non2xx_share: responses > 0 ? non2xx / responses : 0,
    errors: mine.reduce((s, r) => s + r.errors, 0),
    status_codes: statusCodes,
    processed_per_sec_median:
      name === 'tps' ? Math.round(median(mine.map((r) => r.processedPerSec ?? 0))) : undefined,
    server_cpu_pct_median: Math.round(median(mine.map((r) => r.serverCpuPct ?? 0))),
    loadgen_cpu_pct_median: Math.round(median(mine.map((r) => r.loadgenCpuPct))),
  };
}

// ---------------------------------------------------------------------------------------------
// phase 2: memory after a fixed number of requests at a fixed rate

interface MemoryReading {
  readonly idle_vmrss_mb: number | null;
  readonly sent: number;
  readonly accepted_202: number;
  readonly status_codes: Record<string, number>;
  readonly errors: number;
  /** The rate autocannon actually achieved (requests answered / seconds). */
  readonly achieved_rate: number;
  readonly vmrss_mb: number | null;
  readonly vmhwm_mb: number | null;
}

/** Refused requests are sent again, this many times at most, until every one was accepted. */
const MEMORY_PASSES = 5;

async function memoryLoad(
  target: Target,
): Promise<Omit<MemoryReading, 'idle_vmrss_mb' | 'vmrss_mb' | 'vmhwm_mb'>> {
  const statusCodes: Record<string, number> = {};
  let accepted = 0;
  let errors = 0;
  let responses = 0;
  let seconds = 0;
  for (let pass = 1; pass <= MEMORY_PASSES && accepted < options.memorySignals; pass++) {
    const r = await load(target, {
      amount: options.memorySignals - accepted,
      overallRate: options.memoryRate,
      connections: MEMORY_CONNECTIONS,
    });
    accepted += r.accepted;
    errors += r.errors;
    responses += r.responses;
    seconds += r.durationSecs;
    for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
    const refused = r.responses - r.accepted + r.errors;
    say(
      `  ${target.label.padEnd(12)} ${pass === 1 ? '' : `pass ${pass}: `}${fmtInt(r.responses)} answers in ${r.durationSecs.toFixed(1)} s (${fmtInt(r.offeredPerSec)}/s): ${statusText(r.statusCodes)}${r.errors > 0 ? `, ${r.errors} errors` : ''}`,
    );
    if (refused > 0 && pass === 1) {
      // httpClient.js in autocannon 9: a per-connection budget per second, reset by a 1-s interval.
      say(
        `  NOTE: ${target.label} did not accept ${fmtInt(refused)} of the requests; they are sent again. autocannon paces per second: each connection sends its share of the second's ${fmtInt(options.memoryRate)} back to back, then waits for the next second, so the server gets bursts at full speed, not an even rate; a 429 here means a burst outran the WIP limit plus the queue`,
      );
    }
  }
  return {
    sent: responses,
    accepted_202: accepted,
    status_codes: statusCodes,
    errors,
    achieved_rate: Math.round(responses / (seconds > 0 ? seconds : 1)),
  };
}

function readMemory(target: Target): { vmrss_mb: number | null; vmhwm_mb: number | null } {
  const m = procMemory(target.child.pid);
  return { vmrss_mb: m !== undefined ? mb(m.rss) : null, vmhwm_mb: m !== undefined ? mb(m.peak) : null };
}

// ---------------------------------------------------------------------------------------------
// the run

function machine() {
  const cpus = os.cpus();
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cpu_count: cpus.length,
    total_memory_mb: Math.round(os.totalmem() / 1024 / 1024),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node_version: process.version,
    node_flags: NODE_FLAGS.join(' '),
    fastify_version: version('fastify'),
    autocannon_version: version('autocannon'),
  };
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const host = machine();
  say('TPS Reference System: POST /signal benchmark');
  say(
    `machine: ${host.cpu_model} × ${host.cpu_count} CPUs, ${fmtInt(host.total_memory_mb)} MB RAM, ${host.os}`,
  );
  say(
    `runtime: node ${host.node_version}, fastify ${host.fastify_version}, autocannon ${host.autocannon_version}; server flags: ${NODE_FLAGS.join(' ') || '(none)'}`,
  );
  say('note: autocannon (in this process), the ceiling and the service share this machine’s CPUs');
  const distAge = Math.min(
    statSync(resolve(ROOT, SERVICE_JS)).mtimeMs,
    statSync(join(ROOT, BARE_JS)).mtimeMs,
  );
  if (
    (args.service === undefined && newestMtime(join(ROOT, 'src')) > distAge) ||
    statSync(join(ROOT, 'bench/bare-server.ts')).mtimeMs > distAge
  ) {
    say('WARNING: dist/ is older than the sources: run `npm run build` (or `npm run bench`) to measure them');
  }
  say();

  // ---- phase 1: alternating max-rate rounds
  say(
    `== throughput: ${options.connections} connections, ${options.warmupSecs} s warm-up, ${options.rounds} × ${options.durationSecs} s rounds per target, alternating ==`,
  );
  say(`body ${BODY}`);
  const first = await startTargets('rounds');
  const info = await getJson<Info>(`${first.tps.base}/info`);
  const cfg = info.config;
  const workers = Math.max(Number(cfg.num_workers), Number(cfg.heijunka_pool));
  const cards = Number(cfg.worker_cards);
  const capacity = (type: SignalType) => (workers * cards * 1000) / WORK_MS[type];
  const capacityPerSec = capacity(options.type);
  say(
    `service config: ${workers} workers × ${cards} cards = ${workers * cards} signals in flight at most, queue capacity ${cfg.kanban_buffer}`,
  );
  say(
    `signal type ${options.type} (~${WORK_MS[options.type]} ms of work each): the workers can process at most ${fmtInt(capacityPerSec)} signals/s`,
  );
  say(
    `  why report by default: validate (~${WORK_MS.validate} ms) can be processed at most ${fmtInt(capacity('validate'))}/s, below what the HTTP path accepts, so a validate run measures the WIP limit (the surplus correctly gets 429), not the accept path; report (~${WORK_MS.report} ms, ${fmtInt(capacity('report'))}/s) keeps up, so its sustained accept rate is CPU-bound`,
  );
  say();

  // Warm-up: JIT, connection pools, the service's queue and histograms.
  for (const target of [first.bare, first.tps]) {
    if (options.warmupSecs === 0) break;
    const w = await load(target, { durationSecs: options.warmupSecs, connections: options.connections });
    say(
      `warm-up ${target.label.padEnd(12)} ${fmtInt(w.acceptedPerSec)} accepted/s, ${fmtInt(w.offeredPerSec)} req/s offered (${statusText(w.statusCodes)})`,
    );
  }
  say();

  // Measured rounds, alternating so that drift (thermal, neighbours) hits both alike.
  const rounds: RoundRecord[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const target of [first.bare, first.tps]) {
      rounds.push(await measureRound(target, round));
      await sleep(500);
    }
  }
  const peak = { tps: readMemory(first.tps).vmhwm_mb, bare: readMemory(first.bare).vmhwm_mb };
  const roundsExit = await stopTargets(first);
  const roundsLogs = [...first.tps.child.stdout.warnings, ...first.tps.child.stderr.warnings];

  const bareSummary = summarize(rounds, 'bare');
  const tpsSummary = summarize(rounds, 'tps');
  const ratio =
    bareSummary.accepted_per_sec_median > 0
      ? tpsSummary.accepted_per_sec_median / bareSummary.accepted_per_sec_median
      : 0;
  const roundRatios = tpsSummary.accepted_per_sec_rounds.map((t, i) => {
    const b = bareSummary.accepted_per_sec_rounds[i] ?? 0;
    return b > 0 ? t / b : 0;
  });
  const roundRatioMedian = median(roundRatios);
  const saturatedRounds = rounds.filter(
    (r) => r.target === 'tps' && r.responses > 0 && r.non2xx / r.responses > SATURATION_SHARE,
  );
  const spread =
    tpsSummary.accepted_per_sec_min > 0
      ? tpsSummary.accepted_per_sec_max / tpsSummary.accepted_per_sec_min
      : 0;
  const fiveXx = Object.entries(tpsSummary.status_codes)
    .filter(([code]) => code.startsWith('5'))
    .reduce((s, [, n]) => s + n, 0);

  // ---- phase 2: memory on fresh servers
  say();
  say(
    `== memory: fresh servers, exactly ${fmtInt(options.memorySignals)} POST /signal each at ${fmtInt(options.memoryRate)}/s offered, ${MEMORY_CONNECTIONS} connections ==`,
  );
  const second = await startTargets('memory');
  const bareIdle = readMemory(second.bare).vmrss_mb;
  const tpsIdle = readMemory(second.tps).vmrss_mb;
  say(`  idle after start: bare Fastify ${fmtMb(bareIdle)}, TPS service ${fmtMb(tpsIdle)} (VmRSS)`);
  const bareLoad = await memoryLoad(second.bare);
  const bareMemory: MemoryReading = { idle_vmrss_mb: bareIdle, ...bareLoad, ...readMemory(second.bare) };
  const tpsLoad = await memoryLoad(second.tps);
  const drainMs = await drained(second.tps, 60_000);
  const processedMs = await waitUntil(
    second.tps.child,
    `total_processed ≥ ${fmtInt(tpsLoad.accepted_202)}`,
    async () =>
      (await getJson<Metrics>(`${second.tps.base}/metrics`)).total_processed >= tpsLoad.accepted_202,
    60_000,
  );
  const metrics = await getJson<Metrics>(`${second.tps.base}/metrics`);
  const tpsMemory: MemoryReading = { idle_vmrss_mb: tpsIdle, ...tpsLoad, ...readMemory(second.tps) };
  const heap = (await getJson<Info>(`${second.tps.base}/info`)).memory;
  say(
    `  service drained in ${fmtInt(drainMs + processedMs)} ms: total_processed ${fmtInt(metrics.total_processed)} (${fmtInt(metrics.error_count)} failed)`,
  );
  const settled = await settledMemory(second.tps);
  if (settled !== null) {
    say(
      `  service settled ${fmtInt(settled.waited_ms)} ms later: VmRSS ${fmtMb(settled.vmrss_mb)} (idle compaction)`,
    );
  }
  const memoryExit = await stopTargets(second);
  const memoryLogs = [...second.tps.child.stdout.warnings, ...second.tps.child.stderr.warnings];

  const diffMb =
    tpsMemory.vmrss_mb !== null && bareMemory.vmrss_mb !== null
      ? Math.round((tpsMemory.vmrss_mb - bareMemory.vmrss_mb) * 10) / 10
      : null;
  const goalApplies =
    options.memorySignals === RSS_GOAL_SIGNALS && tpsMemory.accepted_202 === RSS_GOAL_SIGNALS;
  // Judged on the settled reading when the service compacts (the memory target is a steady-state
  // one), else on the reading right after the drain; both are printed.
  const judgedMb = settled?.vmrss_mb ?? tpsMemory.vmrss_mb;
  const rssPass = goalApplies && judgedMb !== null ? judgedMb <= RSS_GOAL_MB : null;

  // ---- summary
  say();
  say('== summary ==');
  say(
    `machine: ${host.cpu_model} × ${host.cpu_count}, ${fmtInt(host.total_memory_mb)} MB, node ${host.node_version}, fastify ${host.fastify_version}; both servers compiled (dist/)`,
  );
  say(
    `signal type ${options.type}; ${options.rounds} rounds × ${options.durationSecs} s per target, ${options.connections} connections; medians over rounds; latency of 2xx answers; CPU in % of one core`,
  );
  say();
  const row = (label: string, s: typeof bareSummary) => [
    label,
    fmtInt(s.accepted_per_sec_median),
    `${fmtInt(s.accepted_per_sec_min)}–${fmtInt(s.accepted_per_sec_max)}`,
    fmtInt(s.offered_per_sec_median),
    fmtMs(s.latency_p50_ms_median),
    fmtMs(s.latency_p99_ms_median),
    `${fmtInt(s.non2xx)} (${(s.non2xx_share * 100).toFixed(1)} %)`,
    fmtInt(s.errors),
    `${s.server_cpu_pct_median} %`,
    `${s.loadgen_cpu_pct_median} %`,
  ];
  say(
    table(
      [
        'target',
        'accepted/s',
        'min–max',
        'offered req/s',
        'p50 ms',
        'p99 ms',
        'non-2xx',
        'errors',
        'server CPU',
        'autocannon CPU',
      ],
      [row('bare Fastify', bareSummary), row('TPS service', tpsSummary)],
    ),
  );
  say();
  say(
    `accepted/s per round: bare ${bareSummary.accepted_per_sec_rounds.map(fmtInt).join(', ')}; tps ${tpsSummary.accepted_per_sec_rounds.map(fmtInt).join(', ')}`,
  );
  say(
    `tps processed/s during the rounds (median): ${fmtInt(tpsSummary.processed_per_sec_median ?? 0)} (at most ${fmtInt(capacityPerSec)}/s for ${options.type})`,
  );
  say(
    `status codes: bare ${statusText(bareSummary.status_codes)}; tps ${statusText(tpsSummary.status_codes)}`,
  );
  say();
  say(
    `RATIO tps/bare of median accepted/s: ${ratio.toFixed(3)}  (goal ≥ ${RATIO_GOAL}: ${ratio >= RATIO_GOAL ? 'PASS' : 'FAIL'})`,
  );
  say(
    `  per round (tps round i / bare round i): ${roundRatios.map((x) => x.toFixed(3)).join(', ')}; median ${roundRatioMedian.toFixed(3)}`,
  );
  if (saturatedRounds.length > 0) {
    say(
      `  NOTE: the service's queue saturated (429 queue full) in ${saturatedRounds.length} of ${options.rounds} rounds; ${(tpsSummary.non2xx_share * 100).toFixed(1)} % of its answers were non-2xx (${statusText(tpsSummary.status_codes)}).`,
    );
    say(
      `  In those rounds the accept rate is bounded by the WIP limit (${fmtInt(capacityPerSec)}/s for ${options.type}), not by the HTTP path:`,
    );
    for (const r of saturatedRounds) {
      say(
        `    round ${r.round}: offered ${fmtInt(r.offeredPerSec)} req/s, accepted ${fmtInt(r.acceptedPerSec)}/s, processed ${fmtInt(r.processedPerSec ?? 0)}/s, ${((r.non2xx / r.responses) * 100).toFixed(1)} % non-2xx`,
      );
    }
  } else {
    say(`  (the service's queue did not saturate: ${(tpsSummary.non2xx_share * 100).toFixed(2)} % non-2xx)`);
  }
  if (fiveXx > 0) say(`  WARNING: the service answered ${fmtInt(fiveXx)} 5xx responses under load`);
  if (spread > SPREAD_WARNING) {
    say(
      `  WARNING: the service's accept rate is not steady across rounds (max/min ${spread.toFixed(2)}: ${tpsSummary.accepted_per_sec_rounds.map(fmtInt).join(' → ')}/s)`,
    );
  }
  say();
  say(
    `MEMORY (VmRSS) after ${fmtInt(options.memorySignals)} POST /signal at ${fmtInt(options.memoryRate)}/s, fresh servers, service queue drained:`,
  );
  const diff = (a: number | null, b: number | null) =>
    a === null || b === null ? 'n/a' : `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(1)} MB`;
  say(
    table(
      ['', 'bare Fastify', 'TPS service', 'tps − bare'],
      [
        [
          'idle after start',
          fmtMb(bareMemory.idle_vmrss_mb),
          fmtMb(tpsMemory.idle_vmrss_mb),
          diff(tpsIdle, bareIdle),
        ],
        [
          `after ${fmtInt(options.memorySignals)}, queue drained`,
          fmtMb(bareMemory.vmrss_mb),
          fmtMb(tpsMemory.vmrss_mb),
          diff(tpsMemory.vmrss_mb, bareMemory.vmrss_mb),
        ],
        ['then settled (idle compaction)', '', fmtMb(settled?.vmrss_mb ?? null), ''],
        ['accepted (202)', fmtInt(bareMemory.accepted_202), fmtInt(tpsMemory.accepted_202), ''],
        [
          'achieved rate',
          `${fmtInt(bareMemory.achieved_rate)}/s`,
          `${fmtInt(tpsMemory.achieved_rate)}/s`,
          '',
        ],
      ],
    ),
  );
  say(
    `  service heap: used ${fmtMb(mb(heap.heap_used_bytes))} of ${fmtMb(mb(heap.heap_total_bytes))} total, external ${fmtMb(mb(heap.external_bytes))} (/info)`,
  );
  if (rssPass === null) {
    say(
      `  goal service RSS ≤ ${RSS_GOAL_MB} MB after ${fmtInt(RSS_GOAL_SIGNALS)} signals: not judged (this run: ${fmtInt(tpsMemory.accepted_202)} accepted of ${fmtInt(options.memorySignals)} sent)`,
    );
  } else {
    say(
      `  goal service RSS ≤ ${RSS_GOAL_MB} MB after ${fmtInt(RSS_GOAL_SIGNALS)} signals: ${rssPass ? 'PASS' : 'FAIL'} (${fmtMb(judgedMb)}, ${settled?.vmrss_mb != null ? 'settled' : 'right after the drain'})`,
    );
  }
  say(
    `peak under saturation (VmHWM over warm-up and max-rate rounds): TPS service ${fmtMb(peak.tps)}, bare Fastify ${fmtMb(peak.bare)}`,
  );
  say();
  say(`service shutdown (SIGTERM): after the rounds ${roundsExit}; after the memory check ${memoryExit}`);
  const logs = new Map<string, number>();
  for (const [k, n] of [...roundsLogs, ...memoryLogs]) logs.set(k, (logs.get(k) ?? 0) + n);
  say(
    `service log at warn or above: ${logs.size === 0 ? 'nothing' : [...logs].map(([k, n]) => `${JSON.stringify(k)} ×${fmtInt(n)}`).join(', ')}`,
  );
  const totalSecs = Math.round((performance.now() - startedAt) / 100) / 10;
  say(`total bench time: ${totalSecs} s`);

  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          machine: host,
          options: {
            type: options.type,
            rounds: options.rounds,
            duration_secs: options.durationSecs,
            connections: options.connections,
            warmup_secs: options.warmupSecs,
            memory_rate: options.memoryRate,
            memory_signals: options.memorySignals,
            memory_connections: MEMORY_CONNECTIONS,
            body: BODY,
          },
          service: {
            workers,
            cards_per_worker: cards,
            queue_capacity: cfg.kanban_buffer,
            work_ms: WORK_MS[options.type],
            capacity_per_sec: capacityPerSec,
          },
          rounds,
          bare: bareSummary,
          tps: tpsSummary,
          ratio: {
            of_medians: ratio,
            per_round: roundRatios,
            per_round_median: roundRatioMedian,
            goal: RATIO_GOAL,
            pass: ratio >= RATIO_GOAL,
            saturated_rounds: saturatedRounds.map((r) => r.round),
            tps_round_spread: spread,
            five_xx: fiveXx,
          },
          peak_under_saturation_vmhwm_mb: peak,
          memory: {
            signals: options.memorySignals,
            rate: options.memoryRate,
            bare: bareMemory,
            tps: {
              ...tpsMemory,
              total_processed: metrics.total_processed,
              error_count: metrics.error_count,
              heap_used_mb: mb(heap.heap_used_bytes),
              heap_total_mb: mb(heap.heap_total_bytes),
              external_mb: mb(heap.external_bytes),
              settled_vmrss_mb: settled?.vmrss_mb ?? null,
              settled_after_ms: settled?.waited_ms ?? null,
            },
            difference_mb: diffMb,
            goal_mb: RSS_GOAL_MB,
            pass: rssPass,
          },
          service_exit: { rounds: roundsExit, memory: memoryExit },
          service_log_warnings: Object.fromEntries(logs),
          total_secs: totalSecs,
        },
        null,
        2,
      )}\n`,
    );
  }
}

try {
  await main();
  clearTimeout(runLimit);
  await cleanup();
} catch (error) {
  await abort(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
}
