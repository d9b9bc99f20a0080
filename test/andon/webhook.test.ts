import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { AlertWebhook } from '../../src/andon/webhook.ts';
import { silentLogger } from '../../src/logger.ts';
import { startSystem, waitUntil } from '../helpers.ts';

interface Receiver {
  readonly url: string;
  readonly bodies: unknown[];
  /** Status to answer with for each request, in order; 204 once used up. */
  readonly script: number[];
  requests: number;
}

async function receiver(t: TestContext, script: number[] = []): Promise<Receiver> {
  const r: Receiver = { url: '', bodies: [], script, requests: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.requests++;
      const status = r.script.shift() ?? 204;
      if (status < 300) r.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return Object.assign(r, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
}

describe('andon webhook', () => {
  test('posts each alert in order, retrying a failed one with backoff', async (t) => {
    const r = await receiver(t, [500, 503]);
    const hook = new AlertWebhook(r.url, silentLogger(), { backoffMs: 20 });
    t.after(() => hook.close(0));
    hook.send({ n: 1 });
    hook.send({ n: 2 });
    // The receiver holds a body before its answer reaches the sender: wait for both sides.
    await waitUntil(() => r.bodies.length === 2 && hook.stats().pending === 0, 'both alerts delivered');
    assert.deepEqual(r.bodies, [{ n: 1 }, { n: 2 }]);
    assert.equal(r.requests, 4, 'the first alert took three tries');
    assert.deepEqual(hook.stats(), { sent: 2, failed: 0, dropped: 0, pending: 0 });
  });

  test('gives an alert up after its tries and goes on with the next', async (t) => {
    const r = await receiver(t, [500, 500, 500]);
    const hook = new AlertWebhook(r.url, silentLogger(), { backoffMs: 10, attempts: 3 });
    t.after(() => hook.close(0));
    hook.send({ n: 1 });
    hook.send({ n: 2 });
    await waitUntil(() => r.bodies.length === 1 && hook.stats().pending === 0, 'the second alert delivered');
    assert.deepEqual(r.bodies, [{ n: 2 }]);
    assert.deepEqual(hook.stats(), { sent: 1, failed: 1, dropped: 0, pending: 0 });
  });

  test('an unreachable receiver never blocks the sender, and the backlog is bounded', async () => {
    // Nothing listens on port 9 of loopback (discard): every POST fails fast.
    const hook = new AlertWebhook('http://127.0.0.1:9/hook', silentLogger(), {
      backoffMs: 60_000,
      maxPending: 3,
    });
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) hook.send({ n: i });
    assert.ok(performance.now() - t0 < 1_000, 'send returns at once');
    assert.ok(hook.stats().pending <= 3);
    assert.ok(hook.stats().dropped >= 7);
    await hook.close(0);
  });

  test('the system posts when the board turns RED and again when it is GREEN', async (t) => {
    const r = await receiver(t);
    const system = await startSystem(t, { andonWebhookUrl: r.url, cbTimeoutSecs: 60 }, { andonEveryMs: 20 });
    system.isolateLine('execute');
    await waitUntil(() => r.bodies.length === 1, 'the RED alert');
    const red = r.bodies[0] as Record<string, unknown>;
    assert.equal(red.event, 'andon.red');
    assert.equal(red.level, 'RED');
    assert.equal(red.previous, 'GREEN');
    assert.match(String(red.reason), /^jidoka: circuit execute open/);
    assert.equal((red.principles as Record<string, { level: string }>).jidoka?.level, 'RED');
    assert.equal(red.service, system.config.appName);

    system.resetLine('execute');
    await waitUntil(() => r.bodies.length === 2, 'the GREEN alert');
    const green = r.bodies[1] as Record<string, unknown>;
    assert.equal(green.event, 'andon.green');
    assert.equal(green.level, 'GREEN');
    assert.equal(green.previous, 'RED');
  });
});
