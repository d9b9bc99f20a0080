import type { FastifyPluginCallbackJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { TpsSystem } from '../../system.ts';
import { DOCUMENT_HEADERS, homePage } from '../page.ts';
import { registerAndonStream } from './andon-stream.ts';
import { andon, healthy, heijunka, info, metrics, status, unhealthy } from './schemas.ts';
import { healthBody, infoBody } from './views.ts';

/**
 * True when the client asks for the Prometheus text format (as a Prometheus scraper does) rather
 * than JSON: an Accept naming text/plain or OpenMetrics and not JSON.
 */
export function wantsPrometheusText(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const a = accept.toLowerCase();
  return (
    (a.includes('text/plain') || a.includes('application/openmetrics-text')) &&
    !a.includes('application/json')
  );
}

export interface ObservabilityRouteOptions {
  readonly system: TpsSystem;
  readonly version: string;
}

/** What reads every principle: health, metrics, the Andon board (and its live page), Heijunka. */
export const observabilityRoutes: FastifyPluginCallbackJsonSchemaToTs<{
  Options: ObservabilityRouteOptions;
}> = (app, { system, version }, done) => {
  app.get(
    '/health',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['observability'],
        summary: 'Health: 200 when healthy, 503 when not',
        description:
          'Six summary fields first (healthy, circuit_state, queue_depth, active_workers, error_rate, timestamp), then the queue, the circuits and the supervision tree.',
        response: { 200: healthy, 503: unhealthy },
      },
    },
    async (_request, reply) => {
      const h = healthBody(system.health());
      return reply.code(h.healthy ? 200 : 503).send(h);
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['observability'],
        summary: 'Kaizen metrics: JSON, or the Prometheus text format when the Accept header asks for it',
        description: 'Counts, error rate and latency percentiles, overall, over rolling windows and by type.',
        response: { 200: metrics },
      },
    },
    async (request, reply) => {
      if (wantsPrometheusText(request.headers.accept)) {
        // Not through the JSON serializer: the body is the exposition text already.
        return reply
          .type(system.exposition.contentType)
          .serializer((payload) => payload as string)
          .send(await system.exposition.metrics());
      }
      return system.metrics();
    },
  );

  app.get(
    '/info',
    {
      schema: {
        operationId: 'getInfo',
        tags: ['observability'],
        summary: 'Name, version, uptime and configuration',
        description: 'Secrets (AUTH_TOKEN, passwords in URLs) are left out.',
        response: { 200: info },
      },
    },
    async () => infoBody(system, version),
  );

  app.get(
    '/status',
    {
      schema: {
        operationId: 'getStatus',
        tags: ['observability'],
        summary: 'Health, metrics, Andon and Heijunka together',
        description: 'What GET /health, /metrics, /andon and /heijunka answer, in one request.',
        response: { 200: status },
      },
    },
    async () => ({
      status: system.state,
      health: healthBody(system.health()),
      metrics: system.metrics(),
      andon: system.andonBoard(),
      heijunka: system.heijunka(),
    }),
  );

  app.get(
    '/andon',
    {
      schema: {
        operationId: 'getAndon',
        tags: ['observability'],
        summary: 'The Andon board and its recent changes',
        description: 'GREEN, YELLOW or RED for each principle, with the reason and the figures behind it.',
        response: { 200: andon },
      },
    },
    async () => system.andonBoard(),
  );

  app.get(
    '/heijunka',
    {
      schema: {
        operationId: 'getHeijunka',
        tags: ['observability'],
        summary: 'Worker load',
        description:
          'Per-worker load, the balance coefficient, what waits by priority and type, and scaling.',
        response: { 200: heijunka },
      },
    },
    async () => system.heijunka(),
  );

  registerAndonStream(app, system);

  const page = () => homePage({ name: 'TPS Reference System', version, signalTypes: system.signalTypes() });
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').headers(DOCUMENT_HEADERS).send(page()),
  );

  done();
};
