import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deferred, postRequest as post, startApp } from '../helpers.ts';

describe('read endpoints', () => {
  test('/health has its six summary fields and is 503 once draining', async (t) => {
    const gate = deferred();
    const { app, system } = await startApp(
      t,
      {},
      { handlers: { held: () => gate.promise.then(() => 'ok') } },
    );
    const res = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    const h = res.json();
    assert.equal(h.healthy, true);
    assert.equal(h.circuit_state, 'Closed');
    assert.equal(h.queue_depth, 0);
    assert.equal(h.active_workers, 4);
    assert.equal(h.error_rate, 0);
    assert.ok(!Number.isNaN(Date.parse(h.timestamp)));
    await app.inject(post({ signal_type: 'held' }));
    const stopping = system.stop(5_000);
    const draining = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(draining.statusCode, 503);
    assert.equal(draining.json().status, 'draining');
    const refused = await app.inject(post({ signal_type: 'held' }));
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.json().error, 'not_accepting');
    gate.resolve();
    assert.equal((await stopping).drained, true);
  });

  test('/metrics has its summary fields and exact counts', async (t) => {
    const { app } = await startApp(t);
    for (let i = 0; i < 3; i++) await app.inject(post({ signal_type: 'report' }, { prefer: 'wait=5' }));
    const m = (await app.inject({ method: 'GET', url: '/metrics' })).json();
    assert.equal(m.total_processed, 3);
    assert.equal(m.success_count, 3);
    assert.equal(m.error_count, 0);
    assert.equal(m.error_rate, 0);
    for (const f of [
      'avg_duration_ms',
      'p95_duration_ms',
      'p99_duration_ms',
      'p50_duration_ms',
      'p999_duration_ms',
    ]) {
      assert.ok(m[f] >= 4, `${f} = ${m[f]}`);
    }
  });

  test('/info names the service, its version and configuration without secrets', async (t) => {
    const { app } = await startApp(t, { authEnabled: true, authToken: 'super-secret-token-value' });
    const info = (await app.inject({ method: 'GET', url: '/info' })).json();
    assert.equal(info.name, 'TPS Reference System');
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.ok(info.uptime_secs >= 0);
    assert.equal(info.config.num_workers, 4);
    assert.equal(info.config.http_port, 8080);
    assert.equal(info.config.metrics_port, 9090);
    assert.ok(info.memory.rss_bytes > 0);
    assert.ok(
      info.memory.peak_rss_bytes >= info.memory.rss_bytes,
      'the peak is at least what is resident now',
    );
    assert.ok(!JSON.stringify(info).includes('super-secret-token-value'));
  });

  test('/status, /andon and /heijunka report the principles together', async (t) => {
    const { app } = await startApp(t);
    const s = (await app.inject({ method: 'GET', url: '/status' })).json();
    assert.equal(s.status, 'running');
    assert.equal(s.health.healthy, true);
    assert.equal(typeof s.metrics.p99_duration_ms, 'number');
    assert.equal(s.andon.overall, 'GREEN');
    assert.deepEqual(Object.keys(s.andon.principles), [
      'jidoka',
      'kanban',
      'andon',
      'kaizen',
      'heijunka',
      'tracing',
    ]);
    assert.equal(s.heijunka.workers.length, 4);
    const andon = (await app.inject({ method: 'GET', url: '/andon' })).json();
    assert.equal(andon.overall, 'GREEN');
    const heijunka = (await app.inject({ method: 'GET', url: '/heijunka' })).json();
    assert.equal(heijunka.pool_size, 4);
    assert.equal(heijunka.cards_total, 128);
  });

  test('/ is an HTML page documenting the API; /openapi.json describes it', async (t) => {
    const { app } = await startApp(t);
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    for (const endpoint of [
      'POST /signal',
      'GET /signal/:id/status',
      'POST /signal/:id/retry',
      'GET /health',
    ]) {
      assert.ok(page.body.includes(endpoint), endpoint);
    }
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of [
      '/signal',
      '/signal/{id}/status',
      '/signal/{id}/retry',
      '/health',
      '/metrics',
      '/info',
      '/status',
    ]) {
      assert.ok(doc.paths[path], path);
    }
    assert.deepEqual(doc.paths['/signal'].post.requestBody.content['application/json'].schema.required, [
      'signal_type',
    ]);
  });

  test('an unknown route is a JSON 404', async (t) => {
    const { app } = await startApp(t);
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { success: false, error: 'not_found', message: 'no route GET /nope' });
  });
});
