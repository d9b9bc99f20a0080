import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadMallocTrim } from '../src/malloc-trim.ts';

const MB = 2 ** 20;
const report = process.report.getReport() as { header: { glibcVersionRuntime?: string } };
const glibc = process.platform === 'linux' && report.header.glibcVersionRuntime !== undefined;

/** A full collection in this process, without starting it with --expose-gc. */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

test('the malloc-trim addon is built where glibc is (npm ci builds it), and only there', () => {
  const trim = loadMallocTrim();
  if (glibc) assert.equal(typeof trim, 'function', 'build/malloc-trim.node missing: run npm ci (needs cc)');
  else assert.equal(trim, undefined);
});

test('malloc_trim gives back the pages freed inside malloc’s heap, which glibc keeps by itself', async () => {
  const trim = loadMallocTrim();
  if (!glibc) {
    assert.equal(trim, undefined);
    return;
  }
  assert.ok(trim !== undefined);
  // 80 MB in 4 KB buffers (malloc'd, below the mmap threshold), one in sixteen kept alive so the
  // heap cannot simply shrink from its top once the others are freed.
  let buffers: Buffer[] | undefined = [];
  for (let i = 0; i < 20_000; i++) buffers.push(Buffer.allocUnsafeSlow(4096).fill(1));
  const kept = buffers.filter((_, i) => i % 16 === 0);
  buffers = undefined;
  fullGc();
  await new Promise((resolve) => setImmediate(resolve));
  const freed = process.memoryUsage.rss();
  assert.equal(trim(), true, 'malloc_trim returned no pages');
  const trimmed = process.memoryUsage.rss();
  assert.ok(
    freed - trimmed >= 40 * MB,
    `RSS ${(freed / MB).toFixed(1)} → ${(trimmed / MB).toFixed(1)} MB: expected at least 40 MB back`,
  );
  assert.equal(kept.length, 1250);
  assert.ok(
    kept.every((b) => b[4095] === 1),
    'the kept buffers are intact',
  );
});
