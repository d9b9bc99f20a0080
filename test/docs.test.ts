import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_DOC, envExample, withConfigTable } from '../scripts/config-docs.ts';
import { VARIABLES } from '../src/config.ts';

const root = join(import.meta.dirname, '..');
const read = (name: string) => readFileSync(join(root, name), 'utf8');

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
