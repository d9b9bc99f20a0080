import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { ROOT } from './process.ts';

/**
 * A copy of the working tree (tracked and untracked files, not the ignored ones) in a temporary
 * directory, with the repository's node_modules linked in; removed when the test ends. For tests
 * that build, pack or write a `.env`, so the checkout they run in is left as it was.
 */
export function copyOfTree(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tps-tree-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  for (const file of files.split('\0')) {
    // A tracked file deleted in the working tree is still listed.
    if (file === '' || !existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}
