import type { Server } from 'node:http';
import type { Logger } from '../logger.ts';
import type { Exposition } from '../observability/exposition.ts';

// Not `import … from 'node:http'`: an ES module import of it reads every export, and three of
// them (WebSocket, CloseEvent, MessageEvent) load Node.js's bundled fetch client, undici, which
// the service never uses: ~2 MB of resident memory for nothing. This is the CommonJS module object.
const { createServer } = process.getBuiltinModule('node:http');

/**
 * The Prometheus scrape endpoint on its own port: `GET /metrics` in the text format, anything
 * else 404. Kept apart from the API so scraping never competes with its routes or its guards.
 */
export async function startMetricsServer(
  exposition: Exposition,
  host: string,
  port: number,
  logger: Logger,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: GET /metrics\n');
      return;
    }
    exposition.metrics().then(
      (text) => response.writeHead(200, { 'content-type': exposition.contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics exposition failed');
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('exposition failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
