import { circuitState, retryLater } from '../schemas.ts';

const percentiles = {
  type: 'object',
  required: ['count', 'avg_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'p999_ms', 'max_ms'],
  additionalProperties: false,
  properties: {
    count: { type: 'integer' },
    avg_ms: { type: 'number' },
    p50_ms: { type: 'number' },
    p95_ms: { type: 'number' },
    p99_ms: { type: 'number' },
    p999_ms: { type: 'number' },
    max_ms: { type: 'number' },
  },
} as const;

const attainment = {
  type: ['number', 'null'],
  description: 'Share (0–1) finished within the SLO target; null when none finished.',
} as const;

const windowFigures = {
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
  additionalProperties: false,
  properties: {
    processed: { type: 'integer' },
    errors: { type: 'integer' },
    error_rate: { type: 'number' },
    throughput_per_sec: { type: 'number' },
    slo_attainment: attainment,
    latency: percentiles,
    queue_wait: percentiles,
    processing: percentiles,
  },
} as const;

const windows = {
  type: 'object',
  required: ['1m', '5m'],
  additionalProperties: false,
  properties: { '1m': windowFigures, '5m': windowFigures },
} as const;

const typeFigures = {
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
  additionalProperties: false,
  properties: {
    accepted_total: { type: 'integer' },
    processed: { type: 'integer' },
    success_count: { type: 'integer' },
    error_count: { type: 'integer' },
    error_rate: { type: 'number' },
    retries_total: { type: 'integer' },
    slo_attainment: attainment,
    latency: percentiles,
    queue_wait: percentiles,
    processing: percentiles,
    windows,
  },
} as const;

const metricsBody = {
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
  additionalProperties: false,
  properties: {
    total_processed: { type: 'integer' },
    heijunka: {
      type: 'object',
      required: ['pool_size', 'pool_utilization', 'balance_coefficient'],
      additionalProperties: false,
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
      additionalProperties: false,
      properties: {
        circuit_open: { type: 'integer' },
        queue_full: { type: 'integer' },
        shed: { type: 'integer' },
        not_accepting: { type: 'integer' },
      },
    },
    retries_total: { type: 'integer' },
    slo_target_ms: { type: 'integer' },
    slo_attainment: attainment,
    latency: { ...percentiles, description: 'Accepted → finished.' },
    queue_wait: { ...percentiles, description: 'Accepted → first picked up by a worker.' },
    processing: { ...percentiles, description: 'The last attempt’s run.' },
    windows,
    by_type: { type: 'object', additionalProperties: typeFigures, description: 'By signal type.' },
  },
} as const;

/** 200 of GET /metrics: JSON, or the Prometheus text format when the Accept header asks for it. */
export const metrics = {
  description:
    'Kaizen metrics. JSON by default; the Prometheus text format when `Accept` names text/plain or application/openmetrics-text and not JSON.',
  content: {
    'application/json': { schema: metricsBody },
    'text/plain': { schema: { type: 'string', description: 'The Prometheus exposition format 0.0.4.' } },
  },
} as const;

const componentHealth = {
  type: 'object',
  required: ['name', 'state', 'restarts'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    state: { type: 'string', enum: ['running', 'restarting', 'stopped'] },
    restarts: { type: 'integer' },
    last_error: { type: 'string' },
    detail: { type: 'string' },
  },
} as const;

const healthBody = {
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
  additionalProperties: false,
  properties: {
    healthy: { type: 'boolean' },
    circuit_state: circuitState,
    queue_depth: { type: 'integer' },
    active_workers: { type: 'integer' },
    error_rate: {
      type: 'number',
      description: 'Percent (0–100) of signals that failed over the last minute.',
    },
    timestamp: { type: 'string', format: 'date-time' },
    status: { type: 'string', enum: ['created', 'running', 'draining', 'stopped'] },
    backend: { type: 'string' },
    active_path: {
      type: 'string',
      description: 'Where new signals go now (with failover: nats or rabbitmq).',
    },
    queue_capacity: { type: 'integer' },
    dlq_depth: { type: 'integer' },
    in_flight: { type: 'integer' },
    circuits: { type: 'object', additionalProperties: circuitState, description: 'By signal type.' },
    components: { type: 'array', items: componentHealth, description: 'The supervision tree.' },
  },
} as const;

export const healthy = { ...healthBody, description: 'Healthy.' } as const;
export const unhealthy = {
  ...healthBody,
  description: 'Not healthy (a component down, or draining): the same body, saying what is wrong.',
} as const;

const light = {
  type: 'object',
  required: ['level', 'reason'],
  additionalProperties: false,
  properties: { level: { type: 'string' }, reason: { type: 'string' } },
} as const;

const andonChange = {
  type: 'object',
  required: ['at', 'kind', 'principle', 'level', 'previous', 'reason'],
  additionalProperties: false,
  properties: {
    at: { type: 'string' },
    kind: { type: 'string', enum: ['level', 'alert'] },
    principle: { type: 'string' },
    level: { type: 'string' },
    previous: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

const count = { type: 'integer' } as const;
const boardFigures = {
  type: 'object',
  required: ['jidoka', 'kanban', 'andon', 'kaizen', 'heijunka', 'tracing'],
  additionalProperties: false,
  properties: {
    jidoka: {
      type: 'object',
      required: ['circuits'],
      additionalProperties: false,
      properties: { circuits: { type: 'object', additionalProperties: { type: 'string' } } },
    },
    kanban: {
      type: 'object',
      required: ['depth', 'capacity', 'dlq', 'in_flight', 'backend', 'active_path'],
      additionalProperties: false,
      properties: {
        depth: count,
        capacity: count,
        dlq: count,
        in_flight: count,
        backend: { type: 'string' },
        active_path: { type: 'string' },
      },
    },
    andon: {
      type: 'object',
      required: ['error_rate_1m'],
      additionalProperties: false,
      properties: { error_rate_1m: { type: 'number' } },
    },
    kaizen: {
      type: 'object',
      required: ['throughput_1m', 'p99_1m_ms', 'slo_attainment_1m', 'processed'],
      additionalProperties: false,
      properties: {
        throughput_1m: { type: 'number' },
        p99_1m_ms: { type: 'number' },
        slo_attainment_1m: { type: ['number', 'null'] },
        processed: count,
      },
    },
    heijunka: {
      type: 'object',
      required: ['balance_coefficient', 'pool_utilization', 'workers'],
      additionalProperties: false,
      properties: {
        balance_coefficient: { type: 'number' },
        pool_utilization: { type: 'number' },
        workers: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'in_use', 'cards', 'processed', 'state'],
            additionalProperties: false,
            properties: {
              id: { type: 'string' },
              in_use: count,
              cards: count,
              processed: count,
              state: { type: 'string' },
            },
          },
        },
      },
    },
    tracing: {
      type: 'object',
      required: ['exporting', 'detail'],
      additionalProperties: false,
      properties: { exporting: { type: 'boolean' }, detail: { type: 'string' } },
    },
  },
} as const;

