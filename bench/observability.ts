/**
 * The cost of full observability: the service's accepted POST /signal per second with traces
 * exported (to a local OTLP sink) and its Prometheus endpoint scraped every second, against the same
 * service with neither, side by side in one run. A third target exports a trace for every signal
 * (no per-second cap), to show what the default cap saves.
 *
 *   npm run build && node bench/observability.ts [--rounds 3] [--duration 8] [--json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../cli/net.ts';

interface AutocannonResult {
  readonly requests: { readonly total: number };
  readonly non2xx: number;
  readonly duration: number;
}
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BODY = '{"signal_type":"report","priority":3,"payload":{"data":[1,2,3]}}';
const GOAL_COST = 0.15;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const duration = Number(args.duration);
const out = args.json ? process.stderr : process.stdout;
const say = (line = '') => out.write(`${line}\n`);

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** An OTLP/HTTP sink in a process of its own: takes every export and answers 200. */
async function otlpSink(): Promise<string> {
  const port = await freePort();
  const code = `require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('{}')); }).listen(${port}, '127.0.0.1')`;
  children.push(spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
  await sleep(300);
  return `http://127.0.0.1:${port}`;
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly metrics: string | undefined;
  readonly rates: number[];
}

async function service(name: string, env: Record<string, string>, scrape: boolean): Promise<Target> {
  const [http, metrics] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HTTP_PORT: String(http),
      METRICS_PORT: String(metrics),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: 'ignore',
  });
  children.push(child);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name}: the service exited (run npm run build first)`);
    const ok = await fetch(`http://127.0.0.1:${http}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(50);
  }
  return {
    name,
    url: `http://127.0.0.1:${http}/signal`,
    metrics: scrape ? `http://127.0.0.1:${metrics}/metrics` : undefined,
    rates: [],
  };
}

const load = (url: string, seconds: number) =>
  autocannon({
    url,
    method: 'POST',
    connections: 50,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: BODY,
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

const sink = await otlpSink();
const targets = [
  await service('off', {}, false),
  await service('on', { OTEL_EXPORTER_OTLP_ENDPOINT: sink }, true),
  await service(
    'on, every signal traced',
    { OTEL_EXPORTER_OTLP_ENDPOINT: sink, TPS_TRACE_MAX_PER_SEC: '0' },
    true,
  ),
];
let scraping = true;
const scrapers = targets.map(async (t) => {
  while (scraping && t.metrics !== undefined) {
    await fetch(t.metrics).then(
      (r) => r.text(),
      () => '',
    );
    await sleep(1000);
  }
});

say('TPS Reference System: the cost of full observability');
say(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, node ${process.version}`);
say(
  `off: no trace exporter, no scraping. on: OTLP/HTTP export to a local sink (defaults: every new trace sampled, up to 100 a second) and /metrics scraped every second. ${rounds} rounds × ${duration} s, 50 connections, report signals, 4 workers × 64 cards, alternating; accepted (202) per second.`,
);
for (const t of targets) await load(t.url, 2);
for (let round = 1; round <= rounds; round++) {
  for (const t of targets) {
    const r = await load(t.url, duration);
    const accepted = (r.requests.total - r.non2xx) / r.duration;
    t.rates.push(accepted);
    const refused = r.non2xx ? ` (${r.non2xx} not accepted)` : '';
    say(`round ${round} ${t.name.padEnd(24)} ${fmt(accepted).padStart(7)} accepted/s${refused}`);
  }
}
scraping = false;
await Promise.all(scrapers);
const [off, on, all] = targets.map((t) => median(t.rates)) as [number, number, number];
const cost = (x: number) => `${(x / off).toFixed(2)} of off, cost ${((1 - x / off) * 100).toFixed(1)} %`;
const verdict = 1 - on / off <= GOAL_COST ? 'PASS' : 'FAIL';
say();
say(`off                        ${fmt(off).padStart(7)} accepted/s (median)`);
say(
  `on (defaults)              ${fmt(on).padStart(7)} accepted/s: ${cost(on)} (goal ≤ ${GOAL_COST * 100} %: ${verdict})`,
);
say(`on, every signal traced    ${fmt(all).padStart(7)} accepted/s: ${cost(all)}`);
if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ rounds, duration, rates: Object.fromEntries(targets.map((t) => [t.name, t.rates])), median: { off, on, all } })}\n`,
  );
}
process.exit(0);
