import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PermanentError } from '../../src/errors.ts';
import type { SignalHandler } from '../../src/handlers/registry.ts';
import { preferWait } from '../../src/http/signals/routes.ts';
import { deferred, postRequest as post, startApp, waitUntil } from '../helpers.ts';

describe('POST /signal', () => {
  test('202 once queued, with signal_id, trace_id, status, status_url and a Location', async (t) => {
    const { app } = await startApp(t);
    const res = await app.inject(
      post({ signal_type: 'validate', priority: 2, payload: { data: [1, 2, 3] } }),
    );
    assert.equal(res.statusCode, 202);
    const body = res.json();
    assert.equal(body.success, true);
    assert.equal(body.status, 'queued');
    assert.match(body.signal_id, /^[0-9a-f-]{36}$/);
    assert.match(body.trace_id, /^[0-9a-f]{32}$/);
    assert.equal(body.status_url, `/signal/${body.signal_id}/status`);
    assert.equal(res.headers.location, body.status_url);
  });

  test('continues the caller trace', async (t) => {
    const { app } = await startApp(t);
    const res = await app.inject(
      post(
        { signal_type: 'report' },
        { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      ),
    );
    assert.equal(res.json().trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
  });

  test('Prefer: wait=N answers 200 with the result when processing ends in time', async (t) => {
    const { app } = await startApp(t);
    const res = await app.inject(
      post({ signal_type: 'execute', payload: { task: 't1' } }, { prefer: 'wait=5' }),
    );
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['preference-applied'], 'wait=5');
    const body = res.json();
    assert.equal(body.success, true);
    assert.equal(body.message, 'Execution completed');
    assert.equal(body.status, 'completed');
    assert.equal(body.attempts, 1);
    assert.match(body.worker_id, /^worker-/);
    assert.ok(body.duration_ms >= 40, `duration ${body.duration_ms}`);
    assert.deepEqual(body.result, { task: 't1' });
  });

  test('Prefer: wait=N answers 202 when processing takes longer', async (t) => {
    const gate = deferred();
    const { app } = await startApp(t, {}, { handlers: { held: () => gate.promise.then(() => 'ok') } });
    const res = await app.inject(post({ signal_type: 'held' }, { prefer: 'respond-async, wait=1' }));
    assert.equal(res.statusCode, 202);
    assert.equal(res.json().status, 'queued');
    gate.resolve();
  });

  test('Prefer: wait reports a dead-lettered signal as finished, unsuccessfully', async (t) => {
    const hopeless: SignalHandler = () => {
      throw new PermanentError('nope');
    };
    const { app } = await startApp(t, {}, { handlers: { hopeless } });
    const res = await app.inject(post({ signal_type: 'hopeless' }, { prefer: 'wait=5' }));
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().success, false);
    assert.equal(res.json().status, 'dead_lettered');
    assert.equal(res.json().message, 'nope');
  });

  test('an Idempotency-Key resubmission returns the same signal', async (t) => {
    const { app, system } = await startApp(t);
    const first = await app.inject(post({ signal_type: 'validate' }, { 'idempotency-key': 'abc-123' }));
    const second = await app.inject(post({ signal_type: 'validate' }, { 'idempotency-key': 'abc-123' }));
    assert.equal(second.statusCode, 202);
    assert.equal(second.json().signal_id, first.json().signal_id);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(system.metrics().accepted_total, 1);
    const clash = await app.inject(post({ signal_type: 'report' }, { 'idempotency-key': 'abc-123' }));
    assert.equal(clash.statusCode, 409);
  });

  test('429 with Retry-After when the Kanban is full', async (t) => {
    const gate = deferred();
    const { app } = await startApp(
      t,
      { kanbanBuffer: 1, numWorkers: 1, heijunkaPool: 1, workerCards: 1 },
      { handlers: { held: () => gate.promise.then(() => 'ok') } },
    );
    assert.equal((await app.inject(post({ signal_type: 'held' }))).statusCode, 202);
    assert.equal((await app.inject(post({ signal_type: 'held' }))).statusCode, 202);
    const full = await app.inject(post({ signal_type: 'held' }));
    assert.equal(full.statusCode, 429);
    assert.equal(full.headers['retry-after'], '1');
    assert.equal(full.json().error, 'queue_full');
    gate.resolve();
  });

  test('503 with Retry-After naming the type and state while its circuit is open', async (t) => {
    const broken: SignalHandler = () => {
      throw new Error('down');
    };
    const { app } = await startApp(
      t,
      { cbThreshold: 1, cbTimeoutSecs: 30, maxAttempts: 1 },
      { handlers: { broken } },
    );
    await app.inject(post({ signal_type: 'broken' }, { prefer: 'wait=5' }));
    const res = await app.inject(post({ signal_type: 'broken' }));
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '30');
    assert.equal(res.json().error, 'circuit_open');
    assert.equal(res.json().signal_type, 'broken');
    assert.equal(res.json().circuit_state, 'Open');
  });
});

describe('signal status and retry', () => {
  test('status shows the lifecycle; unknown ids are 404', async (t) => {
    const { app } = await startApp(t);
    const accepted = (
      await app.inject(post({ signal_type: 'report', priority: 1 }, { prefer: 'wait=5' }))
    ).json();
    const res = await app.inject({ method: 'GET', url: `/signal/${accepted.signal_id}/status` });
    assert.equal(res.statusCode, 200);
    const s = res.json();
    assert.equal(s.status, 'completed');
    assert.equal(s.signal_type, 'report');
    assert.equal(s.priority, 1);
    assert.equal(s.attempts, 1);
    assert.equal(s.max_attempts, 3);
    assert.equal(s.message, 'Report generated');
    for (const field of ['accepted_at', 'started_at', 'finished_at']) {
      assert.ok(!Number.isNaN(Date.parse(s[field])), field);
    }
    const missing = await app.inject({
      method: 'GET',
      url: '/signal/00000000-0000-0000-0000-000000000000/status',
    });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error, 'signal_not_found');
  });

  test('retry re-enqueues a dead-lettered signal; a completed one is a conflict', async (t) => {
    let fail = true;
    const fixable: SignalHandler = () => {
      if (fail) throw new Error('not yet');
      return 'fixed';
    };
    const { app, system } = await startApp(t, { maxAttempts: 1 }, { handlers: { fixable } });
    const id = (await app.inject(post({ signal_type: 'fixable' }, { prefer: 'wait=5' }))).json().signal_id;
    fail = false;
    const retried = await app.inject({ method: 'POST', url: `/signal/${id}/retry` });
    assert.equal(retried.statusCode, 202);
    assert.equal(retried.json().signal_id, id);
    await waitUntil(async () => (await system.status(id)).status === 'completed', 'completion');
    const again = await app.inject({ method: 'POST', url: `/signal/${id}/retry` });
    assert.equal(again.statusCode, 409);
    const unknown = await app.inject({ method: 'POST', url: '/signal/nope/retry' });
    assert.equal(unknown.statusCode, 404);
  });
});

describe('Prefer header', () => {
  test('reads wait=N among other preferences', () => {
    assert.equal(preferWait(undefined), undefined);
    assert.equal(preferWait('respond-async'), undefined);
    assert.equal(preferWait('wait=5'), 5);
    assert.equal(preferWait('respond-async, wait=10'), 10);
    assert.equal(preferWait('handling=lenient; wait="3"'), 3);
    assert.equal(preferWait(['return=minimal', 'wait=2']), 2);
    assert.equal(preferWait('nowait=4'), undefined);
  });
});
