// Types only: the provider's runtime (its own validator compiler, TypeBox's compiler and value
// modules, ajv-formats) is not used, since Fastify validates with its ajv; loading it cost ~10 MB.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { publicConfig } from '../config.ts';
import { InvalidSignalError } from '../errors.ts';
import type { SignalStatus as Status } from '../signal.ts';
import type { TpsSystem } from '../system.ts';
import { parseTraceparent } from '../tracing/trace-context.ts';
import { refOf, SPAN_ERROR, SpanKind } from '../tracing/tracer.ts';
import { DOCUMENT_HEADERS, homePage } from './page.ts';
// The schemas as plain objects (generated from schemas.ts, which is TypeBox): TypeBox itself is
// not loaded at run time.
import {
  Accepted,
  AndonSchema,
  CircuitSchema,
  Crashed,
  CrashQuery,
  ErrorBody,
  Health,
  HeijunkaSchema,
  Info,
  JidokaSchema,
  LineParams,
  Metrics,
  Processed,
  SignalIdParams,
  SignalStatus,
  StatusSchema,
  signalBodySchema,
} from './schemas.gen.ts';

export interface RouteOptions {
  readonly version: string;
  /** Run before every write endpoint (authentication, rate limit). */
  readonly writeGuards: preHandlerAsyncHookHandler[];
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** The attributes of every `POST /signal` server span (exported spans copy them). */
const SIGNAL_ROUTE_ATTRIBUTES = Object.freeze({ 'http.request.method': 'POST', 'http.route': '/signal' });

function statusUrl(id: string): string {
  return `/signal/${id}/status`;
}

export function statusBody(s: Status) {
  return { ...s, status_url: statusUrl(s.signal_id) };
}

/** The seed's processed-signal body, for a signal that has finished. */
export function processedBody(s: Status) {
  const ok = s.status === 'completed';
  return {
    success: ok,
    signal_id: s.signal_id,
    message: (ok ? s.message : s.error) ?? s.status,
    trace_id: s.trace_id,
    duration_ms: s.duration_ms ?? 0,
    status: s.status,
    worker_id: s.worker_id ?? '',
    attempts: s.attempts,
    result: s.result,
  };
}

/** Reads `wait=N` (seconds) from an RFC 7240 `Prefer` header; undefined when absent. */
export function preferWait(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(text);
  return match === null ? undefined : Number(match[1]);
}

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

function idempotencyKey(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw)) {
    throw new InvalidSignalError('Idempotency-Key must be 1–255 visible ASCII characters', 'Idempotency-Key');
  }
  return raw;
}

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 503: ErrorBody };

