import { circuitState, failure, pathTooLong, SIGNAL_TYPE_PATTERN } from '../schemas.ts';

export const lineParams = {
  type: 'object',
  required: ['type'],
  properties: {
    type: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      pattern: SIGNAL_TYPE_PATTERN,
      description: 'The signal type whose line (circuit) to switch.',
    },
  },
} as const;

const circuitBody = {
  type: 'object',
  required: [
    'state',
    'isolated',
    'consecutive_failures',
    'openings',
    'failures',
    'rejected',
    'deferred',
    'window',
    'retry_after_secs',
  ],
  additionalProperties: false,
  properties: {
    state: circuitState,
    isolated: { type: 'boolean', description: 'Held open by an operator until reset.' },
    consecutive_failures: { type: 'integer' },
    openings: { type: 'integer' },
    failures: { type: 'integer' },
    rejected: { type: 'integer', description: 'Signals refused with 503 while open.' },
    deferred: {
      type: 'integer',
      description: 'Queued signals workers held back while the line was stopped.',
    },
    window: {
      type: 'object',
      required: ['calls', 'failure_rate_pct', 'slow_call_rate_pct'],
      additionalProperties: false,
      properties: {
        calls: { type: 'integer' },
        failure_rate_pct: { type: 'number' },
        slow_call_rate_pct: { type: 'number' },
      },
    },
    retry_after_secs: {
      type: 'integer',
      description: 'Seconds until probes are let through; 0 unless open.',
    },
  },
} as const;

/** 200 of the isolate and reset switches: the circuit after the switch. */
export const circuit = { ...circuitBody, description: 'The circuit after the switch.' } as const;

export const jidokaReport = {
  type: 'object',
  required: ['circuit_state', 'rules', 'circuits'],
  additionalProperties: false,
  description: 'Every circuit and the rules that trip them.',
  properties: {
    circuit_state: { ...circuitState, description: 'The worst state among the circuits.' },
    rules: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
    circuits: { type: 'object', additionalProperties: circuitBody, description: 'By signal type.' },
  },
} as const;

export const switchFailures = {
  400: failure('The signal type is malformed or badly percent-encoded, or the body is not valid JSON.'),
  404: failure('No handler is registered for this signal type (`unknown_signal_type`, with `known_types`).'),
  414: pathTooLong,
} as const;
