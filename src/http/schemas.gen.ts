// Generated from src/http/schemas.ts by `npm run schemas` (scripts/schemas.ts): do not edit.
// The same JSON Schemas as plain objects, so the service does not load TypeBox at run time.

import type * as S from './schemas.ts';

export const Accepted = {
  type: 'object',
  required: ['success', 'signal_id', 'trace_id', 'status', 'status_url'],
  properties: {
    success: { type: 'boolean' },
    signal_id: { type: 'string', format: 'uuid' },
    trace_id: { type: 'string' },
    status: { type: 'string', description: 'queued (or, for an idempotent replay, the current status).' },
    status_url: { type: 'string' },
  },
} as unknown as typeof S.Accepted;

export const AndonSchema = {
  type: 'object',
  required: ['at', 'overall', 'principles', 'history', 'figures'],
  properties: {
    at: { type: 'string' },
    overall: { type: 'string' },
    principles: {
      type: 'object',
      patternProperties: {
        '^.*$': {
          type: 'object',
          required: ['level', 'reason'],
          properties: { level: { type: 'string' }, reason: { type: 'string' } },
        },
      },
    },
    history: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'kind', 'principle', 'level', 'previous', 'reason'],
        properties: {
          at: { type: 'string' },
          kind: {
            anyOf: [
              { type: 'string', const: 'level' },
              { type: 'string', const: 'alert' },
            ],
          },
          principle: { type: 'string' },
          level: { type: 'string' },
          previous: { type: 'string' },
          reason: { type: 'string' },
        },
      },
    },
    figures: {
      type: 'object',
      required: ['jidoka', 'kanban', 'andon', 'kaizen', 'heijunka', 'tracing'],
      properties: {
        jidoka: {
          type: 'object',
          required: ['circuits'],
          properties: { circuits: { type: 'object', patternProperties: { '^.*$': { type: 'string' } } } },
        },
        kanban: {
          type: 'object',
          required: ['depth', 'capacity', 'dlq', 'in_flight', 'backend', 'active_path'],
          properties: {
            depth: { type: 'integer' },
            capacity: { type: 'integer' },
            dlq: { type: 'integer' },
            in_flight: { type: 'integer' },
            backend: { type: 'string' },
            active_path: { type: 'string' },
          },
        },
        andon: {
          type: 'object',
          required: ['error_rate_1m'],
          properties: { error_rate_1m: { type: 'number' } },
        },
        kaizen: {
          type: 'object',
          required: ['throughput_1m', 'p99_1m_ms', 'slo_attainment_1m', 'processed'],
          properties: {
            throughput_1m: { type: 'number' },
            p99_1m_ms: { type: 'number' },
            slo_attainment_1m: { anyOf: [{ type: 'number' }, { type: 'null' }] },
            processed: { type: 'integer' },
          },
        },
        heijunka: {
          type: 'object',
          required: ['balance_coefficient', 'pool_utilization', 'workers'],
          properties: {
            balance_coefficient: { type: 'number' },
            pool_utilization: { type: 'number' },
            workers: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'in_use', 'cards', 'processed', 'state'],
                properties: {
                  id: { type: 'string' },
                  in_use: { type: 'integer' },
                  cards: { type: 'integer' },
                  processed: { type: 'integer' },
                  state: { type: 'string' },
                },
              },
            },
          },
        },
        tracing: {
          type: 'object',
          required: ['exporting', 'detail'],
          properties: { exporting: { type: 'boolean' }, detail: { type: 'string' } },
        },
      },
    },
  },
} as unknown as typeof S.AndonSchema;

const shared1 = {
  anyOf: [
    { type: 'string', const: 'Closed' },
    { type: 'string', const: 'Open' },
    { type: 'string', const: 'HalfOpen' },
  ],
};