const andonBody = {
  type: 'object',
  required: ['at', 'overall', 'principles', 'history', 'figures'],
  additionalProperties: false,
  properties: {
    at: { type: 'string' },
    overall: { type: 'string', description: 'GREEN, YELLOW or RED: the worst of the principles.' },
    principles: { type: 'object', additionalProperties: light },
    history: { type: 'array', items: andonChange, description: 'Recent level changes and alerts.' },
    figures: boardFigures,
  },
} as const;

export const andon = { ...andonBody, description: 'The board, its recent changes and its figures.' } as const;

const counts = { type: 'object', additionalProperties: { type: 'number' } } as const;

const heijunkaBody = {
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
  additionalProperties: false,
  properties: {
    pool_size: count,
    pool_min: count,
    pool_max: count,
    cards_total: count,
    cards_in_use: count,
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
        additionalProperties: false,
        properties: {
          id: { type: 'string' },
          state: { type: 'string' },
          cards: count,
          in_use: count,
          processed: count,
          busy_ms: { type: 'number' },
          busy_share: { type: 'number', description: 'Share of its life with at least one signal in work.' },
          recent_ms: { type: 'number' },
          restarts: count,
        },
      },
    },
    scaling: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'direction', 'from', 'to', 'reason'],
        additionalProperties: false,
        properties: {
          at: { type: 'string', format: 'date-time' },
          direction: { type: 'string' },
          from: count,
          to: count,
          reason: { type: 'string' },
        },
      },
      description: 'The last scaling decisions, newest last.',
    },
    scale_ups: count,
    scale_downs: count,
    leveling: {
      description:
        'What waits locally for a worker, by priority and type; null for a queue without a leveler.',
      anyOf: [
        {
          type: 'object',
          required: ['waiting', 'aging_ms', 'priorities', 'weights', 'caps', 'in_flight'],
          additionalProperties: false,
          properties: {
            waiting: count,
            aging_ms: count,
            priorities: {
              type: 'array',
              items: {
                type: 'object',
                required: ['priority', 'waiting', 'waited_ms', 'types'],
                additionalProperties: false,
                properties: { priority: count, waiting: count, waited_ms: count, types: counts },
              },
            },
            weights: counts,
            caps: counts,
            in_flight: counts,
          },
        },
        { type: 'null' },
      ],
    },
  },
} as const;

