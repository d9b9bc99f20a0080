import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { TpsConfig } from '../../src/config.ts';
import type { SignalHandler } from '../../src/handlers/registry.ts';
import { encodeSignal } from '../../src/kanban/codec.ts';
import {
  deleteNatsNamespace,
  deleteRabbitNamespace,
  NATS_URL,
  RABBITMQ_URL,
  uniqueNamespace,
} from '../brokers.ts';
import { deferred, startApp, startSystem, testSignal, waitUntil } from '../helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

function brokerConfig(backend: 'nats' | 'rabbitmq', namespace: string): Partial<TpsConfig> {
  return {
    kanbanBackend: backend,
    brokerNamespace: namespace,
    natsUrl: NATS_URL,
    rabbitmqUrl: RABBITMQ_URL,
    retryBaseMs: 50,
    retryMaxMs: 100,
  };
}

const json = { 'content-type': 'application/json' };

for (const backend of ['nats', 'rabbitmq'] as const) {
  describe(`the pipeline on ${backend}`, () => {
    test('a signal goes through the broker to completed, and its status is served', async (t) => {
      const namespace = uniqueNamespace();
      cleanups.push(() =>
        backend === 'nats' ? deleteNatsNamespace(namespace) : deleteRabbitNamespace(namespace),
      );
      const { app, system } = await startApp(t, brokerConfig(backend, namespace));
      assert.equal(system.health().backend, backend);
      assert.equal(system.health().healthy, true);
      const res = await app.inject({
        method: 'POST',
        url: '/signal',
        headers: { ...json, prefer: 'wait=10' },
        payload: JSON.stringify({ signal_type: 'validate', payload: { data: [1, 2] } }),
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'completed');
      const status = await app.inject({ method: 'GET', url: `/signal/${res.json().signal_id}/status` });
      assert.equal(status.json().status, 'completed');
      assert.equal(status.json().message, 'Validation successful');
    });

    test('a failing signal is retried through the broker, dead-lettered, and can be retried', async (t) => {
      const namespace = uniqueNamespace();
      cleanups.push(() =>
        backend === 'nats' ? deleteNatsNamespace(namespace) : deleteRabbitNamespace(namespace),
      );
      let fail = true;
      let runs = 0;
      const flaky: SignalHandler = () => {
        runs++;
        if (fail) throw new Error('down');
        return 'up again';
      };
      const system = await startSystem(
        t,
        { ...brokerConfig(backend, namespace), cbThreshold: 100 },
        {
          handlers: { flaky },
        },
      );
      const { signal: record } = await system.submit({ type: 'flaky' });
      const dead = await system.waitFor(record.signal_id, 15_000);
      assert.equal(dead?.status, 'dead_lettered');
      assert.equal(dead?.attempts, 3);
      assert.equal(runs, 3);
      await waitUntil(() => system.health().dlq_depth >= 1, 'the dead letter counted', 5_000);
      fail = false;
      await system.retry(record.signal_id);
      const done = await system.waitFor(record.signal_id, 15_000);
      assert.equal(done?.status, 'completed');
      assert.equal(runs, 4);
    });

    test('an Idempotency-Key replay of a signal still waiting on the broker does not run it twice', async (t) => {
      const namespace = uniqueNamespace();
      cleanups.push(() =>
        backend === 'nats' ? deleteNatsNamespace(namespace) : deleteRabbitNamespace(namespace),
      );
      const gates = new Map<string, ReturnType<typeof deferred<void>>>();
      const runs = new Map<string, number>();
      const hold: SignalHandler = async (signal) => {
        runs.set(signal.id, (runs.get(signal.id) ?? 0) + 1);
        await gates.get(String(signal.payload.gate))?.promise;
        return 'held';
      };
      const system = await startSystem(
        t,
        {
          ...brokerConfig(backend, namespace),
          numWorkers: 1,
          heijunkaPool: 1,
          heijunkaPoolMax: 1,
          workerCards: 2,
        },
        { handlers: { hold } },
      );
      for (const g of ['a', 'b']) gates.set(g, deferred<void>());
      // Both cards taken by two `a` signals; the keyed `b` waits behind them.
      const a1 = await system.submit({ type: 'hold', payload: { gate: 'a' } });
      const a2 = await system.submit({ type: 'hold', payload: { gate: 'a' } });
      await waitUntil(
        () => runs.get(a1.signal.signal_id) === 1 && runs.get(a2.signal.signal_id) === 1,
        'both cards taken',
      );
      const b = await system.submit({
        type: 'hold',
        payload: { gate: 'b' },
        idempotencyKey: `k-${namespace}`,
      });
      const replay = await system.submit({
        type: 'hold',
        payload: { gate: 'b' },
        idempotencyKey: `k-${namespace}`,
      });
      assert.equal(replay.replayed, true);
      assert.equal(replay.signal.signal_id, b.signal.signal_id);
      // The cards come free while `b` (and any second copy of it) is delivered; `b` holds one.
      gates.get('a')?.resolve();
      await waitUntil(() => (runs.get(b.signal.signal_id) ?? 0) >= 1, 'b running');
      // Time for a second copy, if the broker holds one, to be delivered to the free card.
      await sleep(500);
      gates.get('b')?.resolve();
      assert.equal((await system.waitFor(b.signal.signal_id, 10_000))?.status, 'completed');
      await waitUntil(() => system.health().in_flight === 0, 'nothing in flight');
      assert.equal(runs.get(b.signal.signal_id), 1);
    });
  });
}

describe('trace context in NATS message headers', () => {
  test('a message published elsewhere with a traceparent header is processed in that trace', async (t) => {
    const namespace = uniqueNamespace();
    cleanups.push(() => deleteNatsNamespace(namespace));
    const seen: string[] = [];
    const traced: SignalHandler = (_signal, ctx) => {
      seen.push(ctx.traceId);
      return 'ok';
    };
    const system = await startSystem(t, brokerConfig('nats', namespace), { handlers: { traced } });
    const { connect } = await import('@nats-io/transport-node');
    const { jetstream } = await import('@nats-io/jetstream');
    const { headers } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: NATS_URL });
    t.after(() => nc.close());
    const h = headers();
    h.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const signal = testSignal({ type: 'traced' });
    await jetstream(nc).publish(`${namespace}.signals.traced`, encodeSignal(signal), { headers: h });
    await waitUntil(() => seen.length === 1, 'the signal to be processed', 10_000);
    assert.deepEqual(seen, ['4bf92f3577b34da6a3ce929d0e0e4736']);
    // Published around the service, the signal has no status until its outcome is written, just
    // after the handler returns.
    await waitUntil(
      () =>
        system.status(signal.id).then(
          (r) => r.status === 'completed',
          () => false,
        ),
      'the outcome to be written',
      10_000,
    );
    assert.equal((await system.status(signal.id)).trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
  });
});

