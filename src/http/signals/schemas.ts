import { failure, pathTooLong, retryLater, SIGNAL_TYPE_PATTERN } from '../schemas.ts';

/** The body of POST /signal: four fields, only `signal_type` required. */
export function signalBody(maxTimeoutMs: number, defaultTimeoutMs: number) {
  return {
    type: 'object',
    required: ['signal_type'],
    additionalProperties: false,
    properties: {
      signal_type: {
        type: 'string',
        minLength: 1,
        maxLength: 64,
        pattern: SIGNAL_TYPE_PATTERN,
        description: 'A registered signal type (built in: validate, execute, report, chaos).',
        examples: ['validate'],
      },
      priority: {
        type: 'integer',
        enum: [1, 2, 3, 4],
        default: 3,
        description: '1 critical, 2 high, 3 normal (default), 4 low.',
      },
      payload: {
        type: 'object',
        additionalProperties: true,
        default: {},
        description: 'Any JSON object, bounded in size and nesting depth.',
      },
      timeout_ms: {
        type: 'integer',
        minimum: 1,
        maximum: maxTimeoutMs,
        default: defaultTimeoutMs,
        description: 'Processing deadline per attempt, in milliseconds.',
      },
    },
  } as const;
}

export const signalIdParams = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 200, description: 'The signal id POST /signal answered.' },
  },
} as const;

const signalStates = {
  type: 'string',
  enum: ['queued', 'processing', 'completed', 'failed', 'dead_lettered'],
  description:
    'queued → processing → completed, or failed (another attempt is scheduled) → … → dead_lettered.',
} as const;

const location = { type: 'string', required: true, description: 'The signal’s status URL.' } as const;
const replayed = {
  type: 'string',
  enum: ['true'],
  description: 'Present when the Idempotency-Key named a signal already accepted: nothing new was queued.',
} as const;

const acceptedBody = {
  type: 'object',
  required: ['success', 'signal_id', 'trace_id', 'status', 'status_url'],
  additionalProperties: false,
  properties: {
    success: { type: 'boolean' },
    signal_id: { type: 'string', format: 'uuid' },
    trace_id: { type: 'string', description: 'W3C trace id (32 hex digits).' },
    status: { type: 'string', description: 'queued (or, for an idempotent replay, the current status).' },
    status_url: { type: 'string' },
  },
} as const;

/** 202: the signal is queued; where to follow it. */
export const accepted = {
  ...acceptedBody,
  description: 'Accepted and queued: follow it at `status_url` (also the `Location` header).',
  headers: { Location: location, 'Idempotent-Replayed': replayed },
} as const;

/** 202 of a retry. */
export const retried = {
  ...acceptedBody,
  description: 'Queued again with a fresh set of attempts.',
  headers: { Location: location },
} as const;

/** 200 of POST /signal under `Prefer: wait`: the processed-signal body (success, message, duration), plus how it ended. */
export const processed = {
  type: 'object',
  required: ['success', 'signal_id', 'message', 'trace_id', 'duration_ms', 'status', 'worker_id', 'attempts'],
  additionalProperties: false,
  description:
    'With `Prefer: wait=N`, the signal finished (completed or dead-lettered) within N seconds: its outcome.',
  headers: {
    Location: location,
    'Preference-Applied': {
      type: 'string',
      required: true,
      description: 'The `wait=N` preference that was honoured.',
    },
    'Idempotent-Replayed': replayed,
  },
  properties: {
    success: { type: 'boolean', description: 'True when the signal completed.' },
    signal_id: { type: 'string' },
    message: { type: 'string', description: 'The handler’s message, or the error when it failed.' },
    trace_id: { type: 'string' },
    duration_ms: { type: 'number' },
    status: signalStates,
    worker_id: { type: 'string' },
    attempts: { type: 'integer' },
    result: { description: 'What the handler returned.' },
  },
} as const;

export const signalStatus = {
  type: 'object',
  required: [
    'signal_id',
    'signal_type',
    'priority',
    'status',
    'attempts',
    'max_attempts',
    'trace_id',
    'accepted_at',
    'status_url',
  ],
  additionalProperties: false,
  description: 'The signal’s status, attempts and result.',
  properties: {
    signal_id: { type: 'string' },
    signal_type: { type: 'string' },
    priority: { type: 'integer' },
    status: signalStates,
    attempts: { type: 'integer' },
    max_attempts: { type: 'integer' },
    trace_id: { type: 'string' },
    accepted_at: { type: 'string', format: 'date-time' },
    started_at: { type: 'string', format: 'date-time' },
    finished_at: { type: 'string', format: 'date-time' },
    next_attempt_at: { type: 'string', format: 'date-time', description: 'When a failed signal runs again.' },
    worker_id: { type: 'string' },
    duration_ms: { type: 'number' },
    message: { type: 'string' },
    result: { description: 'What the handler returned.' },
    error: { type: 'string', description: 'Why the last attempt failed.' },
    status_url: { type: 'string' },
  },
} as const;

/** The request headers POST /signal reads (documented only: the handler checks them itself). */
export const submitHeaders = {
  Prefer: {
    type: 'string',
    description:
      'RFC 7240. `wait=N` (seconds, capped by TPS_MAX_WAIT_SECS) holds the answer until the signal finishes: 200 with its outcome, or 202 when it takes longer.',
    examples: ['wait=5'],
  },
  'Idempotency-Key': {
    type: 'string',
    pattern: '^[\\x21-\\x7e]{1,255}$',
    description:
      'Resubmitting with the same key answers with the signal first accepted with it, and queues nothing new; the same key for another signal type is a 409.',
  },
  traceparent: {
    type: 'string',
    description: 'W3C trace context: the signal’s spans continue the caller’s trace.',
    examples: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  },
} as const;

export const submitFailures = {
  400: failure(
    'Not a valid signal: the body is not a JSON object, a field is missing, unknown or of the wrong type, nesting is too deep, a key is forbidden (`invalid_signal`, with `field`); the signal type has no handler (`unknown_signal_type`, with `known_types`); or the Idempotency-Key is malformed.',
  ),
  409: failure('The Idempotency-Key was already used for a signal of another type (`conflict`).'),
  429: retryLater(
    'The Kanban is full (`queue_full`), or this priority is shed to keep room for higher ones (`shed`).',
  ),
  503: retryLater(
    'The circuit of this signal type is open (`circuit_open`, with `circuit_state`), the broker is unavailable (`queue_unavailable`), or the service is stopping (`not_accepting`).',
  ),
} as const;

export const statusFailures = {
  400: failure('The id is empty or badly percent-encoded.'),
  404: failure('No signal with this id (`signal_not_found`).'),
  414: pathTooLong,
} as const;

export const retryFailures = {
  400: failure('The id is empty or badly percent-encoded, or the body is not valid JSON.'),
  404: failure('No signal with this id (`signal_not_found`).'),
  409: failure('Only a failed or dead-lettered signal can be retried (`conflict`).'),
  414: pathTooLong,
  429: retryLater('The Kanban is full (`queue_full`).'),
  503: retryLater(
    'The broker is unavailable (`queue_unavailable`), or the service is stopping (`not_accepting`).',
  ),
} as const;
