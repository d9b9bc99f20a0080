/**
 * `make profile`: runs the compiled service under V8's CPU profiler while the load tool drives
 * signals at it, stops it gracefully, and writes the profile to `profiles/` as a `.cpuprofile`
 * (open it in Chrome DevTools' Performance panel, or drop it on speedscope). The functions with
 * the most self time are printed.
 *
 *   node scripts/profile.ts [--rate 2000] [--duration 15] [--type report] [--out profiles]
 *                           [--script dist/src/main.js]
 *   (after npm run build; make profile builds first)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { runLoad } from '../cli/load.ts';
import { freePort } from '../cli/net.ts';

const ROOT = resolve(import.meta.dirname, '..');

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '15' },
    type: { type: 'string', default: 'report' },
    out: { type: 'string', default: 'profiles' },
    top: { type: 'string', default: '15' },
    /** What to profile: the compiled service (default), or its sources (src/main.ts). */
    script: { type: 'string', default: 'dist/src/main.js' },
  },
});
const rate = Number(args.rate);
const duration = Number(args.duration);
const top = Number(args.top);
const SERVICE = args.script;
for (const [name, n] of [
  ['rate', rate],
  ['duration', duration],
  ['top', top],
] as const) {
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`profile: --${name} must be a positive number\n`);
    process.exit(2);
  }
}
if (!existsSync(join(ROOT, SERVICE))) {
  process.stderr.write(`profile: ${SERVICE} is missing: run \`npm run build\` first (make profile does)\n`);
  process.exit(2);
}
const outDir = resolve(ROOT, args.out);
mkdirSync(outDir, { recursive: true });

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

/** Self time by function, largest first: [share of samples, "name (file:line)"]. */
function hottest(profile: CpuProfile, count: number): [number, string][] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const file =
      frame.url === ''
        ? ''
        : ` (${frame.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '')}:${frame.lineNumber + 1})`;
    const key = `${frame.functionName || '(anonymous)'}${file}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length || 1;
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, n]) => [n / total, name]);
}

const [httpPort, metricsPort] = [await freePort(), await freePort()];
const started = Date.now();
const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${outDir}`, SERVICE], {
  cwd: ROOT,
  env: { ...process.env, HTTP_PORT: String(httpPort), METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
const url = `http://127.0.0.1:${httpPort}`;

let healthy = false;
for (let i = 0; i < 100 && !healthy && child.exitCode === null; i++) {
  healthy = await fetch(`${url}/health`).then(
    (r) => r.ok,
    () => false,
  );
  if (!healthy) await sleep(100);
}
if (!healthy) {
  child.kill('SIGKILL');
  process.stderr.write('profile: the service did not become healthy\n');
  process.exit(1);
}

process.stderr.write(
  `profile: ${args.type} at ${rate}/s for ${duration} s against the profiled service (pid ${child.pid})\n`,
);
const result = await runLoad({
  url,
  scenario: 'profile',
  signalType: args.type,
  rate,
  durationSecs: duration,
  mode: 'accept',
});
process.stderr.write(
  `profile: sent ${result.sent}, answered ${result.answered}, p99 ${result.latencyMs.p99} ms; stopping the service\n`,
);
child.kill('SIGTERM');
const code = await exited;

const written = readdirSync(outDir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => join(outDir, f))
  .filter((f) => statSync(f).mtimeMs >= started)
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
if (written === undefined) {
  process.stderr.write(`profile: no .cpuprofile was written (service exit code ${code})\n`);
  process.exit(1);
}
const profile = JSON.parse(readFileSync(written, 'utf8')) as CpuProfile;
process.stdout.write(`wrote ${relative(process.cwd(), written)} (${profile.samples.length} samples)\n`);
process.stdout.write('self time, top functions:\n');
for (const [share, name] of hottest(profile, top)) {
  process.stdout.write(`${(share * 100).toFixed(1).padStart(6)} %  ${name}\n`);
}
process.exit(code === 0 ? 0 : 1);
