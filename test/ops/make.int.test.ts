import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyOfTree } from '../checkout.ts';
import { eventually, freePorts, ROOT, startService } from '../process.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment of a command the tests run: this process's, without what an outer `make` (the
 * suite itself runs under `make test`) passes to the makes it starts.
 */
function environment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_TEST_CONTEXT: '', ...extra };
  for (const name of ['MAKELEVEL', 'MAKEFLAGS', 'MFLAGS']) delete env[name];
  return env;
}

/** Runs a command in the repository; never throws on a non-zero exit. */
function run(file: string, args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd: ROOT, timeout: timeoutMs, env: environment(env) },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Where a command is on this machine's PATH. */
const which = (name: string) =>
  execFileSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();

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
  test('has every documented target, each listed by make help', async () => {
    const help = await make('help');
    assert.equal(help.code, 0, help.stderr);
    const listed = new Set([...help.stdout.matchAll(/^\s+make (\S+)/gm)].map((m) => m[1]));
    const targets = ['up', 'down', 'test', 'load', 'spike', 'stress', 'chaos', 'health', 'metrics', 'info'];
    targets.push('status', 'dashboard', 'traces', 'logs', 'logs-system', 'logs-nats', 'logs-rabbitmq');
    targets.push('build', 'clean', 'profile', 'run', 'test-deps');
    for (const target of targets) assert.ok(listed.has(target), `make help lists ${target}`);
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

  test('make test checks the Debian packages before npm ci and the tests', async () => {
    // -W package.json: as if it had changed, so the npm ci step shows too.
    const dry = await run('make', ['-s', '-n', '-W', 'package.json', 'test']);
    assert.equal(dry.code, 0, dry.stderr);
    const steps = dry.stdout.trimEnd().split('\n');
    const at = (command: string) => steps.findIndex((line) => line.trim() === command);
    assert.ok(at('scripts/test-deps.sh') >= 0, dry.stdout);
    assert.ok(at('scripts/test-deps.sh') < at('npm ci'), dry.stdout);
    assert.ok(at('npm ci') < at('npm test'), dry.stdout);
  });

  test('make test without promtool stops at once, before any test, with the one line that says what to install', async (t) => {
    // A PATH with everything make test needs but promtool.
    const bin = mkdtempSync(join(tmpdir(), 'tps-make-path-'));
    t.after(() => rmSync(bin, { recursive: true, force: true }));
    for (const name of ['make', 'bash', 'npm', 'cc', 'openssl', 'prometheus', 'apt-get']) {
      symlinkSync(which(name), join(bin, name));
    }
    const r = await run(which('make'), ['-s', 'test'], 20_000, { PATH: bin, INSTALL_TEST_DEPS: 'no' });
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(
      lines[0] as string,
      /^make test: missing Debian packages: prometheus; install them with: .*apt-get install -y prometheus$/,
    );
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[1] as string, /^make: \*\*\* \[Makefile:\d+: test-deps\] Error 1$/);
    assert.equal(r.stdout, '', 'no step of the tests ran');
  });

  test('make load against no service says so in one line and stops at once', async () => {
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    const r = await make('load', `TPS_URL=${url}`, 'ARGS=--duration 600');
    assert.equal(r.code, 2, 'make reports the failed target');
    assert.match(r.stderr, new RegExp(`^tps: nothing answers at ${url} \\(ECONNREFUSED\\)`));
    assert.match(r.stderr, /\[Makefile:\d+: load\] Error 3/);
  });

  test('make run reads .env when there is one; a variable set in the shell wins over it', async (t) => {
    const tree = copyOfTree(t);
    const [fromFile, metricsInFile, metricsInShell] = (await freePorts(3)) as [number, number, number];
    writeFileSync(
      join(tree, '.env'),
      `HTTP_PORT=${fromFile}\nMETRICS_PORT=${metricsInFile}\nLOG_LEVEL=warn\n`,
    );
    const env = environment({ METRICS_PORT: String(metricsInShell) });
    delete env.HTTP_PORT;
    delete env.NODE_TEST_CONTEXT;
    // Its own process group, so the whole of make → npm → node stops with the test.
    const child = spawn('make', ['-s', '-o', 'install', 'run'], {
      cwd: tree,
      env,
      detached: true,
      stdio: 'pipe',
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    const exited = new Promise((done) => child.once('exit', done));
    t.after(async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      await exited;
    });
    const answers = async (port: number, path: string) =>
      (await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined))?.status === 200;
    await eventually(
      () => answers(fromFile, '/health'),
      () => `the service on .env's HTTP_PORT\n${output}`,
      60_000,
      100,
    );
    assert.equal(await answers(metricsInShell, '/metrics'), true, "the shell's METRICS_PORT");
    assert.equal(await answers(metricsInFile, '/metrics'), false, ".env's METRICS_PORT lost to the shell's");
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