export const CircuitSchema = {
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
  properties: {
    state: shared1,
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
} as unknown as typeof S.CircuitSchema;

export const CrashQuery = {
  type: 'object',
  properties: { worker: { type: 'string', maxLength: 64 } },
} as unknown as typeof S.CrashQuery;

export const Crashed = {
  type: 'object',
  required: ['crashed'],
  properties: { crashed: { type: 'string' } },
} as unknown as typeof S.Crashed;

export const ErrorBody = {
  type: 'object',
  required: ['success', 'error', 'message'],
  properties: {
    success: { type: 'boolean', const: false },
    error: { type: 'string', description: 'Stable error code.' },
    message: { type: 'string' },
    field: { type: 'string', description: 'The request field at fault.' },
    known_types: { type: 'array', items: { type: 'string' } },
    signal_type: { type: 'string' },
    circuit_state: { type: 'string' },
    retry_after_secs: { type: 'integer' },
    request_id: { type: 'string' },
  },
  additionalProperties: true,
} as unknown as typeof S.ErrorBody;

export const Health = {
  type: 'object',
  required: [
    'healthy',
    'circuit_state',
    'queue_depth',
    'active_workers',
    'error_rate',
    'timestamp',
    'status',
    'backend',
    'active_path',
    'queue_capacity',
    'dlq_depth',
    'in_flight',
    'circuits',
    'components',
  ],
  properties: {
    healthy: { type: 'boolean' },
    circuit_state: shared1,
    queue_depth: { type: 'integer' },
    active_workers: { type: 'integer' },
    error_rate: {
      type: 'number',
      description: 'Percent (0–100) of signals that failed over the last minute.',
    },
    timestamp: { type: 'string', format: 'date-time' },
    status: { type: 'string' },
    backend: { type: 'string' },
    active_path: {
      type: 'string',
      description: 'Where new signals go now (with failover: nats or rabbitmq).',
    },
    queue_capacity: { type: 'integer' },
    dlq_depth: { type: 'integer' },
    in_flight: { type: 'integer' },
    circuits: { type: 'object', patternProperties: { '^.*$': shared1 } },
    components: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'state', 'restarts'],
        properties: {
          name: { type: 'string' },
          state: { type: 'string' },
          restarts: { type: 'integer' },
          last_error: { type: 'string' },
          detail: { type: 'string' },
        },
      },
    },
  },
} as unknown as typeof S.Health;

const shared2 = { type: 'object', patternProperties: { '^.*$': { type: 'number' } } };

export const HeijunkaSchema = {
  type: 'object',
  required: [
    'pool_size',
    'pool_min',
    'pool_max',
    'cards_total',
    'cards_in_use',
    'pool_utilization',
    'balance_coefficient',
    'rate_per_sec',
    'service_ms',
    'workers',
    'scaling',
    'scale_ups',
    'scale_downs',
    'leveling',
  ],
  properties: {
    pool_size: { type: 'integer' },
    pool_min: { type: 'integer' },
    pool_max: { type: 'integer' },
    cards_total: { type: 'integer' },
    cards_in_use: { type: 'integer' },
    pool_utilization: { type: 'number' },
    balance_coefficient: {
      type: 'number',
      description: 'Mean over max of signals per worker since the pool last changed size; 1 is level.',
    },
    rate_per_sec: { type: 'number', description: 'Signals the workers took per second, recently.' },
    service_ms: { type: 'number', description: 'Recent mean processing time.' },
    workers: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'id',
          'state',
          'cards',
          'in_use',
          'processed',
          'busy_ms',
          'busy_share',
          'recent_ms',
          'restarts',
        ],
        properties: {
          id: { type: 'string' },
          state: { type: 'string' },
          cards: { type: 'integer' },
          in_use: { type: 'integer' },
          processed: { type: 'integer' },
          busy_ms: { type: 'number' },
          busy_share: { type: 'number', description: 'Share of its life with at least one signal in work.' },
          recent_ms: { type: 'number' },
          restarts: { type: 'integer' },
        },
      },
    },
    scaling: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'direction', 'from', 'to', 'reason'],
        properties: {
          at: { type: 'string', format: 'date-time' },
          direction: { type: 'string' },
          from: { type: 'integer' },
          to: { type: 'integer' },
          reason: { type: 'string' },
        },
      },
    },
    scale_ups: { type: 'integer' },
    scale_downs: { type: 'integer' },
    leveling: {
      anyOf: [
        {
          type: 'object',
          required: ['waiting', 'aging_ms', 'priorities', 'weights', 'caps', 'in_flight'],
          properties: {
            waiting: { type: 'integer' },
            aging_ms: { type: 'integer' },
            priorities: {
              type: 'array',
              items: {
                type: 'object',
                required: ['priority', 'waiting', 'waited_ms', 'types'],
                properties: {
                  priority: { type: 'integer' },
                  waiting: { type: 'integer' },
                  waited_ms: { type: 'integer' },
                  types: shared2,
                },
              },
            },
            weights: shared2,
            caps: shared2,
            in_flight: shared2,
          },
        },
        { type: 'null' },
      ],
    },
  },
} as unknown as typeof S.HeijunkaSchema;

