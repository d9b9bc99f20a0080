/**
 * Writes the configuration table into README.md (between the config markers) and .env.example
 * from the one list of variables in src/config.ts. `--check` only reports whether they are current.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VARIABLES } from '../src/config.ts';

const root = join(import.meta.dirname, '..');
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
    '# Every variable the service reads, with its default. Copy to .env or export them.',
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

export function readmeWithTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error('README.md has no config markers');
  return `${readme.slice(0, start + START.length)}\n${configTable()}\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const readmePath = join(root, 'README.md');
  const envPath = join(root, '.env.example');
  const readme = readFileSync(readmePath, 'utf8');
  const wantReadme = readmeWithTable(readme);
  const wantEnv = envExample();
  if (process.argv.includes('--check')) {
    const stale = [
      readme !== wantReadme && 'README.md',
      readFileSync(envPath, 'utf8') !== wantEnv && '.env.example',
    ].filter(Boolean);
    if (stale.length > 0) {
      console.error(`out of date: ${stale.join(', ')}; run npm run docs`);
      process.exit(1);
    }
  } else {
    writeFileSync(readmePath, wantReadme);
    writeFileSync(envPath, wantEnv);
  }
}
