import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startApp, waitUntil } from '../helpers.ts';

describe('fault injection endpoint', () => {
  test('is absent unless TPS_FAULT_INJECTION is on', async (t) => {
    const { app } = await startApp(t);
    const res = await app.inject({ method: 'POST', url: '/chaos/workers/crash' });
    assert.equal(res.statusCode, 404);
  });

  test('crashes one worker loop; the supervisor restarts it and work goes on', async (t) => {
    const { app, system } = await startApp(t, { faultInjection: true });
    const res = await app.inject({ method: 'POST', url: '/chaos/workers/crash?worker=worker-3' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { crashed: 'worker-3' });
    // An idle worker notices at its next step: give it work.
    for (let i = 0; i < 20; i++) await system.submit({ type: 'report' });
    const worker3 = () => system.health().components.find((c) => c.name === 'worker-3');
    await waitUntil(() => worker3()?.restarts === 1, 'worker-3 restarted');
    assert.equal(worker3()?.lastError, 'injected fault: worker crash');
    await waitUntil(
      () => system.health().queue_depth === 0 && system.health().in_flight === 0,
      'all processed',
    );
    const unknown = await app.inject({ method: 'POST', url: '/chaos/workers/crash?worker=worker-99' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error, 'worker_not_found');
  });
});
