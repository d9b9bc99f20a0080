import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import * as generated from '../../src/http/schemas.gen.ts';
import * as typebox from '../../src/http/schemas.ts';

/** The schema as the JSON it stands for (what Fastify's ajv and the OpenAPI document see). */
function json(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema));
}

test('the generated schemas are the TypeBox ones, export for export', () => {
  assert.deepEqual(Object.keys(generated).sort(), Object.keys(typebox).sort());
  for (const [name, schema] of Object.entries(typebox)) {
    const twin = (generated as Record<string, unknown>)[name];
    if (typeof schema === 'function') {
      assert.equal(typeof twin, 'function', name);
      for (const args of [
        [1, 1],
        [600_000, 30_000],
        [45_000, 7_500],
      ]) {
        const made = (twin as (...a: number[]) => unknown)(...args);
        assert.deepEqual(made, json((schema as (...a: number[]) => unknown)(...args)), `${name}(${args})`);
      }
    } else {
      assert.deepEqual(twin, json(schema), name);
    }
  }
});

test('src/http/schemas.gen.ts is current (npm run schemas writes it)', () => {
  const check = spawnSync(process.execPath, ['scripts/schemas.ts', '--check'], {
    cwd: new URL('../..', import.meta.url),
    encoding: 'utf8',
  });
  assert.equal(check.status, 0, check.stderr);
});
