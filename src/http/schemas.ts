/**
 * The JSON Schemas every feature's routes share, and the error answers they document. Each schema
 * is a plain object `as const`: Fastify's ajv validates requests with it, fast-json-stringify
 * writes answers with it, @fastify/swagger puts it in the OpenAPI document, and the
 * json-schema-to-ts type provider derives the handlers' request and reply types from it, so a
 * schema and its type cannot drift apart.
 */

/** What a signal type (a line) may be named: as POST /signal and the Jidoka paths accept it. */
export const SIGNAL_TYPE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]*$';

export const circuitState = {
  type: 'string',
  enum: ['Closed', 'Open', 'HalfOpen'],
  description: 'Closed: signals flow; Open: the line is stopped (503); HalfOpen: probes are let through.',
} as const;

/** Every error answer: a stable code, a message that says what was wrong, and details by code. */
export const errorBody = {
  type: 'object',
  required: ['success', 'error', 'message'],
  additionalProperties: true,
  properties: {
    success: { type: 'boolean', const: false },
    error: { type: 'string', description: 'Stable error code.' },
    message: { type: 'string', description: 'What was wrong, and what is accepted.' },
    field: { type: 'string', description: 'The request field at fault.' },
    known_types: { type: 'array', items: { type: 'string' }, description: 'The registered signal types.' },
    signal_type: { type: 'string' },
    circuit_state: { type: 'string' },
    retry_after_secs: { type: 'integer', description: 'Seconds to wait before trying again.' },
    request_id: { type: 'string', description: 'The request id, to find the failure in the logs.' },
  },
} as const;

/**
 * The `Retry-After` header of an answer, as the OpenAPI document describes it. (`required` of a
 * response header is OpenAPI's, not JSON Schema's: openapi.ts moves it where OpenAPI reads it.)
 */
export const retryAfter = {
  type: 'integer',
  minimum: 1,
  required: true,
  description: 'Seconds to wait before trying again.',
} as const;

/** An error answer, with the description the OpenAPI document gives it. */
export function failure<const D extends string>(description: D) {
  return { ...errorBody, description };
}

/** An error answer that carries `Retry-After`. */
export function retryLater<const D extends string>(description: D) {
  return { ...errorBody, description, headers: { 'Retry-After': retryAfter } };
}

/** What a route with a path parameter answers for an over-long one (Fastify's router refuses it). */
export const pathTooLong = failure('A path parameter is longer than 200 characters (`uri_too_long`).');

/** The bearer guard's answer. */
export const unauthorized = {
  ...errorBody,
  description: 'AUTH_ENABLED is on and the bearer token is missing or wrong (`unauthorized`).',
  headers: {
    'WWW-Authenticate': {
      type: 'string',
      required: true,
      description: 'The bearer challenge; `error="invalid_token"` when a token was given but is wrong.',
    },
  },
} as const;

/** The rate limit's answer. */
export const rateLimited = retryLater(
  'More than RATE_LIMIT write requests this minute from this client (`rate_limited`).',
);
