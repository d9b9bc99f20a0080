/**
 * Builds the optional native addon, native/malloc-trim.c → build/malloc-trim.node, with the
 * system's C compiler ($CC, else cc) and the Node-API headers of the `node-api-headers` package.
 * Run by `npm ci` / `npm install` (the prepare script) and by `npm run build`.
 *
 * Optional by design: on another platform or C library, without a compiler or without the
 * headers, it says why in one line and exits 0; the service then runs its idle compaction without
 * returning malloc's free pages (`/info` shows `malloc_trim: false`). `--require` makes any of
 * those a failure instead (exit 1), for a check that the addon is really there. An addon newer
 * than its source is left as it is (npm start builds before every start), and a failed rebuild
 * leaves the one that was there.
 *
 * Plain JavaScript, not TypeScript: npm may run it with a Node.js older than the project's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'native', 'malloc-trim.c');
const target = join(root, 'build', 'malloc-trim.node');
const required = process.argv.includes('--require');

function skip(reason) {
  process.stderr.write(`native/build.mjs: malloc-trim not built: ${reason}\n`);
  process.exit(required ? 1 : 0);
}

if (process.platform !== 'linux') skip(`malloc_trim is glibc's, this is ${process.platform}`);
if (process.report?.getReport().header.glibcVersionRuntime === undefined) {
  skip('this C library is not glibc (malloc_trim is glibc only)');
}

let include;
try {
  include = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  skip('the node-api-headers package is not installed (a devDependency)');
}

if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) process.exit(0);

const cc = process.env.CC || 'cc';
const partial = `${target}.${process.pid}.tmp`;
mkdirSync(join(root, 'build'), { recursive: true });
const compile = spawnSync(
  cc,
  ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-I', include, '-o', partial, source],
  { encoding: 'utf8' },
);
if (compile.error !== undefined || compile.status !== 0) {
  rmSync(partial, { force: true });
  const why = compile.error?.message ?? compile.stderr.trim().split('\n').slice(0, 3).join(' / ');
  skip(`${cc} failed: ${why}`);
}
// Renamed into place only once whole, so a running service never loads a half-written file.
renameSync(partial, target);
