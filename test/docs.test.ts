import assert from 'node:assert/strict';
import { existsSync, globSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { CONFIG_DOC, envExample, withConfigTable } from '../scripts/config-docs.ts';
import { VARIABLES } from '../src/config.ts';

const root = join(import.meta.dirname, '..');
const read = (name: string) => readFileSync(join(root, name), 'utf8');

/** Folders that hold what the repository does not write itself. */
const NOT_OURS = new Set(['node_modules', '.git', 'dist', 'build', 'coverage', 'test-artifacts', 'profiles']);
const markdownFiles = (): string[] =>
  globSync('**/*.md', { cwd: root, exclude: (path) => NOT_OURS.has(basename(path)) }).sort();

/** The documents a reader follows links through: the README, the benchmarks, and docs/. */
const linkedDocs = (): string[] =>
  ['README.md', 'BENCHMARKS.md', ...globSync('docs/*.md', { cwd: root }).sort()].filter((f) =>
    existsSync(join(root, f)),
  );

/** The text outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug((text as string).replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every link target in `markdown`: inline links, images, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const defined = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]);
  return [...inline, ...defined] as string[];
}

test('the configuration table in docs/configuration.md lists exactly the variables the code reads', () => {
  const doc = read(CONFIG_DOC);
  assert.equal(doc, withConfigTable(doc), `${CONFIG_DOC} is stale: run npm run docs`);
  for (const v of VARIABLES) assert.ok(doc.includes(`\`${v.env}\``), v.env);
});

test('.env.example lists every variable with its default', () => {
  assert.equal(read('.env.example'), envExample(), '.env.example is stale: run npm run docs');
});

test('the README quick start is the two make commands, and both targets exist', () => {
  const readme = read('README.md');
  assert.match(readme, /make run {4}#/);
  assert.match(readme, /make test {3}#/);
  const makefile = read('Makefile');
  assert.match(makefile, /^run: /m);
  assert.match(makefile, /^test: /m);
});

test("the README's first screen names the six principles and both ports", () => {
  const firstScreen = read('README.md').split('\n').slice(0, 60).join('\n');
  for (const word of ['Jidoka', 'Kanban', 'Andon', 'Kaizen', 'Heijunka', 'Tracing', '8080', '9090']) {
    assert.ok(firstScreen.includes(word), `${word} in the README's first 60 lines`);
  }
});

test('every relative link in the README, BENCHMARKS.md and docs/ points to a file (and heading) that exists', () => {
  const broken: string[] = [];
  for (const file of linkedDocs()) {
    for (const target of linkTargets(read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not in the repository
      const [path = '', anchor] = target.split('#', 2);
      const resolved = path === '' ? join(root, file) : join(root, dirname(file), decodeURIComponent(path));
      const name = relative(root, resolved);
      if (!existsSync(resolved)) {
        broken.push(`${file}: ${target} (no ${name})`);
        continue;
      }
      const headed = anchor !== undefined && statSync(resolved).isFile() && resolved.endsWith('.md');
      if (headed && !anchors(readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${file}: ${target} (no heading #${anchor} in ${name})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('no Markdown file refers to a document the repository does not have', () => {
  const files = markdownFiles();
  assert.ok(files.includes('README.md') && files.includes(CONFIG_DOC), 'the search finds the documents');
  const found: string[] = [];
  for (const file of files) {
    read(file)
      .split('\n')
      .forEach((line, i) => {
        if (/SPEC §|\bthe seed\b|\bthe guide\b/i.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, []);
});
