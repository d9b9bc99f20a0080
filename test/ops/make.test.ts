import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePorts, ROOT, startService } from '../process.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command in the repository; never throws on a non-zero exit. */
function run(file: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, NODE_TEST_CONTEXT: '' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** `make` without reinstalling: the suite already runs on installed dependencies. */
const make = (...args: string[]) => run('make', ['-s', '-o', 'install', ...args]);

/** Whether this machine has Docker Compose (v2 plugin or v1), as the Makefile looks for it. */
const dockerCompose = [
  ['docker', 'compose', 'version'],
  ['docker-compose', 'version'],
].some(([file, ...args]) => {
  try {
    execFileSync(file as string, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

describe('Makefile', () => {
  test("has every target of the seed's guide, each listed by make help", async () => {
    const help = await make('help');
    assert.equal(help.code, 0, help.stderr);
    const listed = new Set([...help.stdout.matchAll(/^\s+make (\S+)/gm)].map((m) => m[1]));
    const seed = ['up', 'down', 'test', 'load', 'spike', 'stress', 'chaos', 'health', 'metrics', 'info'];
    seed.push('status', 'dashboard', 'traces', 'logs', 'logs-system', 'logs-nats', 'logs-rabbitmq');
    seed.push('build', 'clean', 'profile', 'run');
    for (const target of seed) assert.ok(listed.has(target), `make help lists ${target}`);
  });

  test('the Docker targets drive Docker Compose, or say in one line that it is missing', async () => {
    for (const target of ['up', 'down', 'logs', 'logs-system', 'logs-nats', 'logs-rabbitmq', 'build']) {
      if (dockerCompose) {
        const dry = await make('-n', target);
        assert.match(dry.stdout, /docker[ -]compose (up|down|logs|build)/, `${target} runs docker compose`);
      } else {
        const r = await make(target);
        assert.notEqual(r.code, 0, `${target} fails without Docker`);
        const lines = r.stderr.split('\n').filter((l) => l.startsWith(`make ${target}:`));
        assert.equal(lines.length, 1, `${target}: one line: ${r.stderr}`);
        assert.match(lines[0] as string, /Docker Compose is not available.*make run/);
      }
    }
  });

  test('health, metrics, info and status read a natively running service', async (t) => {
    const service = await startService(t);
    const url = `TPS_URL=${service.base}`;
    const health = await make('health', url);
    assert.equal(health.code, 0, health.stderr);
    assert.equal((JSON.parse(health.stdout) as { healthy: boolean }).healthy, true);
    const metrics = JSON.parse((await make('metrics', url)).stdout) as Record<string, unknown>;
    assert.equal(typeof metrics.total_processed, 'number');
    const info = JSON.parse((await make('info', url)).stdout) as Record<string, unknown>;
    assert.equal(info.name, 'TPS Reference System');
    const status = JSON.parse((await make('status', url)).stdout) as Record<string, unknown>;
    assert.equal(status.status, 'running');
    assert.ok('andon' in status && 'heijunka' in status);
  });

  test('health against no service exits non-zero and points to make run', async () => {
    const [port] = await freePorts(1);
    const r = await make('health', `TPS_URL=http://127.0.0.1:${port}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no answer from .*make run/);
  });

  test('dashboard and traces print the stack URLs', async () => {
    const dashboard = await make('dashboard');
    assert.match(dashboard.stdout, /Grafana.*localhost:3000/);
    const traces = await make('traces');
    assert.match(traces.stdout, /Jaeger.*localhost:16686/);
  });
});

test('the profile script writes a .cpuprofile of the service under load', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'tps-profile-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = await run(process.execPath, [
    'scripts/profile.ts',
    ...['--script', 'src/main.ts', '--duration', '1', '--rate', '200', '--out', out],
  ]);
  assert.equal(r.code, 0, r.stderr);
  const files = readdirSync(out).filter((f) => f.endsWith('.cpuprofile'));
  assert.equal(files.length, 1);
  const profile = JSON.parse(readFileSync(join(out, files[0] as string), 'utf8')) as {
    nodes: unknown[];
    samples: number[];
  };
  assert.ok(profile.nodes.length > 0 && profile.samples.length > 0, 'the profile has samples');
  assert.match(r.stdout, /self time, top functions:\n\s+\d+\.\d %/);
});
