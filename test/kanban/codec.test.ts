import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeSignal, encodeSignal, traceparentOf, withTraceContext } from '../../src/kanban/codec.ts';
import { testSignal } from '../helpers.ts';

describe('signal codec', () => {
  test('a signal survives the round trip through broker bytes', () => {
    const s = testSignal({ payload: { a: [1, { b: 'c' }] }, priority: 2, epoch: 3, traceFlags: 0 });
    assert.deepEqual(decodeSignal(encodeSignal(s)), s);
  });

  test('foreign or damaged bytes are no signal', () => {
    for (const bytes of ['', 'not json', '{"id":1}', '[]', 'null']) {
      assert.equal(decodeSignal(new TextEncoder().encode(bytes)), undefined, bytes);
    }
  });

  test('the message’s traceparent header is the context a consumer continues', () => {
    const s = testSignal();
    assert.equal(traceparentOf(s), `00-${s.traceId}-${s.parentSpanId}-01`);
    assert.equal(withTraceContext(s, traceparentOf(s)), s);
    assert.equal(withTraceContext(s, undefined), s);
    assert.equal(withTraceContext(s, 'garbage'), s);
    const moved = withTraceContext(s, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
    assert.equal(moved.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(moved.parentSpanId, '00f067aa0ba902b7');
    assert.equal(moved.traceFlags, 0);
    assert.equal(moved.id, s.id);
  });
});
