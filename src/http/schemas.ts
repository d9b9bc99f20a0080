import { type Static, Type } from 'typebox';

export function signalBodySchema(maxTimeoutMs: number, defaultTimeoutMs: number) {
  return Type.Object(
    {
      signal_type: Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$',
        description: 'A registered signal type (built in: validate, execute, report, chaos).',
        examples: ['validate'],
      }),
      priority: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 4,
          default: 3,
          description: '1 critical, 2 high, 3 normal (default), 4 low.',
        }),
      ),
      payload: Type.Optional(
        Type.Record(Type.String(), Type.Unknown(), {
          default: {},
          description: 'Any JSON object, bounded in size and nesting depth.',
        }),
      ),
      timeout_ms: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: maxTimeoutMs,
          default: defaultTimeoutMs,
          description: 'Processing deadline per attempt, in milliseconds.',
        }),
      ),
    },
    { additionalProperties: false },
  );
}

export type SignalBody = Static<ReturnType<typeof signalBodySchema>>;

export const ErrorBody = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.String({ description: 'Stable error code.' }),
    message: Type.String(),
    field: Type.Optional(Type.String({ description: 'The request field at fault.' })),
    known_types: Type.Optional(Type.Array(Type.String())),
    signal_type: Type.Optional(Type.String()),
    circuit_state: Type.Optional(Type.String()),
    retry_after_secs: Type.Optional(Type.Integer()),
    request_id: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const Accepted = Type.Object({
  success: Type.Boolean(),
  signal_id: Type.String({ format: 'uuid' }),
  trace_id: Type.String(),
  status: Type.String({ description: 'queued (or, for an idempotent replay, the current status).' }),
  status_url: Type.String(),
});

const SignalStates = Type.Union([
  Type.Literal('queued'),
  Type.Literal('processing'),
  Type.Literal('completed'),
  Type.Literal('failed'),
  Type.Literal('dead_lettered'),
]);

/** The seed's processed-signal body, plus where the signal ended and how. */
export const Processed = Type.Object({
  success: Type.Boolean(),
  signal_id: Type.String(),
  message: Type.String(),
  trace_id: Type.String(),
  duration_ms: Type.Number(),
  status: SignalStates,
  worker_id: Type.String(),
  attempts: Type.Integer(),
  result: Type.Optional(Type.Unknown()),
});

export const SignalStatus = Type.Object({
  signal_id: Type.String(),
  signal_type: Type.String(),
  priority: Type.Integer(),
  status: SignalStates,
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  trace_id: Type.String(),
  accepted_at: Type.String({ format: 'date-time' }),
  started_at: Type.Optional(Type.String({ format: 'date-time' })),
  finished_at: Type.Optional(Type.String({ format: 'date-time' })),
  next_attempt_at: Type.Optional(Type.String({ format: 'date-time' })),
  worker_id: Type.Optional(Type.String()),
  duration_ms: Type.Optional(Type.Number()),
  message: Type.Optional(Type.String()),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String()),
  status_url: Type.String(),
});

export const SignalIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200 }),
});

const Percentiles = Type.Object({
  count: Type.Integer(),
  avg_ms: Type.Number(),
  p50_ms: Type.Number(),
  p95_ms: Type.Number(),
  p99_ms: Type.Number(),
  p999_ms: Type.Number(),
  max_ms: Type.Number(),
});

const Attainment = Type.Union([Type.Number(), Type.Null()], {
  description: 'Share (0–1) finished within the SLO target; null when none finished.',
});

const WindowFigures = Type.Object({
  processed: Type.Integer(),
  errors: Type.Integer(),
  error_rate: Type.Number(),
  throughput_per_sec: Type.Number(),
  slo_attainment: Attainment,
  latency: Percentiles,
  queue_wait: Percentiles,
  processing: Percentiles,
});

const Windows = Type.Object({ '1m': WindowFigures, '5m': WindowFigures });

const TypeFigures = Type.Object({
  accepted_total: Type.Integer(),
  processed: Type.Integer(),
  success_count: Type.Integer(),
  error_count: Type.Integer(),
  error_rate: Type.Number(),
  retries_total: Type.Integer(),
  slo_attainment: Attainment,
  latency: Percentiles,
  queue_wait: Percentiles,
  processing: Percentiles,
  windows: Windows,
});

