import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { TpsConfig } from '../../src/config.ts';
import {
  deleteNatsNamespace,
  deleteRabbitNamespace,
  NATS_URL,
  RABBITMQ_URL,
  uniqueNamespace,
} from '../brokers.ts';
import { deferred, startApp, waitUntil } from '../helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

const OPEN_SECS = 3;

function backendConfig(backend: 'memory' | 'nats' | 'rabbitmq'): Partial<TpsConfig> {
  if (backend === 'memory') return {};
  const namespace = uniqueNamespace();
  cleanups.push(() =>
    backend === 'nats' ? deleteNatsNamespace(namespace) : deleteRabbitNamespace(namespace),
  );
  return { kanbanBackend: backend, brokerNamespace: namespace, natsUrl: NATS_URL, rabbitmqUrl: RABBITMQ_URL };
}

for (const backend of ['memory', 'nats', 'rabbitmq'] as const) {
  describe(`jidoka stops only the broken line (${backend})`, () => {
    test('a failing type opens its circuit: 503 at the door, queued signals held back, others flow, probes close it after the timeout', async (t) => {
      let failing = true;
      let calls = 0;
      const first = deferred();
      const { app, system } = await startApp(
        t,
        {
          ...backendConfig(backend),
          cbThreshold: 3,
          cbTimeoutSecs: OPEN_SECS,
          maxAttempts: 1,
          numWorkers: 1,
          workerCards: 1,
        },
        {
          handlers: {
            flaky: async () => {
              calls++;
              if (calls === 1) await first.promise;
              if (failing) throw new Error('flaky is down');
              return 'ok';
            },
            validate: () => 'valid',
          },
        },
      );
      // The circuit's transitions, as the Andon board records them.
      const transition = (to: string) =>
        system
          .andonBoard()
          .history.find(
            (c) =>
              c.kind === 'alert' && c.reason.startsWith(`circuit flaky `) && c.reason.includes(`→ ${to}`),
          );
      const circuit = () => system.jidokaReport().circuits.flaky?.state;
      const post = (type: string) =>
        app.inject({ method: 'POST', url: '/signal', payload: { signal_type: type } });

      // Six accepted while the first one is still running: three will fail, three wait behind.
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await post('flaky');
        assert.equal(res.statusCode, 202, res.body);
        ids.push(res.json().signal_id);
      }
      first.resolve();
      await waitUntil(() => circuit() === 'Open', 'the circuit to open');
      const opened = transition('Open');
      assert.match(opened?.reason ?? '', /: 3 consecutive failures$/);

      // The door: 503, Retry-After the remaining open time, a body naming the type and state.
      const refused = await post('flaky');
      assert.equal(refused.statusCode, 503);
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= OPEN_SECS, `Retry-After ${retryAfter}`);
      assert.equal(refused.json().signal_type, 'flaky');
      assert.equal(refused.json().circuit_state, 'Open');

      // Other lines keep flowing.
      const other = await app.inject({
        method: 'POST',
        url: '/signal',
        headers: { prefer: 'wait=10' },
        payload: { signal_type: 'validate' },
      });
      assert.equal(other.statusCode, 200, other.body);
      assert.equal(other.json().status, 'completed');

      // The line: the three behind are held back, not run and failed.
      await waitUntil(async () => {
        for (const id of ids.slice(3)) {
          const s = (await app.inject({ method: 'GET', url: `/signal/${id}/status` })).json();
          if (s.status !== 'queued' || !String(s.message).startsWith('held back')) return false;
        }
        return true;
      }, 'the queued signals to be held back');
      assert.equal(calls, 3, 'no signal ran while the line was stopped');
      for (const id of ids.slice(0, 3)) {
        assert.equal((await system.status(id)).status, 'dead_lettered');
      }

      // Fixed: once the open time is up, a held signal probes, closes the circuit, the rest follow.
      failing = false;
      await waitUntil(() => circuit() === 'Closed', 'the circuit to close', 15_000);
      const closed = transition('Closed');
      const recoveryMs = Date.parse(closed?.at ?? '') - Date.parse(opened?.at ?? '');
      t.diagnostic(
        `recovered ${recoveryMs.toFixed(0)} ms after opening; the timeout is ${OPEN_SECS * 1000} ms`,
      );
      assert.ok(
        recoveryMs >= OPEN_SECS * 1000 - 5 && recoveryMs <= OPEN_SECS * 1000 * 1.1,
        `recovered after ${recoveryMs} ms; the timeout is ${OPEN_SECS * 1000} ms`,
      );
      for (const id of ids.slice(3)) {
        const done = await system.waitFor(id, 10_000);
        assert.equal(done?.status, 'completed');
        assert.equal(done?.attempts, 1, 'being held back is not an attempt');
      }
      assert.equal(calls, 6);
      const report = (await app.inject({ method: 'GET', url: '/jidoka' })).json();
      assert.ok(report.circuits.flaky.deferred >= 3);
      assert.equal(report.circuits.flaky.openings, 1);
      const history = system
        .andonBoard()
        .history.filter((h) => h.principle === 'jidoka' && h.kind === 'alert');
      assert.ok(history.some((h) => h.level === 'RED' && h.reason.includes('Closed → Open')));
      assert.ok(history.some((h) => h.level === 'GREEN' && h.reason.includes('HalfOpen → Closed')));
    });
  });
}

