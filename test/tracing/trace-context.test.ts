import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newSpanId, newTraceId, newUuid } from '../../src/ids.ts';
import { formatTraceparent, parseTraceparent } from '../../src/tracing/trace-context.ts';
import { IdsOnlyTracer, refOf, SpanKind } from '../../src/tracing/tracer.ts';

describe('trace context', () => {
  test('ids are W3C shaped and distinct', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const t = newTraceId();
      assert.match(t, /^[0-9a-f]{32}$/);
      assert.notEqual(t, '0'.repeat(32));
      ids.add(t);
      assert.match(newSpanId(), /^[0-9a-f]{16}$/);
    }
    assert.equal(ids.size, 2_000);
  });

  test('signal ids are RFC 9562 version 4 UUIDs and distinct', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const id = newUuid();
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 5_000);
  });

  test('a valid traceparent is continued', () => {
    const header = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const parent = parseTraceparent(header);
    assert.deepEqual(parent, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    const span = new IdsOnlyTracer().start('child', SpanKind.SERVER, parent).spanContext();
    assert.equal(span.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.match(span.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(span.spanId, '00f067aa0ba902b7');
  });

  test('malformed headers start a new trace', () => {
    for (const bad of [
      '',
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    ]) {
      assert.equal(parseTraceparent(bad), undefined, bad);
    }
  });

  test('a later version with extra fields is accepted', () => {
    const ctx = parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future');
    assert.equal(ctx?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(ctx?.sampled, false);
  });

  test('without a parent a new trace starts; ids are still assigned without an exporter', () => {
    const span = new IdsOnlyTracer().start('root', SpanKind.INTERNAL, undefined).spanContext();
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.equal(
      formatTraceparent({ traceId: span.traceId, spanId: span.spanId, sampled: true }),
      `00-${span.traceId}-${span.spanId}-01`,
    );
  });
});

describe('ids-only spans', () => {
  test('a span id is drawn once, when first read, and children continue the trace', () => {
    const tracer = new IdsOnlyTracer();
    const root = tracer.start('root', SpanKind.SERVER, undefined);
    const ref = refOf(root);
    assert.equal(ref, root, 'an ids-only span is its own parent reference');
    assert.equal(ref.sampled, true);
    const child = tracer.start('child', SpanKind.INTERNAL, ref);
    assert.equal(child.spanContext().traceId, root.spanContext().traceId);
    const id = root.spanContext().spanId;
    assert.match(id, /^[0-9a-f]{16}$/);
    assert.equal(root.spanContext().spanId, id, 'the same id on every read');
    assert.notEqual(child.spanContext().spanId, id);
    const unsampled = tracer.start('x', SpanKind.INTERNAL, {
      traceId: newTraceId(),
      spanId: newSpanId(),
      sampled: false,
    });
    assert.equal(refOf(unsampled).sampled, false);
    assert.equal(unsampled.spanContext().traceFlags, 0);
  });
});