export const heijunka = { ...heijunkaBody, description: 'Worker load, levelling and scaling.' } as const;

const compaction = {
  type: 'object',
  required: ['at', 'rss_before_bytes', 'rss_after_bytes', 'pause_ms', 'malloc_trimmed'],
  additionalProperties: false,
  properties: {
    at: { type: 'string', format: 'date-time' },
    rss_before_bytes: count,
    rss_after_bytes: count,
    pause_ms: { type: 'number' },
    malloc_trimmed: { type: 'boolean', description: 'Whether the malloc trim gave pages back.' },
  },
} as const;

export const info = {
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
  additionalProperties: false,
  description: 'Name, version, uptime, memory and the effective configuration (secrets left out).',
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
      additionalProperties: false,
      properties: {
        rss_bytes: count,
        peak_rss_bytes: { type: 'integer', description: 'The most resident memory the process has had.' },
        heap_used_bytes: count,
        heap_total_bytes: count,
        external_bytes: count,
        idle_compaction: {
          type: 'object',
          required: ['enabled', 'malloc_trim', 'compactions', 'due', 'freed_bytes', 'last'],
          additionalProperties: false,
          description: 'Full collections run once the service was idle, giving back memory taken under load.',
          properties: {
            enabled: { type: 'boolean' },
            malloc_trim: {
              type: 'boolean',
              description:
                "Whether each compaction also returns malloc's free pages (the optional native addon is built).",
            },
            compactions: count,
            due: {
              type: 'boolean',
              description: 'RSS grew enough since the last one that one will run once the service is quiet.',
            },
            freed_bytes: count,
            last: { anyOf: [compaction, { type: 'null' }] },
          },
        },
      },
    },
    config: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean'] },
      description: 'The effective configuration, by variable (without the TPS_ prefix), secrets left out.',
    },
  },
} as const;

export const status = {
  type: 'object',
  required: ['status', 'health', 'metrics', 'andon', 'heijunka'],
  additionalProperties: false,
  description: 'Health, metrics, Andon and Heijunka in one answer.',
  properties: {
    status: { type: 'string', enum: ['created', 'running', 'draining', 'stopped'] },
    health: healthBody,
    metrics: metricsBody,
    andon: andonBody,
    heijunka: heijunkaBody,
  },
} as const;

/** GET /andon/stream past its client limit. */
export const tooManyStreams = retryLater(
  'As many Andon streams are open as the service allows (`too_many_streams`).',
);
