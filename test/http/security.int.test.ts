import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { FakeClock } from '../../src/clock.ts';
import { startApp } from '../helpers.ts';
import { exitWithin, getJson, postSignal, startService } from '../process.ts';

/** A request id the service makes: 8 hex digits drawn once per process, then a counter in base 36. */
const NEW_ID = /^[0-9a-f]{8}-[0-9a-z]+$/;

const post = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/signal',
  headers: { 'content-type': 'application/json', ...headers },
  payload: JSON.stringify(body),
});

describe('security headers and request ids', () => {
  test("every answer carries the API's security headers, success or error; the page adds a document's", async (t) => {
    const { app } = await startApp(t);
    const answers = [
      await app.inject({ method: 'GET', url: '/health' }),
      await app.inject(post({ signal_type: 'report' })),
      await app.inject(post({ signal_type: 'nope' })),
      await app.inject({ method: 'GET', url: '/no/such/route' }),
      await app.inject({ method: 'GET', url: '/' }),
    ];
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [200, 202, 400, 404, 200],
    );
    for (const a of answers) {
      assert.equal(a.headers['x-content-type-options'], 'nosniff');
      assert.equal(a.headers['x-frame-options'], 'DENY');
      assert.equal(a.headers['cache-control'], 'no-store');
      assert.equal(a.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
    }
    // What acts only on a rendered document goes on the page, not on the API's JSON answers.
    const page = answers[4];
    assert.equal(page?.headers['referrer-policy'], 'no-referrer');
    assert.equal(page?.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(page?.headers['cross-origin-resource-policy'], 'same-origin');
    for (const a of answers.slice(0, 4)) {
      assert.match(String(a.headers['content-type']), /^application\/json/);
      assert.equal(a.headers['referrer-policy'], undefined, `${a.statusCode} JSON answer`);
      assert.equal(a.headers['cross-origin-opener-policy'], undefined, `${a.statusCode} JSON answer`);
      assert.equal(a.headers['content-security-policy'], undefined, `${a.statusCode} JSON answer`);
    }
    // Answered by Fastify before any hook runs: a malformed URL (400), an over-long id (414).
    const early = [
      await app.inject({ method: 'GET', url: '/signal/%E0%A4%A/status' }),
      await app.inject({ method: 'GET', url: `/signal/${'x'.repeat(300)}/status` }),
    ];
    assert.deepEqual(
      early.map((a) => a.statusCode),
      [400, 414],
    );
    for (const a of [...answers, ...early]) {
      assert.equal(a.headers['x-content-type-options'], 'nosniff', `${a.statusCode}`);
      assert.match(String(a.headers['x-request-id']), NEW_ID, `${a.statusCode} has a request id`);
    }
    const csp = String(answers[4]?.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+' 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /frame-ancestors 'none'/);
  });

  test("the page's CSP hashes are those of the scripts and the style it carries inline", async (t) => {
    const { app } = await startApp(t);
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    const csp = new Map(
      String(page.headers['content-security-policy'])
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...sources]) => [name, sources]),
    );
    const inline = (tag: string) =>
      [...page.body.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] as string);
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const scripts = inline('script');
    const styles = inline('style');
    assert.equal(scripts.length, 2, 'the no-js mark and the board');
    assert.equal(styles.length, 1);
    assert.equal(page.body.match(/<script\b/g)?.length, 2, 'no other script element');
    assert.equal(page.body.match(/<style\b/g)?.length, 1, 'no other style element');
    assert.deepEqual(csp.get('script-src'), scripts.map(hash), 'each inline script allowed by its hash');
    assert.deepEqual(csp.get('style-src'), styles.map(hash), 'the stylesheet allowed by its hash');
    // What the browser runs is the very file the typecheck and the lint saw.
    const file = (name: string) =>
      readFileSync(new URL(`../../src/http/page/${name}`, import.meta.url), 'utf8').replace(/\r\n?/g, '\n');
    assert.deepEqual(scripts, [file('has-js.js'), file('board.js')]);
    assert.deepEqual(styles, [file('board.css')]);
  });

  test("a caller's request id is echoed; a missing or odd one is replaced by a new id", async (t) => {
    const { app } = await startApp(t);
    const kept = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'order-42.a:b_c' },
    });
    assert.equal(kept.headers['x-request-id'], 'order-42.a:b_c');
    const none = await app.inject({ method: 'GET', url: '/health' });
    assert.match(String(none.headers['x-request-id']), NEW_ID);
    const other = await app.inject({ method: 'GET', url: '/health' });
    assert.notEqual(other.headers['x-request-id'], none.headers['x-request-id']);
    const prefix = (a: { headers: Record<string, unknown> }) =>
      String(a.headers['x-request-id']).split('-')[0];
    assert.equal(prefix(other), prefix(none), 'one prefix per process');
    const made = new Set([none.headers['x-request-id'], other.headers['x-request-id']]);
    for (const odd of ['has spaces', '<script>', 'x'.repeat(129)]) {
      const a = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': odd } });
      assert.match(String(a.headers['x-request-id']), NEW_ID, `replaced: ${odd.slice(0, 20)}`);
      made.add(a.headers['x-request-id']);
    }
    assert.equal(made.size, 5, 'every new id is different');
    // A made id is itself a plain id: a caller that sends it back gets it echoed.
    const back = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': String(none.headers['x-request-id']) },
    });
    assert.equal(back.headers['x-request-id'], none.headers['x-request-id']);
  });

  test('an unexpected failure is a 500 with no stack trace and no internal detail', async (t) => {
    const { system, app } = await startApp(t);
    // A neighbour that fails in a way no route expects.
    system.status = async () => {
      throw new TypeError('secret internal detail at /srv/app/src/system.ts:42');
    };
    const res = await app.inject({ method: 'GET', url: '/signal/abc/status' });
    assert.equal(res.statusCode, 500);
    const body = res.json() as Record<string, unknown>;
    assert.equal(body.success, false);
    assert.doesNotMatch(res.body, /secret|system\.ts|\bat \/|TypeError|stack/i);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });

  test('the live Andon stream carries them too', async (t) => {
    const { app } = await startApp(t);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/andon/stream', headers: { 'x-request-id': 'wall-screen-1' } },
        (res) => {
          resolve(res.headers);
          res.destroy();
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['x-request-id'], 'wall-screen-1');
    assert.equal(headers['cache-control'], 'no-cache, no-transform', "the stream's own cache rule wins");
  });
});