describe('two instances on one NATS stream', () => {
  test('share the work, process each signal once, and both answer its status', async (t) => {
    const namespace = uniqueNamespace();
    cleanups.push(() => deleteNatsNamespace(namespace));
    const runs = new Map<string, number>();
    const count: SignalHandler = async (signal, ctx) => {
      runs.set(signal.id, (runs.get(signal.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5));
      return { message: 'counted', data: { worker: ctx.workerId } };
    };
    const config = { ...brokerConfig('nats', namespace), numWorkers: 2, workerCards: 4 };
    const a = await startSystem(t, config, { handlers: { count } });
    const b = await startSystem(t, config, { handlers: { count } });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++)
      ids.push((await (i % 2 === 0 ? a : b).submit({ type: 'count' })).signal.signal_id);
    await waitUntil(
      async () => (await Promise.all(ids.map((id) => a.status(id)))).every((r) => r.status === 'completed'),
      'every signal completed',
      30_000,
    );
    for (const id of ids) {
      assert.equal(runs.get(id), 1, `signal ${id} ran once`);
      assert.equal((await b.status(id)).status, 'completed', 'readable from the other instance');
    }
    const processedA = a.heijunka().workers.reduce((n, w) => n + w.processed, 0);
    const processedB = b.heijunka().workers.reduce((n, w) => n + w.processed, 0);
    assert.equal(processedA + processedB, 200);
    assert.ok(processedA > 0 && processedB > 0, `both took work: ${processedA} and ${processedB}`);
  });
});

describe('status of a waiting signal on NATS', () => {
  test('any instance reads it from the stream until its outcome is written, with no KV record', async (t) => {
    const namespace = uniqueNamespace();
    cleanups.push(() => deleteNatsNamespace(namespace));
    const gate = deferred();
    const slow: SignalHandler = async () => {
      await gate.promise;
      return 'done';
    };
    const config = { ...brokerConfig('nats', namespace), numWorkers: 1, workerCards: 1 };
    const a = await startSystem(t, config, { handlers: { slow } });
    const b = await startSystem(t, config, { handlers: { slow } });
    t.after(() => gate.resolve());
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await a.submit({ type: 'slow' })).signal.signal_id);
    // Two cards in all: at least two of the four wait in the stream.
    const nc = await connect({ servers: NATS_URL });
    t.after(() => nc.close());
    const kv = await new Kvm(nc).open(`${namespace}_status`);
    let waiting = 0;
    for (const id of ids) {
      const [fromA, fromB] = [await a.status(id), await b.status(id)];
      assert.equal(fromA.status, fromB.status, `both instances agree on ${id}`);
      if (fromA.status === 'queued' && (await kv.get(id)) === null) {
        waiting++;
        assert.equal(fromB.signal_type, 'slow');
        assert.equal(fromB.attempts, 0);
      }
    }
    assert.ok(waiting >= 2, `at least two signals answered from the stream, got ${waiting}`);
    gate.resolve();
    await waitUntil(
      async () => (await Promise.all(ids.map((id) => b.status(id)))).every((r) => r.status === 'completed'),
      'every signal completed, as read from the other instance',
      15_000,
    );
    for (const id of ids) assert.equal((await kv.get(id))?.json<{ state: string }>().state, 'completed');
    await assert.rejects(a.status('no-such-signal'), { code: 'signal_not_found' });
    for (const id of ['*', '>', `${ids[0]}.>`, 'a.b']) {
      await assert.rejects(a.status(id), { code: 'signal_not_found' }, `"${id}" matches nothing`);
    }
  });
});
