/**
 * `tps`: load, spike, stress and chaos runs against a TPS service, with the SPEC §5 verdict.
 *
 *   node cli/tps.ts load   [--rate 100]  [--duration 60] [--type validate]
 *   node cli/tps.ts spike  [--rate 1000] [--duration 10] [--type execute]
 *   node cli/tps.ts stress [--rate 500]  [--duration 30] [--type validate]
 *   node cli/tps.ts run    [--rate 100]  [--duration 10] [--type validate]
 *   node cli/tps.ts chaos  [--rate 100]  [--phase 8] [--backend memory|nats]
 *   common: --url http://127.0.0.1:8080 --mode complete|accept --priority N --token T
 *           --json --report FILE.html --quiet --fail-on yellow|red
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos.ts';
import { runLoad } from './load.ts';
import { renderHtmlReport } from './report-html.ts';
import type { RunResult } from './result.ts';
import { progressLine, summary } from './summary.ts';

/** The seed's scenarios (SPEC §5): rate per second, length in seconds, and signal type. */
export const SCENARIOS: Readonly<Record<string, { rate: number; duration: number; type: string }>> = {
  load: { rate: 100, duration: 60, type: 'validate' },
  spike: { rate: 1000, duration: 10, type: 'execute' },
  stress: { rate: 500, duration: 30, type: 'validate' },
  run: { rate: 100, duration: 10, type: 'validate' },
};

const USAGE = `usage: tps <load|spike|stress|run|chaos> [options]
  --url URL          the service (default http://127.0.0.1:8080, or TPS_URL)
  --rate N           requests per second (load 100, spike 1000, stress 500)
  --duration SECS    length (load 60, spike 10, stress 30)
  --type TYPE        signal type (load/stress validate, spike execute)
  --mode MODE        complete (each request waits for its signal: Prefer: wait) or accept (202 only)
  --priority N       1 (critical) to 4 (low); default 3
  --token TOKEN      bearer token when the service has AUTH_ENABLED (or TPS_TOKEN)
  --json             print the result as JSON on stdout
  --report FILE      write a self-contained HTML report
  --quiet            no progress line
  --fail-on LEVEL    exit 1 when the verdict is this level or worse (yellow, red)
run: 10 s of 100/s validate unless told otherwise (for your own rates and types)
chaos (starts its own service; the options above do not apply, except --rate, --json, --quiet):
  --phase SECS       length of each fault phase (default 8)
  --backend NAME     memory or nats: the service chaos starts and restarts (default memory)`;

function fail(message: string, code = 2): never {
  process.stderr.write(`tps: ${message}\n${code === 2 ? `${USAGE}\n` : ''}`);
  process.exit(code);
}

function positive(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, got "${raw}"`);
  return n;
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    type: { type: 'string' },
    mode: { type: 'string' },
    priority: { type: 'string' },
    token: { type: 'string' },
    json: { type: 'boolean', default: false },
    report: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    'fail-on': { type: 'string' },
    phase: { type: 'string' },
    backend: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const command = positionals[0];
if (command === undefined || (command !== 'chaos' && SCENARIOS[command] === undefined)) {
  fail(command === undefined ? 'name a scenario' : `unknown scenario "${command}"`);
}
const mode = args.mode ?? 'complete';
if (mode !== 'complete' && mode !== 'accept') fail(`--mode must be complete or accept, got "${mode}"`);
const failOn = args['fail-on'];
if (failOn !== undefined && failOn !== 'yellow' && failOn !== 'red') {
  fail(`--fail-on must be yellow or red, got "${failOn}"`);
}
const priority = positive(args.priority, 'priority', 3);
if (!Number.isInteger(priority) || priority > 4) fail(`--priority must be 1 to 4, got "${args.priority}"`);
const token = args.token ?? process.env.TPS_TOKEN;
const tty = process.stderr.isTTY === true;

// Options that do not apply to the scenario are refused rather than silently ignored.
const CHAOS_ONLY = ['phase', 'backend'] as const;
const LOAD_ONLY = ['url', 'duration', 'type', 'mode', 'priority', 'token', 'report', 'fail-on'] as const;
for (const name of command === 'chaos' ? LOAD_ONLY : CHAOS_ONLY) {
  if (args[name] !== undefined) fail(`--${name} does not apply to ${command}`);
}

let result: RunResult | undefined;
if (command === 'chaos') {
  const backend = args.backend ?? 'memory';
  if (backend !== 'memory' && backend !== 'nats') fail(`--backend must be memory or nats, got "${backend}"`);
  const report = await runChaos({
    rate: positive(args.rate, 'rate', 100),
    phaseSecs: positive(args.phase, 'phase', 8),
    backend,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  if (report.accepted === 0) fail('chaos: the service accepted no signal, so nothing was tested', 1);
  process.exit(report.lost === 0 ? 0 : 1);
} else {
  const scenario = SCENARIOS[command] as { rate: number; duration: number; type: string };
  const url = args.url ?? process.env.TPS_URL ?? 'http://127.0.0.1:8080';
  try {
    new URL(url);
  } catch {
    fail(`--url is not a URL: "${url}"`);
  }
  const duration = positive(args.duration, 'duration', scenario.duration);
  let errors = 0;
  result = await runLoad({
    url,
    scenario: command,
    signalType: args.type ?? scenario.type,
    rate: positive(args.rate, 'rate', scenario.rate),
    durationSecs: duration,
    mode,
    priority,
    token,
    onTick: (tick, sent, p99) => {
      errors += tick.errors;
      if (args.quiet) return;
      const line = progressLine(tick, Math.ceil(duration), sent, p99, errors);
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else if (tick.t % 5 === 0) process.stderr.write(`${line}\n`);
    },
  });
  if (tty && !args.quiet) process.stderr.write('\n');
  if (result.sent > 0 && (result.statusCodes.error ?? 0) === result.sent) {
    fail(`no answer from ${url}: is the service running? (make run)`, 3);
  }
  process.stderr.write(`${summary(result)}\n`);
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  if (args.report !== undefined) {
    writeFileSync(args.report, renderHtmlReport(result));
    process.stderr.write(`report written to ${args.report}\n`);
  }
  const level = result.verdict.level;
  const failed = (failOn === 'yellow' && level !== 'GREEN') || (failOn === 'red' && level === 'RED');
  process.exit(failed ? 1 : 0);
}
