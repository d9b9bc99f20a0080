import type { FastifyPluginCallbackJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyRequest } from 'fastify';
import { InvalidSignalError } from '../../errors.ts';
import type { TpsSystem } from '../../system.ts';
import { parseTraceparent } from '../../tracing/trace-context.ts';
import { refOf, SPAN_ERROR, SpanKind } from '../../tracing/tracer.ts';
import { readsHeaders } from '../openapi.ts';
import {
  accepted,
  processed,
  retried,
  retryFailures,
  signalBody,
  signalIdParams,
  signalStatus,
  statusFailures,
  submitFailures,
  submitHeaders,
} from './schemas.ts';
import { acceptedBody, processedBody, statusBody, statusUrl } from './views.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** The attributes of every `POST /signal` server span (exported spans copy them). */
const SIGNAL_ROUTE_ATTRIBUTES = Object.freeze({ 'http.request.method': 'POST', 'http.route': '/signal' });

/** Reads `wait=N` (seconds) from an RFC 7240 `Prefer` header; undefined when absent. */
export function preferWait(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(text);
  return match === null ? undefined : Number(match[1]);
}

function idempotencyKey(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw)) {
    throw new InvalidSignalError('Idempotency-Key must be 1–255 visible ASCII characters', 'Idempotency-Key');
  }
  return raw;
}

export interface SignalRouteOptions {
  readonly system: TpsSystem;
}

/** Signals: submit one, follow it, retry it. */
export const signalRoutes: FastifyPluginCallbackJsonSchemaToTs<{ Options: SignalRouteOptions }> = (
  app,
  { system },
  done,
) => {
  const config = system.config;
  const maxWaitMs = config.maxWaitSecs * 1000;

  app.post(
    '/signal',
    {
      config: readsHeaders(submitHeaders),
      schema: {
        operationId: 'submitSignal',
        tags: ['signals'],
        summary: 'Submit a work signal',
        description:
          'Jidoka admits it, the Kanban queues it, a worker runs it. 202 once queued; with `Prefer: wait=N`, 200 with the outcome when it finishes in time.',
        body: signalBody(config.maxTimeoutMs, config.defaultTimeoutMs),
        response: { 200: processed, 202: accepted, ...submitFailures },
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
          priority: body.priority,
          payload: body.payload,
          timeoutMs: body.timeout_ms,
          parent: refOf(span),
          idempotencyKey: idempotencyKey(request),
        });
        let signal = result.signal;
        const id = signal.signal_id;
        span.setAttribute('tps.signal.id', id);
        reply.header('location', statusUrl(id));
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        const wait = preferWait(request.headers.prefer);
        if (wait !== undefined) {
          signal = (await system.waitFor(id, Math.min(wait * 1000, maxWaitMs))) ?? signal;
          if (signal.status === 'completed' || signal.status === 'dead_lettered') {
            reply.header('preference-applied', `wait=${wait}`);
            span.setAttribute('http.response.status_code', 200);
            return reply.code(200).send(processedBody(signal));
          }
        }
        span.setAttribute('http.response.status_code', 202);
        // A new signal is reported as accepted; a replay reports where the original is now.
        return reply.code(202).send(acceptedBody(signal, result.replayed ? signal.status : 'queued'));
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
        operationId: 'getSignalStatus',
        tags: ['signals'],
        summary: 'A signal’s status and result',
        description:
          'Where the signal is in its lifecycle, its attempts, timings and, once finished, its result.',
        params: signalIdParams,
        response: { 200: signalStatus, ...statusFailures },
      },
    },
    async (request) => statusBody(await system.status(request.params.id)),
  );

  app.post(
    '/signal/:id/retry',
    {
      schema: {
        operationId: 'retrySignal',
        tags: ['signals'],
        summary: 'Enqueue a failed or dead-lettered signal again',
        description:
          'The signal runs again with a fresh set of attempts; a retry already scheduled is superseded.',
        params: signalIdParams,
        response: { 202: retried, ...retryFailures },
      },
    },
    async (request, reply) => {
      const signal = await system.retry(request.params.id);
      return reply.code(202).header('location', statusUrl(signal.signal_id)).send(acceptedBody(signal));
    },
  );

  done();
};
