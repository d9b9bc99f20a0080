/**
 * Writes src/http/schemas.gen.ts: every schema of src/http/schemas.ts (written with TypeBox) as
 * the plain JSON Schema object it stands for, typed as the TypeBox type. The routes take their
 * schemas from there, so the running service never loads TypeBox (its whole type system is
 * ~3 MB of heap and ~6 MB of resident memory); the request and reply types still come from
 * TypeBox. `--check` only reports whether the file is current (exit 1 when not);
 * test/http/schemas.test.ts checks the same on every test run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as S from '../src/http/schemas.ts';

const root = join(import.meta.dirname, '..');
const target = join(root, 'src', 'http', 'schemas.gen.ts');
const relative = 'src/http/schemas.gen.ts';

/** The schema-building functions of schemas.ts and their parameters, which stay parameters. */
export const FUNCTIONS: Readonly<Record<string, readonly string[]>> = {
  signalBodySchema: ['maxTimeoutMs', 'defaultTimeoutMs'],
};

/** Numbers no schema holds, passed for a function's parameters and replaced by their names. */
const SENTINEL_BASE = 987_650_000;

/** How many times each object is reached from the exported schemas (TypeBox shares subschemas). */
function references(roots: readonly unknown[]): Map<object, number> {
  const counts = new Map<object, number>();
  const walk = (value: unknown): void => {
    if (value === null || typeof value !== 'object') return;
    const n = (counts.get(value) ?? 0) + 1;
    counts.set(value, n);
    if (n === 1) for (const child of Object.values(value)) walk(child);
  };
  for (const root of roots) walk(root);
  return counts;
}

/**
 * Writes values as JSON (what `JSON.stringify` keeps), except that a subschema the exports share
 * is written once, as a constant (`shared1`, …, declared before its first use), and referred to by
 * name after that: the generated module keeps TypeBox's sharing instead of repeating each copy.
 */
class Emitter {
  readonly #counts: Map<object, number>;
  readonly #names = new Map<object, string>();
  #shared = 0;
  /** Constants declared while writing the current export, to be put before it. */
  pending: string[] = [];

  constructor(counts: Map<object, number>) {
    this.#counts = counts;
  }

  /** The export `name`'s value, written out; later uses of the same object refer to `name`. */
  declare(name: string, value: unknown): string {
    if (value !== null && typeof value === 'object' && !this.#names.has(value)) {
      this.#names.set(value, name);
      return this.#text(value);
    }
    return this.emit(value);
  }

  emit(value: unknown): string {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
    const known = this.#names.get(value);
    if (known !== undefined) return known;
    const text = this.#text(value);
    if ((this.#counts.get(value) ?? 0) < 2) return text;
    const name = `shared${++this.#shared}`;
    this.#names.set(value, name);
    this.pending.push(`const ${name} = ${text};`);
    return name;
  }

  #text(value: object): string {
    return Array.isArray(value)
      ? `[${value.map((v) => this.emit(v)).join(',')}]`
      : `{${Object.entries(value)
          .filter(([, v]) => v !== undefined && typeof v !== 'function')
          .map(([k, v]) => `${JSON.stringify(k)}:${this.emit(v)}`)
          .join(',')}}`;
  }
}

function generated(): string {
  const parts: string[] = [
    '// Generated from src/http/schemas.ts by `npm run schemas` (scripts/schemas.ts): do not edit.\n' +
      '// The same JSON Schemas as plain objects, so the service does not load TypeBox at run time.',
    `import type * as S from './schemas.ts';`,
  ];
  const emitter = new Emitter(references(Object.values(S).filter((v) => typeof v !== 'function')));
  for (const [name, value] of Object.entries(S)) {
    if (typeof value === 'function') {
      const params = FUNCTIONS[name];
      if (params === undefined)
        throw new Error(`schemas.ts exports a function ${name}: list its parameters in FUNCTIONS`);
      const fn = value as (...args: number[]) => unknown;
      let body = JSON.stringify(fn(...params.map((_, i) => SENTINEL_BASE + i)));
      params.forEach((param, i) => {
        body = body.replaceAll(String(SENTINEL_BASE + i), param);
      });
      const signature = params.map((p) => `${p}: number`).join(', ');
      parts.push(
        `export function ${name}(${signature}): ReturnType<typeof S.${name}> {\n` +
          `  return ${body} as unknown as ReturnType<typeof S.${name}>;\n}`,
      );
    } else {
      const text = emitter.declare(name, value);
      parts.push(...emitter.pending);
      emitter.pending = [];
      parts.push(`export const ${name} = ${text} as unknown as typeof S.${name};`);
    }
  }
  const source = `${parts.join('\n\n')}\n`;
  // Biome's formatting, so the file passes the lint like any other.
  const format = spawnSync(
    join(root, 'node_modules', '.bin', 'biome'),
    ['format', `--stdin-file-path=${relative}`],
    { input: source, encoding: 'utf8', cwd: root },
  );
  if (format.status !== 0) throw new Error(`biome format failed: ${format.stderr}`);
  return format.stdout;
}

const text = generated();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== text) {
    process.stderr.write(`${relative} is out of date with src/http/schemas.ts: run npm run schemas\n`);
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
