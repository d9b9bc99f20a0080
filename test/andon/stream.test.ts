import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { startApp, waitUntil } from '../helpers.ts';

interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

/** Reads Server-Sent Events from a live response into `events`, until aborted. */
async function listen(
  url: string,
  abort: AbortController,
  events: SseEvent[],
  raw: string[],
): Promise<Response> {
  const response = await fetch(url, { signal: abort.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          raw.push(block);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
  return response;
}

async function liveApp(t: TestContext) {
  const { app, system } = await startApp(t, { cbTimeoutSecs: 60 });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, system, url: `${address}/andon/stream` };
}

describe('GET /andon/stream', () => {
  test('a snapshot at connect, then each change as it happens, then snapshots every second', async (t) => {
    const { system, url } = await liveApp(t);
    const abort = new AbortController();
    t.after(() => abort.abort());
    const events: SseEvent[] = [];
    const raw: string[] = [];
    const response = await listen(url, abort, events, raw);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    await waitUntil(() => events.length >= 1, 'the first snapshot');
    assert.equal(raw[0], 'retry: 1000', 'browsers are told to reconnect within a second');
    const first = events[0] as SseEvent;
    assert.equal(first.event, 'snapshot');
    const board = first.data as { overall: string; principles: Record<string, unknown>; figures: unknown };
    assert.equal(board.overall, 'GREEN');
    assert.deepEqual(Object.keys(board.principles).sort(), [
      'andon',
      'heijunka',
      'jidoka',
      'kaizen',
      'kanban',
      'tracing',
    ]);
    assert.ok(board.figures !== undefined);

    system.isolateLine('execute');
    await waitUntil(
      () => events.some((e) => e.event === 'change' && (e.data as { level: string }).level === 'RED'),
      'the change event',
    );
    const changes = events.filter((e) => e.event === 'change').map((e) => e.data as Record<string, string>);
    assert.ok(
      changes.some(
        (c) => c.principle === 'jidoka' && c.kind === 'alert' && String(c.reason).includes('execute'),
      ),
    );
    await waitUntil(
      () => events.filter((e) => e.event === 'snapshot').length >= 2,
      'a periodic snapshot',
      5_000,
    );
    const last = events.filter((e) => e.event === 'snapshot').at(-1)?.data as { overall: string };
    assert.equal(last.overall, 'RED');
  });

  test('a client that goes away is cleaned up, and closing the server ends open streams', async (t) => {
    const { app, system, url } = await liveApp(t);
    // The stream's neighbour, watched: how many of its Andon subscriptions are live.
    let listening = 0;
    const subscribe = system.onAndonChange.bind(system);
    system.onAndonChange = (listener) => {
      listening++;
      const unsubscribe = subscribe(listener);
      return () => {
        listening--;
        unsubscribe();
      };
    };
    const before = listening;
    const gone = new AbortController();
    const staying = new AbortController();
    t.after(() => staying.abort());
    const a: SseEvent[] = [];
    const b: SseEvent[] = [];
    await listen(url, gone, a, []);
    await listen(url, staying, b, []);
    await waitUntil(() => a.length >= 1 && b.length >= 1, 'both streams open');
    assert.equal(listening, before + 2);
    gone.abort();
    await waitUntil(() => listening === before + 1, 'the gone client dropped');
    // The server closes although a stream is still open.
    await app.close();
    assert.equal(listening, before);
  });
});
