import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { copyOfTree } from '../checkout.ts';
import { freePorts, ROOT, startService } from '../process.ts';

interface Run {
  /** null when the process was killed (it outlived `timeoutMs`). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command and never throws on its exit code. The project's Node.js comes first on PATH,
 * as under npm, so `#!/usr/bin/env node` finds it.
 */
function run(file: string, args: readonly string[], cwd = ROOT, timeoutMs = 60_000): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  };
  delete env.NODE_TEST_CONTEXT;
  delete env.TPS_URL;
  return new Promise((done) => {
    execFile(file, [...args], { cwd, env, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      done({ code, stdout, stderr });
    });
  });
}

const tps = (...args: string[]) => run(process.execPath, ['cli/bin.js', ...args]);

/** The lines of a stream's output, without the final newline. */
const lines = (text: string) => text.replace(/\n$/, '').split('\n');

/** A server that answers every request with `status` and records what it was asked. */
async function recorder(t: TestContext, status: number) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('tps command line', () => {
  test('--help and -h print the usage on stdout and exit 0', async () => {
    for (const args of [
      ['--help'],
      ['-h'],
      ['help'],
      ['load', '--rate', '5', '--help'],
      ['load', '--bogus', '-h'],
    ]) {
      const r = await tps(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: tps <load\|spike\|stress\|run\|chaos> \[options\]\n/);
      assert.match(r.stdout, /--fail-on LEVEL/);
      assert.equal(r.stderr, '');
    }
  });

  test('a usage error is one line on stderr with exit code 2, never a stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['load', '--bogus'], /unknown option --bogus/],
      [['load', '-x'], /unknown option -x/],
      [['lod'], /unknown scenario "lod": expected load, spike, stress, run or chaos/],
      [[], /name a scenario/],
      [['load', 'now'], /unexpected argument "now"/],
      [['load', '--rate', 'fast'], /--rate must be a positive number, got "fast"/],
      [['load', '--rate', '0'], /--rate must be a positive number, got "0"/],
      [['load', '--rate'], /--rate needs a value/],
      [['load', '--json=yes'], /--json takes no value/],
      [['spike', '--mode', 'sync'], /--mode must be complete or accept, got "sync"/],
      [['stress', '--priority', '9'], /--priority must be 1 to 4, got "9"/],
      [['run', '--fail-on', 'green'], /--fail-on must be yellow or red, got "green"/],
      [['run', '--url', 'not a url'], /--url is not a URL: "not a url"/],
      [['run', '--url', 'ftp://127.0.0.1'], /--url must be an http or https URL/],
      [['chaos', '--backend', 'kafka'], /--backend must be memory or nats, got "kafka"/],
      [['chaos', '--url', 'http://127.0.0.1:1'], /--url does not apply to chaos/],
      [['load', '--phase', '3'], /--phase does not apply to load/],
    ];
    for (const [args, message] of cases) {
      const r = await tps(...args);
      const what = `tps ${args.join(' ')}`;
      assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, `${what}: one line:\n${r.stderr}`);
      assert.match(r.stderr, /^tps: /, what);
      assert.match(r.stderr, message, what);
      assert.match(r.stderr, /tps --help/, `${what} points to the usage`);
      assert.equal(r.stdout, '', what);
    }
  });

  test('checks that the service answers before sending: nothing listening is one line naming the URL, exit 3, at once', async () => {
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    // A run of ten minutes, and the process may live a few seconds: it must not start sending.
    const r = await run(
      process.execPath,
      ['cli/bin.js', 'load', '--url', url, '--duration', '600'],
      ROOT,
      20_000,
    );
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(lines(r.stderr), [
      `tps: nothing answers at ${url} (ECONNREFUSED): is the service running? Start it with make run`,
    ]);
    assert.equal(r.stdout, '');
  });

  test('refuses a URL whose GET /health is a 404, having sent nothing else', async (t) => {
    const other = await recorder(t, 404);
    const r = await run(
      process.execPath,
      ['cli/bin.js', 'load', '--url', other.url, '--duration', '600'],
      ROOT,
      20_000,
    );
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(lines(r.stderr), [
      `tps: ${other.url} answers, but GET /health is a 404: is it a TPS service?`,
    ]);
    assert.deepEqual(other.seen, ['GET /health']);
  });

  test('a service that answers /health, even unhealthy (503), gets its run', async (t) => {
    const unhealthy = await recorder(t, 503);
    const r = await tps('run', '--url', unhealthy.url, '--rate', '20', '--duration', '1', '--mode', 'accept');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(unhealthy.seen.filter((s) => s === 'POST /signal').length, 20);
    assert.match(r.stderr, /VERDICT RED/);
  });
});

describe('tps as a command', () => {
  test('npx tps runs it in a clone after npm ci, and so does npm run tps', async () => {
    const npx = await run('npx', ['tps', '--help']);
    assert.equal(npx.code, 0, npx.stderr);
    assert.match(npx.stdout, /^usage: tps /);
    const npm = await run('npm', ['run', '-s', 'tps', '--', 'load', '--bogus']);
    assert.equal(npm.code, 2, npm.stderr);
    assert.match(npm.stderr, /^tps: unknown option --bogus/);
  });

  test('an installed package runs tps from its compiled JavaScript', async (t) => {
    const tree = copyOfTree(t);
    const packed = await run('npm', ['pack', '--silent'], tree, 120_000);
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = join(tree, lines(packed.stdout).at(-1) as string);
    const app = join(tree, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    const install = await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball],
      app,
      180_000,
    );
    assert.equal(install.code, 0, install.stderr);
    const pkg = join(app, 'node_modules', 'tps-reference-system');
    // Node.js strips no types under node_modules: only compiled JavaScript can run there.
    assert.deepEqual(
      readdirSync(join(pkg, 'cli')),
      ['bin.js'],
      'the package carries the launcher and no TypeScript source',
    );
    assert.ok(existsSync(join(pkg, 'dist', 'cli', 'tps.js')));

    const help = await run('npx', ['tps', '--help'], app);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: tps /);
    const bin = join(app, 'node_modules', '.bin', 'tps');
    const usage = await run(bin, ['spike', '--rate', 'lots'], app);
    assert.equal(usage.code, 2);
    assert.deepEqual(lines(usage.stderr).length, 1, usage.stderr);

    const service = await startService(t, { env: { LOG_LEVEL: 'warn' } });
    const r = await run(
      bin,
      ['run', '--url', service.base, '--rate', '20', '--duration', '1', '--mode', 'accept', '--json'],
      app,
    );
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { sent: number; statusCodes: Record<string, number> };
    assert.equal(result.sent, 20);
    assert.equal(result.statusCodes['202'], 20);
  });
});