export const Metrics = Type.Object({
  total_processed: Type.Integer(),
  heijunka: Type.Object({
    pool_size: Type.Integer(),
    pool_utilization: Type.Number(),
    balance_coefficient: Type.Number({ description: '1 when the workers are level.' }),
  }),
  success_count: Type.Integer(),
  error_count: Type.Integer(),
  error_rate: Type.Number({ description: 'Percent (0–100) of processed signals that failed.' }),
  avg_duration_ms: Type.Number(),
  p95_duration_ms: Type.Number(),
  p99_duration_ms: Type.Number(),
  p50_duration_ms: Type.Number(),
  p999_duration_ms: Type.Number(),
  max_duration_ms: Type.Number(),
  accepted_total: Type.Integer(),
  rejected_total: Type.Object({
    circuit_open: Type.Integer(),
    queue_full: Type.Integer(),
    shed: Type.Integer(),
    not_accepting: Type.Integer(),
  }),
  retries_total: Type.Integer(),
  slo_target_ms: Type.Integer(),
  slo_attainment: Attainment,
  latency: Percentiles,
  queue_wait: Percentiles,
  processing: Percentiles,
  windows: Windows,
  by_type: Type.Record(Type.String(), TypeFigures),
});

const CircuitStateSchema = Type.Union([
  Type.Literal('Closed'),
  Type.Literal('Open'),
  Type.Literal('HalfOpen'),
]);

export const Health = Type.Object({
  healthy: Type.Boolean(),
  circuit_state: CircuitStateSchema,
  queue_depth: Type.Integer(),
  active_workers: Type.Integer(),
  error_rate: Type.Number({ description: 'Percent (0–100) of signals that failed over the last minute.' }),
  timestamp: Type.String({ format: 'date-time' }),
  status: Type.String(),
  backend: Type.String(),
  active_path: Type.String({ description: 'Where new signals go now (with failover: nats or rabbitmq).' }),
  queue_capacity: Type.Integer(),
  dlq_depth: Type.Integer(),
  in_flight: Type.Integer(),
  circuits: Type.Record(Type.String(), CircuitStateSchema),
  components: Type.Array(
    Type.Object({
      name: Type.String(),
      state: Type.String(),
      restarts: Type.Integer(),
      last_error: Type.Optional(Type.String()),
      detail: Type.Optional(Type.String()),
    }),
  ),
});

const Light = Type.Object({ level: Type.String(), reason: Type.String() });

const AndonChangeSchema = Type.Object({
  at: Type.String(),
  kind: Type.Union([Type.Literal('level'), Type.Literal('alert')]),
  principle: Type.String(),
  level: Type.String(),
  previous: Type.String(),
  reason: Type.String(),
});

const BoardFiguresSchema = Type.Object({
  jidoka: Type.Object({ circuits: Type.Record(Type.String(), Type.String()) }),
  kanban: Type.Object({
    depth: Type.Integer(),
    capacity: Type.Integer(),
    dlq: Type.Integer(),
    in_flight: Type.Integer(),
    backend: Type.String(),
    active_path: Type.String(),
  }),
  andon: Type.Object({ error_rate_1m: Type.Number() }),
  kaizen: Type.Object({
    throughput_1m: Type.Number(),
    p99_1m_ms: Type.Number(),
    slo_attainment_1m: Type.Union([Type.Number(), Type.Null()]),
    processed: Type.Integer(),
  }),
  heijunka: Type.Object({
    balance_coefficient: Type.Number(),
    pool_utilization: Type.Number(),
    workers: Type.Array(
      Type.Object({
        id: Type.String(),
        in_use: Type.Integer(),
        cards: Type.Integer(),
        processed: Type.Integer(),
        state: Type.String(),
      }),
    ),
  }),
  tracing: Type.Object({ exporting: Type.Boolean(), detail: Type.String() }),
});

export const CrashQuery = Type.Object({ worker: Type.Optional(Type.String({ maxLength: 64 })) });

export const Crashed = Type.Object({ crashed: Type.String() });

export const LineParams = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' }),
});

