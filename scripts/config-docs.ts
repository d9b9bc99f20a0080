/**
 * Writes the configuration table into docs/configuration.md (between the config markers) and
 * .env.example from the one list of variables in src/config.ts. `--check` only reports whether they
 * are current.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VARIABLES } from '../src/config.ts';

const root = join(import.meta.dirname, '..');
/** The document that holds the generated table, relative to the repository's root. */
export const CONFIG_DOC = 'docs/configuration.md';
const START = '<!-- config:start -->';
const END = '<!-- config:end -->';

function shown(value: unknown): string {
  return value === '' ? '(empty)' : `\`${String(value)}\``;
}

export function configTable(): string {
  const rows = VARIABLES.map(
    (v) => `| \`${v.env}\` | ${shown(v.default)} | ${v.doc} Accepts ${v.accepts}. |`,
  );
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

export function envExample(): string {
  const lines = [
    '# Every variable the service reads, with its default.',
    '# Copy to .env: `make run` and `npm start` read it; variables already set in the environment win.',
    '# Generated from src/config.ts by `npm run docs`.',
    '',
  ];
  for (const v of VARIABLES) {
    lines.push(`# ${v.doc} Accepts ${v.accepts}.`);
    lines.push(`${v.env}=${v.secret && v.env === 'AUTH_TOKEN' ? '' : String(v.default)}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** `markdown` with the current table between its config markers. */
export function withConfigTable(markdown: string): string {
  const start = markdown.indexOf(START);
  const end = markdown.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${CONFIG_DOC} has no config markers`);
  return `${markdown.slice(0, start + START.length)}\n${configTable()}\n${markdown.slice(end)}`;
}

if (import.meta.main) {
  const docPath = join(root, CONFIG_DOC);
  const envPath = join(root, '.env.example');
  const doc = readFileSync(docPath, 'utf8');
  const wantDoc = withConfigTable(doc);
  const wantEnv = envExample();
  if (process.argv.includes('--check')) {
    const stale = [
      doc !== wantDoc && CONFIG_DOC,
      readFileSync(envPath, 'utf8') !== wantEnv && '.env.example',
    ].filter(Boolean);
    if (stale.length > 0) {
      console.error(`out of date: ${stale.join(', ')}; run npm run docs`);
      process.exit(1);
    }
  } else {
    writeFileSync(docPath, wantDoc);
    writeFileSync(envPath, wantEnv);
  }
}
