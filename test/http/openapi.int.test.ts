import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import type { TpsConfig } from '../../src/config.ts';
import { PermanentError } from '../../src/errors.ts';
import { demoHandlers } from '../../src/handlers/demo.ts';
import { startApp } from '../helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TOKEN = 'openapi-test-token-0123456789';
const GUARDED: Partial<TpsConfig> = {
  authEnabled: true,
  authToken: TOKEN,
  rateLimit: 3,
  faultInjection: true,
};

interface Operation {
  readonly operationId?: string;
  readonly requestBody?: unknown;
  readonly parameters?: readonly { readonly $ref?: string }[];
  readonly responses: Record<string, unknown>;
  readonly security?: readonly Record<string, readonly string[]>[];
}
type Document = { readonly paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;

async function documentOf(t: TestContext, overrides: Partial<TpsConfig>): Promise<Document> {
  const { app } = await startApp(t, overrides);
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  return res.json() as Document;
}

function operations(doc: Document): [string, string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]): [string, string, Operation] => [method, path, op]),
  );
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tps-openapi-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Problem {
  readonly ruleId: string;
  readonly severity: string;
  readonly message: string;
  readonly location: readonly { readonly pointer: string }[];
}

function redoclyLint(file: string): Problem[] {
  const run = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'redocly'),
    ['lint', '--extends', 'recommended', '--format', 'json', file],
    {
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  );
  assert.ok(run.stdout.trim().startsWith('{'), `redocly lint printed no report: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { problems: Problem[] }).problems;
}

/** JSON pointer of an operation's responses, as redocly reports them. */
function responsesPointer(method: string, path: string): string {
  return `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}/responses`;
}

describe('the OpenAPI document', () => {
  for (const [name, overrides] of [
    ['auth, rate limit and fault injection on', GUARDED],
    ['every switch off (the defaults)', {}],
  ] as const) {
    test(`passes redocly lint with its recommended rules (${name})`, async (t) => {
      const doc = await documentOf(t, overrides);
      const file = join(tempDir(t), 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      // Left off, and only here: "at least one 4XX response" for an operation that reads nothing
      // from the request (no body, no parameter but X-Request-Id, which never fails), such as
      // GET /health: it has no client error to answer, and inventing one would make the document lie.
      const inputless = new Set(
        operations(doc)
          .filter(([, , op]) => op.requestBody === undefined && (op.parameters ?? []).every((p) => p.$ref))
          .map(([method, path]) => responsesPointer(method, path)),
      );
      assert.ok(inputless.has(responsesPointer('get', '/health')));
      const problems = redoclyLint(file).filter(
        (p) => !(p.ruleId === 'operation-4xx-response' && inputless.has(p.location[0]?.pointer ?? '')),
      );
      assert.deepEqual(
        problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`),
        [],
      );
    });
  }

  test('the lint check can fail: a document without operationIds is refused', async (t) => {
    const doc = await documentOf(t, {});
    for (const [, , op] of operations(doc)) delete (op as { operationId?: string }).operationId;
    const file = join(tempDir(t), 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    assert.ok(redoclyLint(file).some((p) => p.ruleId === 'operation-operationId'));
  });

  test('names every operation, and puts the bearer scheme on the POST routes only when auth is on', async (t) => {
    const guarded = await documentOf(t, GUARDED);
    const ids = operations(guarded).map(([, , op]) => op.operationId);
    assert.deepEqual(ids.toSorted(), [
      'crashWorker',
      'getAndon',
      'getHealth',
      'getHeijunka',
      'getInfo',
      'getJidoka',
      'getMetrics',
      'getSignalStatus',
      'getStatus',
      'isolateLine',
      'resetLine',
      'retrySignal',
      'streamAndon',
      'submitSignal',
    ]);
    for (const [method, path, op] of operations(guarded)) {
      assert.deepEqual(op.security, method === 'post' ? [{ bearer: [] }] : [], `${method} ${path}`);
    }
    const open = await documentOf(t, {});
    assert.equal((open.components as { securitySchemes?: unknown }).securitySchemes, undefined);
    for (const [method, path, op] of operations(open)) {
      assert.deepEqual(op.security, [], `${method} ${path}`);
      assert.equal(op.responses['401'], undefined, `${method} ${path}`);
    }
  });

  test('openapi-typescript generates a client with the named operations', async (t) => {
    const dir = tempDir(t);
    const doc = await documentOf(t, GUARDED);
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
    // openapi-typescript lives in its own workspace with the TypeScript 5 it runs on.
    const workspace = createRequire(join(ROOT, 'tools', 'openapi-client', 'package.json'));
    const cli = join(dirname(workspace.resolve('openapi-typescript/package.json')), 'bin', 'cli.js');
    const tsc = join(dirname(workspace.resolve('typescript/package.json')), 'bin', 'tsc');
    const generate = spawnSync(process.execPath, [cli, 'openapi.json', '-o', 'client.ts'], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(generate.status, 0, generate.stderr);
    const client = readFileSync(join(dir, 'client.ts'), 'utf8');
    assert.match(client, /^export interface operations \{$/m);
    for (const [, , op] of operations(doc))
      assert.match(client, new RegExp(`^ {4}${op.operationId}: \\{$`, 'm'));
    // And a client can use them: request and answer types by operation name.
    writeFileSync(
      join(dir, 'use.ts'),
      `import type { operations } from './client.ts';
type Submit = operations['submitSignal'];
const body: Submit['requestBody']['content']['application/json'] = { signal_type: 'validate', priority: 2 };
const answer = {} as Submit['responses'][202]['content']['application/json'];
const id: string = answer.signal_id;
const retryAfter: number = ({} as Submit['responses'][429]['headers'])['Retry-After'];
// @ts-expect-error priority is 1 to 4
const wrong: Submit['requestBody']['content']['application/json'] = { signal_type: 'x', priority: 7 };
export { body, id, retryAfter, wrong };
`,
    );
    const check = spawnSync(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--allowImportingTsExtensions', '--module', 'nodenext', 'use.ts'],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });
});

describe('each operation documents exactly the statuses it answers', () => {
  test('every 2xx, 4xx and 5xx answered is documented for its operation, and every documented one is answered', async (t) => {
    const hopeless = () => {
      throw new PermanentError('nope');
    };
    const { app, system } = await startApp(t, GUARDED, { handlers: { ...demoHandlers(), hopeless } });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as Document;
    const seen = new Map<string, Set<string>>();
    let client = 0;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const json = { 'content-type': 'application/json' };
    /** Each request from its own address, so the rate limit only counts where it is meant to. */
    const send = async (
      op: string,
      request: InjectOptions,
      from = `10.0.${client >> 8}.${client++ & 255}`,
    ) => {
      const res = await app.inject({ remoteAddress: from, ...request });
      assert.notEqual(res.statusCode, 500, `${op}: ${res.body}`);
      // Every error is the JSON error body (an unhealthy /health is the health report itself).
      if (res.statusCode >= 400 && op !== 'getHealth') assert.equal(res.json().success, false, res.body);
      if (!seen.has(op)) seen.set(op, new Set());
      seen.get(op)?.add(String(res.statusCode));
      return res;
    };
    const post = (url: string, body?: unknown, headers: Record<string, string> = {}): InjectOptions => ({
      method: 'POST',
      url,
      headers: { ...auth, ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    const big = { padding: 'x'.repeat(system.config.maxBodyBytes) };
    const longId = 'i'.repeat(201);
    /** The door's answers, for every POST route. */
    const door = async (op: string, url: string, body?: unknown) => {
      await send(op, { ...post(url, body), headers: body === undefined ? {} : json });
      await send(op, post(url, big));
      await send(op, { ...post(url), headers: { ...auth, 'content-type': 'text/plain' }, payload: 'x' });
      // Fastify validates before the guards run: only valid requests are counted.
      const address = `rate-limited-${op}`;
      let limited = 0;
      for (let i = 0; i < 5 && limited !== 429; i++) {
        limited = (await send(op, post(url, body), address)).statusCode;
      }
      assert.equal(limited, 429, `${op} is rate limited`);
    };

    const accepted = await send('submitSignal', post('/signal', { signal_type: 'validate' }));
    assert.equal(accepted.statusCode, 202);
    const done = await send('submitSignal', post('/signal', { signal_type: 'report' }, { prefer: 'wait=5' }));
    assert.equal(done.statusCode, 200);
    await send('submitSignal', post('/signal', {}));
    await send('submitSignal', post('/signal', { signal_type: 'validate' }, { 'idempotency-key': 'k-1' }));
    await send('submitSignal', post('/signal', { signal_type: 'report' }, { 'idempotency-key': 'k-1' }));
    await send('isolateLine', post('/jidoka/execute/isolate'));
    await send('submitSignal', post('/signal', { signal_type: 'execute' }));
    await send('resetLine', post('/jidoka/execute/reset'));
    await door('submitSignal', '/signal', { signal_type: 'report' });

    const id = accepted.json().signal_id as string;
    await send('getSignalStatus', { method: 'GET', url: `/signal/${id}/status` });
    await send('getSignalStatus', { method: 'GET', url: '/signal//status' });
    await send('getSignalStatus', { method: 'GET', url: `/signal/${crypto.randomUUID()}/status` });
    await send('getSignalStatus', { method: 'GET', url: `/signal/${longId}/status` });

    const dead = await send(
      'submitSignal',
      post('/signal', { signal_type: 'hopeless' }, { prefer: 'wait=5' }),
    );
    assert.equal(dead.json().status, 'dead_lettered');
    await send('retrySignal', post(`/signal/${dead.json().signal_id}/retry`));
    await send('retrySignal', post(`/signal/${done.json().signal_id}/retry`));
    await send('retrySignal', post('/signal//retry'));
    await send('retrySignal', post('/signal/nope/retry'));
    await send('retrySignal', post(`/signal/${longId}/retry`));
    await door('retrySignal', '/signal/nope/retry');

    for (const [op, action] of [
      ['isolateLine', 'isolate'],
      ['resetLine', 'reset'],
    ] as const) {
      await send(op, post(`/jidoka/validate/${action}`));
      await send(op, post(`/jidoka/a%20b/${action}`));
      await send(op, post(`/jidoka/nope/${action}`));
      await send(op, post(`/jidoka/${longId}/${action}`));
      await door(op, `/jidoka/nope/${action}`);
    }
    await send('resetLine', post('/jidoka/validate/reset'));

    await send('crashWorker', post('/chaos/workers/crash?worker=worker-1'));
    await send('crashWorker', post(`/chaos/workers/crash?worker=${'w'.repeat(65)}`));
    await send('crashWorker', post('/chaos/workers/crash?worker=worker-99'));
    await door('crashWorker', '/chaos/workers/crash?worker=worker-99');

    for (const [op, url] of [
      ['getJidoka', '/jidoka'],
      ['getHealth', '/health'],
      ['getMetrics', '/metrics'],
      ['getInfo', '/info'],
      ['getStatus', '/status'],
      ['getAndon', '/andon'],
      ['getHeijunka', '/heijunka'],
    ] as const) {
      await send(op, { method: 'GET', url });
    }
    const text = await send('getMetrics', {
      method: 'GET',
      url: '/metrics',
      headers: { accept: 'text/plain' },
    });
    assert.match(String(text.headers['content-type']), /^text\/plain/);

    // The live stream, over a real connection: as many as it allows get 200, the next one 503.
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const streams: IncomingMessage[] = [];
    const open = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        get({ port, host: '127.0.0.1', path: '/andon/stream' }, resolve).on('error', reject);
      });
    try {
      for (let i = 0; i < 101; i++) {
        const res = await open();
        streams.push(res);
        if (!seen.has('streamAndon')) seen.set('streamAndon', new Set());
        seen.get('streamAndon')?.add(String(res.statusCode));
        if (res.statusCode !== 200) break;
      }
      assert.equal(streams.at(-1)?.statusCode, 503);
    } finally {
      for (const res of streams) res.destroy();
    }

    // Once stopping, writes and health answer 503.
    await system.stop(0);
    await send('retrySignal', post(`/signal/${dead.json().signal_id}/retry`));
    await send('getHealth', { method: 'GET', url: '/health' });

    const documented = new Map(
      operations(doc).map(([, , op]) => [op.operationId ?? '', Object.keys(op.responses).sort()]),
    );
    const answered = new Map([...seen].map(([op, codes]) => [op, [...codes].sort()]));
    assert.deepEqual(Object.fromEntries(answered), Object.fromEntries(documented));
  });
});
