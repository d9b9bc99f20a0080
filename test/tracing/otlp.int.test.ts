import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, describe, type TestContext, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { TpsConfig } from '../../src/config.ts';
import type { SignalHandler } from '../../src/handlers/registry.ts';
import { deleteNatsNamespace, NATS_URL, uniqueNamespace } from '../brokers.ts';
import { startApp, waitUntil } from '../helpers.ts';
import { freePorts } from '../process.ts';

interface Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
}

/** OTLP/JSON carries ids as hex (per the specification) or base64 (some encoders): read both. */
function id(value: unknown): string {
  const v = String(value ?? '');
  return /^[0-9a-f]*$/.test(v) ? v : Buffer.from(v, 'base64').toString('hex');
}

function attributes(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of (list as { key: string; value: Record<string, unknown> }[]) ?? []) {
    const v = a.value;
    out[a.key] = v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
  }
  return out;
}

/** POSTs a `work` signal and waits up to 5 s for its result. */
function submitWork(app: FastifyInstance, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/signal',
    headers: { 'content-type': 'application/json', prefer: 'wait=5', ...headers },
    payload: JSON.stringify({ signal_type: 'work' }),
  });
}

/** The Prometheus exposition of GET /metrics. */
async function prometheusText(app: FastifyInstance): Promise<string> {
  return (await app.inject({ method: 'GET', url: '/metrics', headers: { accept: 'text/plain' } })).body;
}

/** A trace collector of the test's own: takes OTLP/HTTP JSON exports, keeps the spans. */
async function otlpReceiver(t: TestContext): Promise<{ url: string; spans: Span[] }> {
  const spans: Span[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const doc = JSON.parse(body) as {
          resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
        };
        for (const rs of doc.resourceSpans ?? []) {
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                traceId: id(s.traceId),
                spanId: id(s.spanId),
                parentSpanId: id(s.parentSpanId),
                name: String(s.name),
                kind: Number(s.kind),
                attributes: attributes(s.attributes),
              });
            }
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, spans };
}

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

const namespaces: string[] = [];
after(async () => {
  for (const ns of namespaces) await deleteNatsNamespace(ns);
});