export const Info = {
  type: 'object',
  required: [
    'name',
    'version',
    'uptime_secs',
    'environment',
    'node_version',
    'signal_types',
    'memory',
    'config',
  ],
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    uptime_secs: { type: 'number' },
    environment: { type: 'string' },
    node_version: { type: 'string' },
    signal_types: { type: 'array', items: { type: 'string' } },
    memory: {
      type: 'object',
      required: [
        'rss_bytes',
        'peak_rss_bytes',
        'heap_used_bytes',
        'heap_total_bytes',
        'external_bytes',
        'idle_compaction',
      ],
      properties: {
        rss_bytes: { type: 'integer' },
        peak_rss_bytes: { type: 'integer', description: 'The most resident memory the process has had.' },
        heap_used_bytes: { type: 'integer' },
        heap_total_bytes: { type: 'integer' },
        external_bytes: { type: 'integer' },
        idle_compaction: {
          type: 'object',
          required: ['enabled', 'malloc_trim', 'compactions', 'due', 'freed_bytes', 'last'],
          properties: {
            enabled: { type: 'boolean' },
            malloc_trim: {
              type: 'boolean',
              description:
                "Whether each compaction also returns malloc's free pages (the optional native addon is built).",
            },
            compactions: { type: 'integer' },
            due: {
              type: 'boolean',
              description: 'RSS grew enough since the last one that one will run once the service is quiet.',
            },
            freed_bytes: { type: 'integer' },
            last: {
              anyOf: [
                {
                  type: 'object',
                  required: ['at', 'rss_before_bytes', 'rss_after_bytes', 'pause_ms', 'malloc_trimmed'],
                  properties: {
                    at: { type: 'string', format: 'date-time' },
                    rss_before_bytes: { type: 'integer' },
                    rss_after_bytes: { type: 'integer' },
                    pause_ms: { type: 'number' },
                    malloc_trimmed: {
                      type: 'boolean',
                      description: 'Whether the malloc trim gave pages back.',
                    },
                  },
                },
                { type: 'null' },
              ],
            },
          },
          description: 'Full collections run once the service was idle, giving back memory taken under load.',
        },
      },
    },
    config: {
      type: 'object',
      patternProperties: { '^.*$': { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
    },
  },
} as unknown as typeof S.Info;

export const JidokaSchema = {
  type: 'object',
  required: ['circuit_state', 'rules', 'circuits'],
  properties: {
    circuit_state: shared1,
    rules: {
      type: 'object',
      patternProperties: { '^.*$': { anyOf: [{ type: 'number' }, { type: 'string' }] } },
    },
    circuits: { type: 'object', patternProperties: { '^.*$': CircuitSchema } },
  },
} as unknown as typeof S.JidokaSchema;

export const LineParams = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' },
  },
} as unknown as typeof S.LineParams;

const shared3 = {
  anyOf: [{ type: 'number' }, { type: 'null' }],
  description: 'Share (0–1) finished within the SLO target; null when none finished.',
};

