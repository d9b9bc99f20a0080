import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { ROOT } from '../process.ts';

const SCRIPT = join(ROOT, 'scripts', 'test-deps.sh');
/** Every command the script looks for, and the Debian package that brings it. */
const COMMANDS = {
  npm: 'npm',
  promtool: 'prometheus',
  prometheus: 'prometheus',
  cc: 'gcc',
  openssl: 'openssl',
};

interface Run {
  /** null when the script was killed for outliving the bound. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A directory to be the whole PATH, holding stand-ins (that do nothing) for `commands`, and a
 * stand-in Chromium; removed when the test ends.
 */
function fakeBin(t: TestContext, commands: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tps-test-deps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of [...commands, 'chromium'])
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return dir;
}

/** Runs the script as make does, with only `path` on PATH; it must end within seconds. */
function check(path: string, env: Record<string, string> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.CC;
  delete base.INSTALL_TEST_DEPS;
  return new Promise((done) => {
    execFile(
      '/bin/bash',
      [SCRIPT],
      {
        cwd: ROOT,
        timeout: 10_000,
        env: { ...base, PATH: path, TPS_TEST_CHROMIUM: join(path, 'chromium'), ...env },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        done({ code, stdout, stderr });
      },
    );
  });
}

const root = process.getuid?.() === 0;
const sudo = root ? '' : 'sudo ';

describe('make test: the Debian packages the tests need', () => {
  test('with all of them present it says nothing and lets the tests run', async (t) => {
    const r = await check(fakeBin(t, Object.keys(COMMANDS)));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('without promtool, and told not to install, one line names the package and its install command', async (t) => {
    const dir = fakeBin(t, ['npm', 'prometheus', 'cc', 'openssl', 'apt-get']);
    const r = await check(dir, { INSTALL_TEST_DEPS: 'no' });
    assert.equal(r.code, 1, `exits non-zero within seconds: ${r.code}`);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      `make test: missing Debian packages: prometheus; install them with: ${sudo}apt-get update && ${sudo}apt-get install -y prometheus`,
    ]);
  });

  test('names every missing package in one line, and the same line without apt-get', async (t) => {
    const withApt = await check(fakeBin(t, ['apt-get']), {
      INSTALL_TEST_DEPS: 'no',
      TPS_TEST_CHROMIUM: '/nonexistent/chromium',
    });
    assert.equal(withApt.code, 1);
    const line = withApt.stderr.trimEnd();
    assert.ok(!line.includes('\n'), `one line: ${line}`);
    assert.match(
      line,
      /^make test: missing Debian packages: npm, prometheus, chromium, gcc, (libc6-dev, )?openssl;/,
    );
    assert.match(line, /apt-get install -y npm prometheus chromium gcc (libc6-dev )?openssl$/);

    const withoutApt = await check(fakeBin(t, []), { INSTALL_TEST_DEPS: 'no' });
    assert.equal(withoutApt.code, 1);
    assert.match(
      withoutApt.stderr,
      /^make test: missing Debian packages: npm, prometheus, gcc, (libc6-dev, )?openssl; install them \(or their equivalents\) with this system's package manager\n$/,
    );
  });

  test(
    root
      ? 'as root it installs the missing packages with apt-get, updating the lists when it must'
      : 'as another user it installs nothing and names the command with sudo',
    async (t) => {
      const dir = fakeBin(t, ['npm', 'cc', 'openssl']);
      // A stand-in apt-get: `install` fails until `update` ran (a fresh machine has no lists),
      // then brings promtool and prometheus.
      writeFileSync(
        join(dir, 'apt-get'),
        [
          '#!/bin/sh',
          `echo "$*" >> "${dir}/apt-calls"`,
          `case "$1" in update) : > "${dir}/updated" ;; install)`,
          `  [ -f "${dir}/updated" ] || { echo "E: Unable to locate package prometheus" >&2; exit 100; }`,
          `  for c in promtool prometheus; do /bin/ln -s "${dir}/npm" "${dir}/$c"; done ;; esac`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      // The install path keeps apt-get's output in a temporary file.
      for (const name of ['mktemp', 'rm']) {
        symlinkSync(
          execFileSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim(),
          join(dir, name),
        );
      }
      const r = await check(dir);
      if (root) {
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.stderr.trimEnd().split('\n'), [
          'make test: installing the Debian packages prometheus (apt-get)',
        ]);
        assert.deepEqual(readFileSync(join(dir, 'apt-calls'), 'utf8').trimEnd().split('\n'), [
          'install -y prometheus',
          'update',
          'install -y prometheus',
        ]);
      } else {
        assert.equal(r.code, 1);
        assert.match(r.stderr, /sudo apt-get install -y prometheus\n$/);
      }
    },
  );
});
