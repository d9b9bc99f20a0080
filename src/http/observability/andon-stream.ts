import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { TpsSystem } from '../../system.ts';
import { tooManyStreams } from './schemas.ts';

export interface StreamOptions {
  /** How often the full board (with its figures) is sent; changes go out at once. */
  readonly snapshotEveryMs?: number;
  /** Comment lines that keep idle proxies from closing the connection. */
  readonly heartbeatEveryMs?: number;
  /** Open streams at most; past it a new client gets 503. */
  readonly maxClients?: number;
}

/**
 * GET /andon/stream: Server-Sent Events. At connect a `snapshot` event (the board with its
 * figures), then a `change` event for every level change or alert as it happens, a `snapshot`
 * every second, and a heartbeat comment. `retry: 1000` makes browsers reconnect within a second
 * after a restart. A client that goes away is dropped at once, with its listener and timers; when
 * the server closes, every stream is ended so the close does not wait for them.
 */
export function registerAndonStream(
  app: FastifyInstance,
  system: TpsSystem,
  options: StreamOptions = {},
): void {
  const snapshotEveryMs = options.snapshotEveryMs ?? 1000;
  const heartbeatEveryMs = options.heartbeatEveryMs ?? 15_000;
  const maxClients = options.maxClients ?? 100;
  let clients = 0;
  /** Ends each open stream; run when the server closes, which would otherwise wait for them. */
  const open = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const end of open) end();
    done();
  });

  app.get(
    '/andon/stream',
    {
      schema: {
        operationId: 'streamAndon',
        tags: ['observability'],
        summary: 'The Andon board, live (Server-Sent Events)',
        description:
          'A `snapshot` event at connect, a `change` event for each level change or alert as it happens, a `snapshot` every second, and a heartbeat comment.',
        response: {
          200: {
            description: 'The event stream.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          503: tooManyStreams,
        },
      },
    },
    (request, reply) => {
      if (clients >= maxClients) {
        reply
          .code(503)
          .header('retry-after', '5')
          .send({
            success: false,
            error: 'too_many_streams',
            message: `at most ${maxClients} Andon streams at once`,
          });
        return;
      }
      clients++;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        // The security headers and request id set on the reply so far, then the stream's own.
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (event: string, data: unknown) => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      res.write('retry: 1000\n\n');
      send('snapshot', system.andonBoard());
      const unsubscribe = system.onAndonChange((change) => send('change', change));
      const snapshots = setInterval(() => send('snapshot', system.andonBoard()), snapshotEveryMs);
      const heartbeats = setInterval(() => res.write(': heartbeat\n\n'), heartbeatEveryMs);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        clients--;
        unsubscribe();
        clearInterval(snapshots);
        clearInterval(heartbeats);
        open.delete(end);
      };
      const end = () => {
        close();
        res.end();
      };
      open.add(end);
      request.raw.on('close', close);
      res.on('close', close);
      res.on('error', close);
    },
  );
}
