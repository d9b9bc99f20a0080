import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/**
 * What loading the service costs: modules it must not load, each of which would sit in memory
 * for the life of the process. Checked in a fresh process (this one has loaded other things).
 */
function loadedBy(entry: string): string[] {
  const script = `await import(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(process.moduleLoadList));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as string[];
}

test("loading the service does not load Node.js's bundled fetch client (undici)", () => {
  const loaded = loadedBy('./src/service.ts');
  assert.ok(loaded.length > 100, 'the module list was read');
  assert.deepEqual(
    loaded.filter((m) => m.includes('undici')),
    [],
  );
});