const shared4 = {
  type: 'object',
  required: ['count', 'avg_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'p999_ms', 'max_ms'],
  properties: {
    count: { type: 'integer' },
    avg_ms: { type: 'number' },
    p50_ms: { type: 'number' },
    p95_ms: { type: 'number' },
    p99_ms: { type: 'number' },
    p999_ms: { type: 'number' },
    max_ms: { type: 'number' },
  },
};

const shared5 = {
  type: 'object',
  required: [
    'processed',
    'errors',
    'error_rate',
    'throughput_per_sec',
    'slo_attainment',
    'latency',
    'queue_wait',
    'processing',
  ],
  properties: {
    processed: { type: 'integer' },
    errors: { type: 'integer' },
    error_rate: { type: 'number' },
    throughput_per_sec: { type: 'number' },
    slo_attainment: shared3,
    latency: shared4,
    queue_wait: shared4,
    processing: shared4,
  },
};

const shared6 = { type: 'object', required: ['1m', '5m'], properties: { '1m': shared5, '5m': shared5 } };

export const Metrics = {
  type: 'object',
  required: [
    'total_processed',
    'heijunka',
    'success_count',
    'error_count',
    'error_rate',
    'avg_duration_ms',
    'p95_duration_ms',
    'p99_duration_ms',
    'p50_duration_ms',
    'p999_duration_ms',
    'max_duration_ms',
    'accepted_total',
    'rejected_total',
    'retries_total',
    'slo_target_ms',
    'slo_attainment',
    'latency',
    'queue_wait',
    'processing',
    'windows',
    'by_type',
  ],
  properties: {
    total_processed: { type: 'integer' },
    heijunka: {
      type: 'object',
      required: ['pool_size', 'pool_utilization', 'balance_coefficient'],
      properties: {
        pool_size: { type: 'integer' },
        pool_utilization: { type: 'number' },
        balance_coefficient: { type: 'number', description: '1 when the workers are level.' },
      },
    },
    success_count: { type: 'integer' },
    error_count: { type: 'integer' },
    error_rate: { type: 'number', description: 'Percent (0–100) of processed signals that failed.' },
    avg_duration_ms: { type: 'number' },
    p95_duration_ms: { type: 'number' },
    p99_duration_ms: { type: 'number' },
    p50_duration_ms: { type: 'number' },
    p999_duration_ms: { type: 'number' },
    max_duration_ms: { type: 'number' },
    accepted_total: { type: 'integer' },
    rejected_total: {
      type: 'object',
      required: ['circuit_open', 'queue_full', 'shed', 'not_accepting'],
      properties: {
        circuit_open: { type: 'integer' },
        queue_full: { type: 'integer' },
        shed: { type: 'integer' },
        not_accepting: { type: 'integer' },
      },
    },
    retries_total: { type: 'integer' },
    slo_target_ms: { type: 'integer' },
    slo_attainment: shared3,
    latency: shared4,
    queue_wait: shared4,
    processing: shared4,
    windows: shared6,
    by_type: {
      type: 'object',
      patternProperties: {
        '^.*$': {
          type: 'object',
          required: [
            'accepted_total',
            'processed',
            'success_count',
            'error_count',
            'error_rate',
            'retries_total',
            'slo_attainment',
            'latency',
            'queue_wait',
            'processing',
            'windows',
          ],
          properties: {
            accepted_total: { type: 'integer' },
            processed: { type: 'integer' },
            success_count: { type: 'integer' },
            error_count: { type: 'integer' },
            error_rate: { type: 'number' },
            retries_total: { type: 'integer' },
            slo_attainment: shared3,
            latency: shared4,
            queue_wait: shared4,
            processing: shared4,
            windows: shared6,
          },
        },
      },
    },
  },
} as unknown as typeof S.Metrics;

const shared7 = {
  anyOf: [
    { type: 'string', const: 'queued' },
    { type: 'string', const: 'processing' },
    { type: 'string', const: 'completed' },
    { type: 'string', const: 'failed' },
    { type: 'string', const: 'dead_lettered' },
  ],
};

export const Processed = {
  type: 'object',
  required: ['success', 'signal_id', 'message', 'trace_id', 'duration_ms', 'status', 'worker_id', 'attempts'],
  properties: {
    success: { type: 'boolean' },
    signal_id: { type: 'string' },
    message: { type: 'string' },
    trace_id: { type: 'string' },
    duration_ms: { type: 'number' },
    status: shared7,
    worker_id: { type: 'string' },
    attempts: { type: 'integer' },
    result: {},
  },
} as unknown as typeof S.Processed;

export const SignalIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as unknown as typeof S.SignalIdParams;

export const SignalStatus = {
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
  properties: {
    signal_id: { type: 'string' },
    signal_type: { type: 'string' },
    priority: { type: 'integer' },
    status: shared7,
    attempts: { type: 'integer' },
    max_attempts: { type: 'integer' },
    trace_id: { type: 'string' },
    accepted_at: { type: 'string', format: 'date-time' },
    started_at: { type: 'string', format: 'date-time' },
    finished_at: { type: 'string', format: 'date-time' },
    next_attempt_at: { type: 'string', format: 'date-time' },
    worker_id: { type: 'string' },
    duration_ms: { type: 'number' },
    message: { type: 'string' },
    result: {},
    error: { type: 'string' },
    status_url: { type: 'string' },
  },
} as unknown as typeof S.SignalStatus;

export const StatusSchema = {
  type: 'object',
  required: ['status', 'health', 'metrics', 'andon', 'heijunka'],
  properties: {
    status: { type: 'string' },
    health: Health,
    metrics: Metrics,
    andon: AndonSchema,
    heijunka: HeijunkaSchema,
  },
} as unknown as typeof S.StatusSchema;

export function signalBodySchema(
  maxTimeoutMs: number,
  defaultTimeoutMs: number,
): ReturnType<typeof S.signalBodySchema> {
  return {
    type: 'object',
    required: ['signal_type'],
    properties: {
      signal_type: {
        type: 'string',
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$',
        description: 'A registered signal type (built in: validate, execute, report, chaos).',
        examples: ['validate'],
      },
      priority: {
        type: 'integer',
        minimum: 1,
        maximum: 4,
        default: 3,
        description: '1 critical, 2 high, 3 normal (default), 4 low.',
      },
      payload: {
        type: 'object',
        patternProperties: { '^.*$': {} },
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
    additionalProperties: false,
  } as unknown as ReturnType<typeof S.signalBodySchema>;
}
