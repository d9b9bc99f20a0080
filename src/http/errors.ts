import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  CircuitOpenError,
  InvalidSignalError,
  KanbanFullError,
  NotAcceptingError,
  QueueUnavailableError,
  SignalConflictError,
  SignalNotFoundError,
  SignalShedError,
  UnknownSignalTypeError,
} from '../errors.ts';
import type { Logger } from '../logger.ts';

/** Top-level fields of POST /signal (src/http/signals/schemas.ts declares their schema). */
const SIGNAL_FIELDS = ['signal_type', 'priority', 'payload', 'timeout_ms'] as const;

export interface ErrorBody {
  success: false;
  error: string;
  message: string;
  field?: string;
  [extra: string]: unknown;
}

function body(error: string, message: string, extra?: Record<string, unknown>): ErrorBody {
  return { success: false, error, message, ...extra };
}

const FIELD_RULES: Readonly<Record<string, string>> = {
  signal_type:
    'signal_type must be a string of 1–64 characters: letters, digits, and _ . : - after the first',
  priority: 'priority must be an integer from 1 (critical) to 4 (low)',
  payload: 'payload must be a JSON object',
};

interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}

/** Turns a schema validation failure into a message that names the field and what it accepts. */
function validationBody(
  error: FastifyError & { validation: AjvError[]; validationContext?: string },
): ErrorBody {
  const first = error.validation[0];
  const where = error.validationContext ?? 'body';
  if (first === undefined) return body('invalid_request', error.message);
  const path = first.instancePath.split('/').filter(Boolean).join('.');
  const join = (name: unknown) => (path ? `${path}.${String(name)}` : String(name));
  if (first.keyword === 'required') {
    const field = join(first.params.missingProperty);
    return body('invalid_signal', `${field} is required`, { field });
  }
  if (first.keyword === 'additionalProperties') {
    const name = String(first.params.additionalProperty);
    const field = join(name === '' ? '""' : name);
    const accepted = path === '' && where === 'body' ? `; accepted fields: ${SIGNAL_FIELDS.join(', ')}` : '';
    return body('invalid_signal', `${field} is not a known field${accepted}`, { field });
  }
  if (path === '') {
    return where === 'body'
      ? body('invalid_signal', 'the request body must be a JSON object', { field: 'body' })
      : body('invalid_request', `${where} ${first.message ?? 'is invalid'}`, { field: where });
  }
  const rule = FIELD_RULES[path];
  if (rule !== undefined) return body('invalid_signal', rule, { field: path });
  if (path === 'timeout_ms') {
    const limit = first.keyword === 'maximum' ? ` up to ${String(first.params.limit)}` : '';
    return body('invalid_signal', `timeout_ms must be a positive integer number of milliseconds${limit}`, {
      field: path,
    });
  }
  return body('invalid_signal', `${path} ${first.message ?? 'is invalid'}`, { field: path });
}

const FASTIFY_CODES: Readonly<Record<string, [number, string, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large', ''],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'Content-Type must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_request', 'Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_signal', 'the request body must be a JSON object'],
  FST_ERR_BAD_URL: [400, 'invalid_request', 'the URL is malformed (bad percent-encoding)'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'uri_too_long', 'a path parameter is longer than 200 characters'],
};

/**
 * Maps every error to one JSON shape and the right status. Client errors say what was wrong;
 * anything unexpected is a 500 whose details go to the log, never to the client.
 */
export function errorHandler(logger: Logger, maxBodyBytes: number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    if (error instanceof CircuitOpenError) {
      const secs = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      reply
        .code(503)
        .header('retry-after', String(secs))
        .send(
          body(error.code, error.message, {
            signal_type: error.signalType,
            circuit_state: error.state,
            retry_after_secs: secs,
          }),
        );
      return;
    }
    if (error instanceof KanbanFullError) {
      const secs = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      reply
        .code(429)
        .header('retry-after', String(secs))
        .send(body(error.code, error.message, { retry_after_secs: secs }));
      return;
    }
    if (error instanceof SignalShedError) {
      const secs = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      reply
        .code(429)
        .header('retry-after', String(secs))
        .send(
          body(error.code, error.message, {
            priority: error.priority,
            queue_fill_pct: error.fillPct,
            shed_from_pct: error.shedFromPct,
            retry_after_secs: secs,
          }),
        );
      return;
    }
    if (error instanceof QueueUnavailableError) {
      const secs = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      reply
        .code(503)
        .header('retry-after', String(secs))
        .send(body(error.code, 'the Kanban queue is unavailable; retry later', { retry_after_secs: secs }));
      return;
    }
    if (error instanceof NotAcceptingError) {
      reply
        .code(503)
        .header('retry-after', '5')
        .send(body(error.code, error.message, { retry_after_secs: 5 }));
      return;
    }
    if (error instanceof UnknownSignalTypeError) {
      if (error.where === 'path') {
        reply.code(404).send(body(error.code, error.message, { known_types: error.knownTypes }));
      } else {
        reply
          .code(400)
          .send(body(error.code, error.message, { field: 'signal_type', known_types: error.knownTypes }));
      }
      return;
    }
    if (error instanceof InvalidSignalError) {
      reply.code(400).send(body(error.code, error.message, error.field ? { field: error.field } : undefined));
      return;
    }
    if (error instanceof SignalNotFoundError) {
      reply.code(404).send(body(error.code, error.message));
      return;
    }
    if (error instanceof SignalConflictError) {
      reply.code(409).send(body(error.code, error.message));
      return;
    }
    if (Array.isArray((error as { validation?: unknown }).validation)) {
      reply.code(400).send(validationBody(error as FastifyError & { validation: AjvError[] }));
      return;
    }
    const known = FASTIFY_CODES[error.code];
    if (known !== undefined) {
      const [status, code, message] = known;
      const text = code === 'payload_too_large' ? `request body exceeds ${maxBodyBytes} bytes` : message;
      reply.code(status).send(body(code, text));
      return;
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      reply.code(status).send(body('invalid_request', error.message));
      return;
    }
    logger.error(
      { err: error, request_id: request.id, method: request.method, url: request.url },
      'request failed',
    );
    reply.code(500).send(body('internal_error', 'internal error', { request_id: request.id }));
  };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  reply.code(404).send(body('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
}
