import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postRequest as post, startApp } from '../helpers.ts';

describe('security switches', () => {
  test('with auth on, writes need the bearer token and reads stay open', async (t) => {
    const token = 'correct-horse-battery-staple';
    const { app } = await startApp(t, { authEnabled: true, authToken: token });
    const none = await app.inject(post({ signal_type: 'validate' }));
    assert.equal(none.statusCode, 401);
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    const wrong = await app.inject(post({ signal_type: 'validate' }, { authorization: 'Bearer nope' }));
    assert.equal(wrong.statusCode, 401);
    assert.match(String(wrong.headers['www-authenticate']), /invalid_token/);
    const right = await app.inject(post({ signal_type: 'validate' }, { authorization: `Bearer ${token}` }));
    assert.equal(right.statusCode, 202);
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    const retry = await app.inject({ method: 'POST', url: '/signal/x/retry' });
    assert.equal(retry.statusCode, 401);
  });

  test('the rate limit answers 429 with Retry-After past the limit', async (t) => {
    const { app } = await startApp(t, { rateLimit: 3 });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await app.inject(post({ signal_type: 'report' }))).statusCode);
    assert.deepEqual(codes, [202, 202, 202, 429, 429]);
    const limited = await app.inject(post({ signal_type: 'report' }));
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal(limited.json().error, 'rate_limited');
  });
});