describe('rate limit', () => {
  test('past RATE_LIMIT a client gets 429 with Retry-After, and is let in again the next minute', async (t) => {
    const clock = new FakeClock();
    const { app } = await startApp(t, { rateLimit: 2 }, { clock });
    const codes = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await app.inject(post({ signal_type: 'report' }))).statusCode);
      return out;
    };
    assert.deepEqual(await codes(3), [202, 202, 429]);
    clock.advance(30_000);
    const limited = await app.inject(post({ signal_type: 'report' }));
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['retry-after'], '30');
    // Reads are not limited.
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    clock.advance(30_000);
    assert.deepEqual(await codes(3), [202, 202, 429]);
  });
});

/** A self-signed certificate for 127.0.0.1, made with openssl in a temporary directory. */
function certificate(t: TestContext): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tps-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
      ...['-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

function call(
  requester: typeof httpRequest | typeof httpsRequest,
  port: number,
  body: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = requester(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/signal',
        headers: { 'content-type': 'application/json' },
        rejectUnauthorized: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

test('SSL_ENABLED serves HTTPS with the given certificate, with HSTS, and refuses plain HTTP', async (t) => {
  const { cert, key } = certificate(t);
  const { app } = await startApp(t, { sslEnabled: true, sslCertPath: cert, sslKeyPath: key });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const body = JSON.stringify({ signal_type: 'report' });

  const secure = await call(httpsRequest, port, body);
  assert.equal(secure.status, 202, secure.body);
  assert.equal(secure.headers['strict-transport-security'], 'max-age=31536000');
  assert.equal((JSON.parse(secure.body) as { status: string }).status, 'queued');

  // The same port does not speak plain HTTP: the request fails or gets no 2xx.
  const plain = await call(httpRequest, port, body).then(
    (a) => a.status,
    () => 0,
  );
  assert.ok(plain === 0 || plain >= 400, `plain HTTP got ${plain}`);
});

test('AUTH_TOKEN never appears in the logs or in /info, even at trace level', async (t) => {
  const token = 'tps-test-token-7f3a9c1e5b2d';
  const service = await startService(t, {
    env: { AUTH_ENABLED: 'true', AUTH_TOKEN: token, LOG_LEVEL: 'trace' },
  });
  const right = await postSignal(service, 'report', {}, { authorization: `Bearer ${token}` });
  assert.equal(right.status, 202);
  const wrong = await postSignal(service, 'report', {}, { authorization: `Bearer ${token}-nope` });
  assert.equal(wrong.status, 401);
  const info = await getJson(service, '/info');
  assert.equal(info.status, 200);
  assert.equal((info.body.config as Record<string, unknown>).auth_enabled, true);
  assert.ok(!JSON.stringify(info.body).includes(token), '/info does not show the token');
  service.child.kill('SIGTERM');
  assert.ok(await exitWithin(service, 15_000), 'the service stops');
  assert.ok(service.stdout().length > 0, 'trace level wrote logs');
  assert.ok(!service.logs().includes(token), 'the token is in no log line');
});