function byName(spans: Span[], name: string): Span {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span named ${name}; got ${spans.map((s) => s.name).join(', ')}`);
  return found[0] as Span;
}

for (const backend of ['memory', 'nats'] as const) {
  describe(`traces across the queue (${backend})`, () => {
    test('one signal is one trace: request → admit, publish → consume → handler, ack', async (t) => {
      const receiver = await otlpReceiver(t);
      const config: Partial<TpsConfig> = { otlpEndpoint: receiver.url };
      if (backend === 'nats') {
        const namespace = uniqueNamespace('otel');
        namespaces.push(namespace);
        Object.assign(config, { kanbanBackend: 'nats', brokerNamespace: namespace, natsUrl: NATS_URL });
      }
      const work: SignalHandler = () => 'done';
      const { app, system } = await startApp(t, config, { handlers: { work } });
      assert.equal(system.tracer.exporting, true);
      const res = await app.inject({
        method: 'POST',
        url: '/signal',
        headers: {
          'content-type': 'application/json',
          prefer: 'wait=10',
          traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
        },
        payload: JSON.stringify({ signal_type: 'work', priority: 2 }),
      });
      assert.equal(res.statusCode, 200, res.body);
      const signalId = res.json().signal_id as string;
      assert.equal(res.json().trace_id, CALLER_TRACE, 'the response names the caller’s trace');

      await waitUntil(
        async () => {
          await system.tracer.flush();
          return receiver.spans.some((s) => s.name === 'kanban.ack');
        },
        'the spans to be exported',
        10_000,
      );
      const spans = receiver.spans.filter((s) => s.traceId === CALLER_TRACE);
      const request = byName(spans, 'POST /signal');
      const admit = byName(spans, 'jidoka.admit');
      const publish = byName(spans, 'kanban.publish');
      const consume = byName(spans, 'kanban.consume');
      const handler = byName(spans, 'handler.work');
      const ack = byName(spans, 'kanban.ack');
      assert.equal(request.parentSpanId, CALLER_SPAN, 'the request continues the caller’s span');
      assert.equal(admit.parentSpanId, request.spanId);
      assert.equal(publish.parentSpanId, request.spanId);
      assert.equal(consume.parentSpanId, publish.spanId, 'the worker joins the trace through the queue');
      assert.equal(handler.parentSpanId, consume.spanId);
      assert.equal(ack.parentSpanId, consume.spanId);
      assert.equal(request.kind, 2, 'server');
      assert.equal(publish.kind, 4, 'producer');
      assert.equal(consume.kind, 5, 'consumer');
      assert.equal(consume.attributes['tps.signal.id'], signalId);
      assert.equal(consume.attributes['tps.signal.type'], 'work');
      assert.equal(Number(consume.attributes['tps.signal.priority']), 2);
      assert.equal(Number(consume.attributes['tps.attempt']), 1);
      assert.match(String(consume.attributes['tps.worker.id']), /^worker-\d+$/);
      assert.equal(consume.attributes['tps.outcome'], 'completed');
      assert.equal(consume.attributes['messaging.system'], backend);
      assert.equal(handler.attributes['tps.outcome'], 'ok');
      assert.equal(admit.attributes['tps.outcome'], 'admitted');
      assert.equal(system.health().healthy, true);
      const exposition = await prometheusText(app);
      const exported = /^tps_tracing_spans_exported_total (\d+)$/m.exec(exposition);
      assert.ok(Number(exported?.[1]) >= spans.length, `spans exported counted: ${exported?.[0]}`);
      assert.match(exposition, /^tps_tracing_spans_failed_total 0$/m);
    });
  });
}

describe('shutdown', () => {
  test('a collector that is down does not hold the stop: the last spans get a bounded chance', async (t) => {
    const { app, system } = await startApp(
      t,
      { otlpEndpoint: 'http://127.0.0.1:9' },
      { handlers: { work: () => 'ok' } },
    );
    await submitWork(app);
    const started = performance.now();
    const report = await system.stop(5_000);
    assert.equal(report.drained, true);
    assert.ok(performance.now() - started < 10_000, 'stopped within the bound');
  });
});

describe('export failures', () => {
  test('spans a collector refuses are counted as lost, and the tracing light says so', async (t) => {
    const [closed] = await freePorts(1);
    const { app, system } = await startApp(
      t,
      { otlpEndpoint: `http://127.0.0.1:${closed}` },
      { handlers: { work: () => 'ok' } },
    );
    await submitWork(app);
    await waitUntil(
      async () => {
        await system.tracer.flush().catch(() => {});
        return system.tracer.status().spansFailed > 0;
      },
      'the export to fail',
      15_000,
    );
    const failed = /^tps_tracing_spans_failed_total (\d+)$/m.exec(await prometheusText(app));
    assert.ok(Number(failed?.[1]) > 0, `lost spans counted: ${failed?.[0]}`);
    assert.equal(system.tracer.status().healthy, false);
  });
});

describe('sampling', () => {
  test('a caller that did not sample its trace gets no spans exported, but its trace id back', async (t) => {
    const receiver = await otlpReceiver(t);
    const { app, system } = await startApp(
      t,
      { otlpEndpoint: receiver.url },
      { handlers: { work: () => 'ok' } },
    );
    const res = await submitWork(app, { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-00` });
    assert.equal(res.json().trace_id, CALLER_TRACE);
    const signalId = res.json().signal_id as string;
    // A sampled signal afterwards proves the exporter works: then look for the first one's spans.
    await submitWork(app);
    await waitUntil(
      async () => {
        await system.tracer.flush();
        return receiver.spans.some((s) => s.name === 'kanban.ack');
      },
      'the sampled signal’s spans',
      10_000,
    );
    assert.deepEqual(
      receiver.spans.filter((s) => s.traceId === CALLER_TRACE || s.attributes['tps.signal.id'] === signalId),
      [],
    );
  });

  test('without an endpoint nothing is exported and ids are still assigned', async (t) => {
    const { app, system } = await startApp(t, {}, { handlers: { work: () => 'ok' } });
    assert.equal(system.tracer.exporting, false);
    const res = await app.inject({
      method: 'POST',
      url: '/signal',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ signal_type: 'work' }),
    });
    assert.match(res.json().trace_id, /^[0-9a-f]{32}$/);
  });
});
