import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/**
 * What loading the service costs: modules it must not load, each of which would sit in memory
 * for the life of the process. Checked in a fresh process (this one has loaded other things):
 * Node.js's own modules from `process.moduleLoadList`, the others through a resolve hook.
 */
function loadedBy(entry: string): { readonly builtins: string[]; readonly files: string[] } {
  const script = `
    import { registerHooks } from 'node:module';
    const files = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); files.push(r.url); return r; } });
    await import(${JSON.stringify(entry)});
    process.stdout.write(JSON.stringify({ builtins: process.moduleLoadList, files }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { builtins: string[]; files: string[] };
}

const service = loadedBy('./src/service.ts');

test('the module lists were read', () => {
  assert.ok(service.builtins.length > 100);
  assert.ok(service.files.some((f) => f.includes('/node_modules/fastify/')));
  assert.ok(service.files.some((f) => f.endsWith('/src/system.ts')));
});

test("loading the service does not load Node.js's bundled fetch client (undici)", () => {
  assert.deepEqual(
    service.builtins.filter((m) => m.includes('undici')),
    [],
  );
});

test("loading the service does not load the schemas' type provider (their types are compile-time only)", () => {
  assert.deepEqual(
    service.files.filter((f) =>
      /\/node_modules\/(json-schema-to-ts|ts-algebra|@fastify\/type-provider-)/.test(f),
    ),
    [],
  );
});

test('on the embedded queue (the default) the service loads no broker client', () => {
  assert.deepEqual(
    service.files.filter(
      (f) =>
        /\/node_modules\/(@nats-io|amqplib)\//.test(f) ||
        /\/src\/(kanban\/(nats|rabbitmq|failover)|status\/nats-kv)/.test(f),
    ),
    [],
  );
});
