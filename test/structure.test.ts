/**
 * The shape of src/: no import cycle between files, and none between folders (a principle's
 * folder never needs one that needs it back). Imports are read from the source text, type-only
 * ones included: a cycle of types is still a cycle for a reader. madge finds file cycles only and
 * brings ~120 packages and a second TypeScript; these few lines do both checks.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { test } from 'node:test';

const SRC = join(import.meta.dirname, '..', 'src');
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each file of src/ (relative) with the files of src/ it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) =>
      relative(SRC, normalize(join(dirname(file), (m[1] ?? m[2]) as string))),
    );
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the path that closes it. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const found: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node);
  return found;
}

/** The folder of src/ a file is in; top-level files (the shared vocabulary, the wiring) have none. */
function folderOf(file: string): string | undefined {
  const parts = file.split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

test('no file of src/ imports itself through others', () => {
  const found = cycles(importGraph()).map((c) => c.join(' → '));
  assert.deepEqual(found, []);
});

test('no two folders of src/ import each other, directly or through others', () => {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of importGraph()) {
    const from = folderOf(file);
    if (from === undefined) continue;
    for (const target of targets) {
      const to = folderOf(target);
      if (to === undefined || to === from) continue;
      if (!folders.has(from)) folders.set(from, new Set());
      folders.get(from)?.add(to);
    }
  }
  const graph = new Map([...folders].map(([k, v]) => [k, [...v]]));
  assert.deepEqual(
    cycles(graph).map((c) => c.join(' → ')),
    [],
  );
});

test('the cycle finder finds a cycle of three', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
  ]);
  assert.deepEqual(cycles(graph), [['a', 'b', 'c', 'a']]);
});
