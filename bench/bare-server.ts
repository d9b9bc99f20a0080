/**
 * The ceiling for `bench/run.ts`: a bare Fastify server with the one route the benchmark loads,
 * `POST /signal`. It parses the body with Fastify's default JSON parser and answers 202 with a body
 * of the same shape as the service's, without validating, queueing or processing anything. Any
 * other request gets Fastify's 404 (the bench's readiness probe relies on that).
 *
 * The bench runs it compiled, like the service (`npm run build` writes it to dist/bench/):
 *
 *   HTTP_PORT=8081 node dist/bench/bare-server.js
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

const port = Number(process.env.HTTP_PORT ?? '8081');
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`bare-server: HTTP_PORT must be an integer port, got ${process.env.HTTP_PORT}\n`);
  process.exit(1);
}

const app = Fastify({ logger: false });

app.post(
  '/signal',
  {
    schema: {
      response: {
        202: {
          type: 'object',
          properties: {
            success: { type: 'boolean' },
            signal_id: { type: 'string' },
            trace_id: { type: 'string' },
            status: { type: 'string' },
            status_url: { type: 'string' },
          },
        },
      },
    },
  },
  // Fastify's default JSON parser has parsed the body (400 when it is not JSON) before this runs.
  async (_request, reply) => {
    const id = randomUUID();
    return reply.code(202).send({
      success: true,
      signal_id: id,
      trace_id: TRACE_ID,
      status: 'queued',
      status_url: `/signal/${id}/status`,
    });
  },
);

const stop = () => {
  void app.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`bare-server listening on 127.0.0.1:${port}\n`);
