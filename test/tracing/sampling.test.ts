import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OtelTracer } from '../../src/tracing/otel.ts';
import { SpanKind } from '../../src/tracing/tracer.ts';

// A collector that takes every export at once, so shutting a tracer down is quick: these tests
// only look at sampling decisions.
const sink = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
let endpoint = '';
before(async () => {
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => sink.close(() => resolve())));

function tracer(sampleRatio: number, maxTracesPerSec: number): OtelTracer {
  return new OtelTracer({
    endpoint,
    serviceName: 'test',
    serviceVersion: '0',
    environment: 'test',
    sampleRatio,
    maxTracesPerSec,
  });
}

const sampled = (
  t: OtelTracer,
  n: number,
  parent?: { traceId: string; spanId: string; sampled: boolean },
) => {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const span = t.start('s', SpanKind.SERVER, parent);
    if ((span.spanContext().traceFlags & 1) === 1) count++;
    span.end();
  }
  return count;
};

const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

describe('trace sampling', () => {
  test('new traces are capped per second; the rest keep ids, unsampled', async () => {
    const t = tracer(1, 5);
    const n = sampled(t, 1_000);
    // Five a second: ten if the loop happens to straddle a second boundary.
    assert.ok(n >= 5 && n <= 10, `${n} sampled`);
    await t.shutdown().catch(() => undefined);
  });

  test('with no cap and ratio 1 every new trace is sampled; ratio 0 samples none', async () => {
    const all = tracer(1, 0);
    const none = tracer(0, 0);
    assert.equal(sampled(all, 200), 200);
    assert.equal(sampled(none, 200), 0);
    await Promise.all([all.shutdown(), none.shutdown()].map((p) => p.catch(() => undefined)));
  });

  test('a caller’s decision is followed whatever the ratio and the cap', async () => {
    const t = tracer(0, 1);
    assert.equal(sampled(t, 50, { ...caller, sampled: true }), 50);
    const child = t.start('c', SpanKind.INTERNAL, { ...caller, sampled: false }).spanContext();
    assert.equal(child.traceFlags & 1, 0);
    assert.equal(child.traceId, caller.traceId, 'an unsampled child keeps the trace id');
    assert.match(child.spanId, /^[0-9a-f]{16}$/);
    await t.shutdown().catch(() => undefined);
  });
});