export function registerRoutes(fastify: FastifyInstance, system: TpsSystem, options: RouteOptions): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const config = system.config;
  const maxWaitMs = config.maxWaitSecs * 1000;
  // No hook array at all when there are no guards: Fastify runs even an empty one per request.
  const guards = options.writeGuards.length > 0 ? { preHandler: options.writeGuards } : {};
  const page = () =>
    homePage({
      name: 'TPS Reference System',
      version: options.version,
      signalTypes: system.signalTypes(),
    });

  app.post(
    '/signal',
    {
      ...guards,
      schema: {
        summary: 'Submit a work signal',
        body: signalBodySchema(config.maxTimeoutMs, config.defaultTimeoutMs),
        response: { 200: Processed, 202: Accepted, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const span = system.tracer.start(
        'POST /signal',
        SpanKind.SERVER,
        parseTraceparent(request.headers.traceparent as string | undefined),
        system.tracer.exporting ? SIGNAL_ROUTE_ATTRIBUTES : undefined,
      );
      try {
        const result = await system.submit({
          type: body.signal_type,
          priority: body.priority as 1 | 2 | 3 | 4 | undefined,
          payload: body.payload,
          timeoutMs: body.timeout_ms,
          parent: refOf(span),
          idempotencyKey: idempotencyKey(request),
        });
        let signal = result.signal;
        span.setAttribute('tps.signal.id', signal.signal_id);
        const url = statusUrl(signal.signal_id);
        reply.header('location', url);
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        const wait = preferWait(request.headers.prefer);
        if (wait !== undefined) {
          signal = (await system.waitFor(signal.signal_id, Math.min(wait * 1000, maxWaitMs))) ?? signal;
          if (signal.status === 'completed' || signal.status === 'dead_lettered') {
            reply.header('preference-applied', `wait=${wait}`);
            span.setAttribute('http.response.status_code', 200);
            return reply.code(200).send(processedBody(signal));
          }
        }
        span.setAttribute('http.response.status_code', 202);
        return reply.code(202).send({
          success: true,
          signal_id: signal.signal_id,
          trace_id: signal.trace_id,
          // A new signal is reported as accepted; a replay reports where the original is now.
          status: result.replayed ? signal.status : 'queued',
          status_url: url,
        });
      } catch (error) {
        span.setStatus({ code: SPAN_ERROR, message: (error as Error).message });
        span.setAttribute('error.type', (error as { code?: string }).code ?? 'internal_error');
        throw error;
      } finally {
        span.end();
      }
    },
  );

  app.get(
    '/signal/:id/status',
    {
      schema: {
        summary: 'A signal’s status and result',
        params: SignalIdParams,
        response: { 200: SignalStatus, 404: ErrorBody },
      },
    },
    async (request) => statusBody(await system.status(request.params.id)),
  );

  app.post(
    '/signal/:id/retry',
    {
      ...guards,
      schema: {
        summary: 'Enqueue a failed or dead-lettered signal again',
        params: SignalIdParams,
        response: { 202: Accepted, ...errors },
      },
    },
    async (request, reply) => {
      const signal = await system.retry(request.params.id);
      const url = statusUrl(signal.signal_id);
      return reply.code(202).header('location', url).send({
        success: true,
        signal_id: signal.signal_id,
        trace_id: signal.trace_id,
        status: signal.status,
        status_url: url,
      });
    },
  );

  const health = () => {
    const h = system.health();
    return {
      ...h,
      components: h.components.map((c) => ({
        name: c.name,
        state: c.state,
        restarts: c.restarts,
        last_error: c.lastError,
        detail: c.detail,
      })),
    };
  };

  app.get(
    '/health',
    { schema: { summary: 'Health: 200 when healthy, 503 when not', response: { 200: Health, 503: Health } } },
    async (_request, reply) => {
      const h = health();
      return reply.code(h.healthy ? 200 : 503).send(h);
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Kaizen metrics: JSON, or the Prometheus text format when the Accept header asks for it',
        response: { 200: Metrics },
      },
    },
    async (request, reply) => {
      if (wantsPrometheusText(request.headers.accept)) {
        const text = await system.exposition.metrics();
        // Not through the JSON serializer: the body is the exposition text already. (The reply is
        // typed from the JSON schema, hence the cast.)
        return reply
          .type(system.exposition.contentType)
          .serializer((payload: unknown) => payload as string)
          .send(text as never);
      }
      return system.metrics();
    },
  );

  app.get(
    '/info',
    { schema: { summary: 'Name, version, uptime and configuration', response: { 200: Info } } },
    async () => {
      const memory = process.memoryUsage();
      const compaction = system.compaction();
      return {
        name: 'TPS Reference System',
        version: options.version,
        uptime_secs: Math.round(system.uptimeMs() / 100) / 10,
        environment: config.appEnvironment,
        node_version: process.version,
        signal_types: [...system.signalTypes()],
        memory: {
          rss_bytes: memory.rss,
          peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
          heap_used_bytes: memory.heapUsed,
          heap_total_bytes: memory.heapTotal,
          external_bytes: memory.external,
          idle_compaction: {
            enabled: compaction.enabled,
            malloc_trim: compaction.mallocTrim,
            compactions: compaction.compactions,
            due: compaction.due,
            freed_bytes: compaction.freedBytes,
            last:
              compaction.last === undefined
                ? null
                : {
                    at: new Date(compaction.last.at).toISOString(),
                    rss_before_bytes: compaction.last.rssBeforeBytes,
                    rss_after_bytes: compaction.last.rssAfterBytes,
                    pause_ms: compaction.last.pauseMs,
                    malloc_trimmed: compaction.last.mallocTrimmed,
                  },
          },
        },
        config: publicConfig(config),
      };
    },
  );

  app.get(
    '/status',
    { schema: { summary: 'Health, metrics, Andon and Heijunka together', response: { 200: StatusSchema } } },
    async () => ({
      status: system.state === 'running' ? 'running' : system.state,
      health: health(),
      metrics: system.metrics(),
      andon: system.andonBoard(),
      heijunka: system.heijunka(),
    }),
  );

  app.get(
    '/jidoka',
    {
      schema: {
        summary: 'Every circuit (one per signal type) in detail, and the trip rules',
        response: { 200: JidokaSchema },
      },
    },
    async () => system.jidokaReport(),
  );

  app.post(
    '/jidoka/:type/isolate',
    {
      ...guards,
      schema: {
        summary: 'Hold the circuit of a signal type open until reset (stop the line)',
        params: LineParams,
        response: { 200: CircuitSchema, 404: ErrorBody },
      },
    },
    async (request) => system.isolateLine(request.params.type),
  );

  app.post(
    '/jidoka/:type/reset',
    {
      ...guards,
      schema: {
        summary: 'Close the circuit of a signal type and forget its failures (restart the line)',
        params: LineParams,
        response: { 200: CircuitSchema, 404: ErrorBody },
      },
    },
    async (request) => system.resetLine(request.params.type),
  );

  if (config.faultInjection) {
    app.post(
      '/chaos/workers/crash',
      {
        ...guards,
        schema: {
          summary: 'Fault injection (TPS_FAULT_INJECTION): crash one worker loop; the supervisor restarts it',
          querystring: CrashQuery,
          response: { 200: Crashed, 404: ErrorBody },
        },
      },
      async (request, reply) => {
        const crashed = system.crashWorker(request.query.worker);
        if (crashed === undefined) {
          return reply
            .code(404)
            .send({ success: false, error: 'worker_not_found', message: 'no such running worker' } as never);
        }
        return { crashed };
      },
    );
  }

  app.get(
    '/andon',
    { schema: { summary: 'The Andon board and its recent changes', response: { 200: AndonSchema } } },
    async () => system.andonBoard(),
  );

  app.get('/heijunka', { schema: { summary: 'Worker load', response: { 200: HeijunkaSchema } } }, async () =>
    system.heijunka(),
  );

  app.get('/', { schema: { hide: true } }, async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').headers(DOCUMENT_HEADERS).send(page()),
  );
}