export const CircuitSchema = Type.Object({
  state: CircuitStateSchema,
  isolated: Type.Boolean({ description: 'Held open by an operator until reset.' }),
  consecutive_failures: Type.Integer(),
  openings: Type.Integer(),
  failures: Type.Integer(),
  rejected: Type.Integer({ description: 'Signals refused with 503 while open.' }),
  deferred: Type.Integer({ description: 'Queued signals workers held back while the line was stopped.' }),
  window: Type.Object({
    calls: Type.Integer(),
    failure_rate_pct: Type.Number(),
    slow_call_rate_pct: Type.Number(),
  }),
  retry_after_secs: Type.Integer({ description: 'Seconds until probes are let through; 0 unless open.' }),
});

export const JidokaSchema = Type.Object({
  circuit_state: CircuitStateSchema,
  rules: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()])),
  circuits: Type.Record(Type.String(), CircuitSchema),
});

export const AndonSchema = Type.Object({
  at: Type.String(),
  overall: Type.String(),
  principles: Type.Record(Type.String(), Light),
  history: Type.Array(AndonChangeSchema),
  figures: BoardFiguresSchema,
});

const Counts = Type.Record(Type.String(), Type.Number());

export const HeijunkaSchema = Type.Object({
  pool_size: Type.Integer(),
  pool_min: Type.Integer(),
  pool_max: Type.Integer(),
  cards_total: Type.Integer(),
  cards_in_use: Type.Integer(),
  pool_utilization: Type.Number(),
  balance_coefficient: Type.Number({
    description: 'Mean over max of signals per worker since the pool last changed size; 1 is level.',
  }),
  rate_per_sec: Type.Number({ description: 'Signals the workers took per second, recently.' }),
  service_ms: Type.Number({ description: 'Recent mean processing time.' }),
  workers: Type.Array(
    Type.Object({
      id: Type.String(),
      state: Type.String(),
      cards: Type.Integer(),
      in_use: Type.Integer(),
      processed: Type.Integer(),
      busy_ms: Type.Number(),
      busy_share: Type.Number({ description: 'Share of its life with at least one signal in work.' }),
      recent_ms: Type.Number(),
      restarts: Type.Integer(),
    }),
  ),
  scaling: Type.Array(
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      direction: Type.String(),
      from: Type.Integer(),
      to: Type.Integer(),
      reason: Type.String(),
    }),
  ),
  scale_ups: Type.Integer(),
  scale_downs: Type.Integer(),
  leveling: Type.Union([
    Type.Object({
      waiting: Type.Integer(),
      aging_ms: Type.Integer(),
      priorities: Type.Array(
        Type.Object({
          priority: Type.Integer(),
          waiting: Type.Integer(),
          waited_ms: Type.Integer(),
          types: Counts,
        }),
      ),
      weights: Counts,
      caps: Counts,
      in_flight: Counts,
    }),
    Type.Null(),
  ]),
});

export const Info = Type.Object({
  name: Type.String(),
  version: Type.String(),
  uptime_secs: Type.Number(),
  environment: Type.String(),
  node_version: Type.String(),
  signal_types: Type.Array(Type.String()),
  memory: Type.Object({
    rss_bytes: Type.Integer(),
    peak_rss_bytes: Type.Integer({ description: 'The most resident memory the process has had.' }),
    heap_used_bytes: Type.Integer(),
    heap_total_bytes: Type.Integer(),
    external_bytes: Type.Integer(),
    idle_compaction: Type.Object(
      {
        enabled: Type.Boolean(),
        malloc_trim: Type.Boolean({
          description:
            "Whether each compaction also returns malloc's free pages (the optional native addon is built).",
        }),
        compactions: Type.Integer(),
        due: Type.Boolean({
          description: 'RSS grew enough since the last one that one will run once the service is quiet.',
        }),
        freed_bytes: Type.Integer(),
        last: Type.Union([
          Type.Object({
            at: Type.String({ format: 'date-time' }),
            rss_before_bytes: Type.Integer(),
            rss_after_bytes: Type.Integer(),
            pause_ms: Type.Number(),
            malloc_trimmed: Type.Boolean({ description: 'Whether the malloc trim gave pages back.' }),
          }),
          Type.Null(),
        ]),
      },
      { description: 'Full collections run once the service was idle, giving back memory taken under load.' },
    ),
  }),
  config: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
});

export const StatusSchema = Type.Object({
  status: Type.String(),
  health: Health,
  metrics: Metrics,
  andon: AndonSchema,
  heijunka: HeijunkaSchema,
});