describe('operators stop and restart a line', () => {
  test('isolate holds one line open until reset; both need the token when auth is on', async (t) => {
    const { app } = await startApp(t, {
      authEnabled: true,
      authToken: 'secret-token-1234',
      cbTimeoutSecs: 7,
    });
    const auth = { authorization: 'Bearer secret-token-1234' };
    const denied = await app.inject({ method: 'POST', url: '/jidoka/execute/isolate' });
    assert.equal(denied.statusCode, 401);

    const isolated = await app.inject({ method: 'POST', url: '/jidoka/execute/isolate', headers: auth });
    assert.equal(isolated.statusCode, 200, isolated.body);
    assert.equal(isolated.json().state, 'Open');
    assert.equal(isolated.json().isolated, true);

    const refused = await app.inject({
      method: 'POST',
      url: '/signal',
      headers: auth,
      payload: { signal_type: 'execute', payload: { action: 'x' } },
    });
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '7');
    const validate = await app.inject({
      method: 'POST',
      url: '/signal',
      headers: auth,
      payload: { signal_type: 'validate', payload: { data: [1] } },
    });
    assert.equal(validate.statusCode, 202, 'the other lines run');

    const report = (await app.inject({ method: 'GET', url: '/jidoka' })).json();
    assert.equal(report.circuit_state, 'Open');
    assert.equal(report.circuits.execute.isolated, true);
    assert.equal(report.circuits.validate.state, 'Closed');
    assert.equal(report.rules.timeout_secs, 7);

    const reset = await app.inject({ method: 'POST', url: '/jidoka/execute/reset', headers: auth });
    assert.equal(reset.statusCode, 200);
    assert.equal(reset.json().state, 'Closed');
    const accepted = await app.inject({
      method: 'POST',
      url: '/signal',
      headers: auth,
      payload: { signal_type: 'execute', payload: { action: 'x' } },
    });
    assert.equal(accepted.statusCode, 202);
  });

  test('an unknown or malformed type is a clear 4xx', async (t) => {
    const { app } = await startApp(t);
    const unknown = await app.inject({ method: 'POST', url: '/jidoka/nope/isolate' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error, 'unknown_signal_type');
    assert.ok(unknown.json().known_types.includes('validate'));
    const malformed = await app.inject({ method: 'POST', url: '/jidoka/%20bad/reset' });
    assert.equal(malformed.statusCode, 400);
  });
});
