import type { Andon, AndonReadings } from '../andon/board.ts';
import type { BoardView } from '../andon/view.ts';
import type { Clock } from '../clock.ts';
import type { LevelerSnapshot } from '../heijunka/leveler.ts';
import type { HeijunkaSnapshot, WorkerPool } from '../heijunka/worker-pool.ts';
import type { IdleCompactionStatus } from '../idle-compaction.ts';
import type { CircuitSnapshot, CircuitState } from '../jidoka/circuit-breaker.ts';
import type { Jidoka } from '../jidoka/jidoka.ts';
import type { Kaizen, KaizenSnapshot } from '../kaizen/metrics.ts';
import type { KanbanQueue } from '../kanban/queue.ts';
import type { ComponentHealth, Supervisor } from '../supervision.ts';
import type { Tracer } from '../tracing/tracer.ts';
import type { ExpositionReadings } from './exposition.ts';

export type SystemState = 'created' | 'running' | 'draining' | 'stopped';

/** The body of GET /health: six summary fields first (healthy … timestamp), then the detail. */
export interface HealthReport {
  readonly healthy: boolean;
  readonly circuit_state: CircuitState;
  readonly queue_depth: number;
  readonly active_workers: number;
  /** Percent (0–100) of the signals finished in the last minute that failed. */
  readonly error_rate: number;
  readonly timestamp: string;
  readonly status: SystemState;
  readonly backend: string;
  /** Where new signals go now: the backend, or with failover the broker in use. */
  readonly active_path: string;
  readonly queue_capacity: number;
  readonly dlq_depth: number;
  readonly in_flight: number;
  readonly circuits: Readonly<Record<string, CircuitState>>;
  readonly components: readonly (ComponentHealth & { readonly detail?: string })[];
}

export interface MetricsReport extends KaizenSnapshot {
  readonly heijunka: {
    readonly pool_size: number;
    readonly pool_utilization: number;
    readonly balance_coefficient: number;
  };
}

export interface HeijunkaReport extends HeijunkaSnapshot {
  /** What waits locally for a worker, by priority and type; null for a queue without a leveler. */
  readonly leveling: LevelerSnapshot | null;
}

/** One circuit as GET /jidoka and the isolate / reset endpoints show it. */
export interface CircuitBody {
  readonly state: CircuitState;
  readonly isolated: boolean;
  readonly consecutive_failures: number;
  readonly openings: number;
  readonly failures: number;
  readonly rejected: number;
  readonly deferred: number;
  readonly window: {
    readonly calls: number;
    readonly failure_rate_pct: number;
    readonly slow_call_rate_pct: number;
  };
  readonly retry_after_secs: number;
}

export interface JidokaReport {
  readonly circuit_state: CircuitState;
  readonly rules: Readonly<Record<string, number | string>>;
  readonly circuits: Readonly<Record<string, CircuitBody>>;
}

/** Everything the views read: every principle, as the system holds them. */
export interface Readings {
  readonly state: () => SystemState;
  readonly clock: Clock;
  readonly queue: KanbanQueue;
  readonly pool: WorkerPool;
  readonly jidoka: Jidoka;
  readonly kaizen: Kaizen;
  readonly andon: Andon;
  readonly supervisor: Supervisor;
  readonly tracer: () => Tracer;
  readonly leveling: () => LevelerSnapshot | null;
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function healthReport(r: Readings): HealthReport {
  const queueHealth = r.queue.health();
  const activeWorkers = r.pool.running();
  const state = r.state();
  return {
    healthy: state === 'running' && queueHealth.healthy && activeWorkers > 0,
    circuit_state: r.jidoka.worstState(),
    queue_depth: r.queue.depth(),
    active_workers: activeWorkers,
    error_rate: round(r.kaizen.errorRateLastMinute(), 3),
    timestamp: new Date(r.clock.wallNow()).toISOString(),
    status: state,
    backend: r.queue.backend,
    active_path: queueHealth.activePath ?? r.queue.backend,
    queue_capacity: r.queue.capacity,
    dlq_depth: r.queue.dlqDepth(),
    in_flight: r.pool.inFlight(),
    circuits: r.jidoka.states(),
    components: [
      {
        name: `kanban-${r.queue.backend}`,
        state: queueHealth.healthy ? 'running' : 'stopped',
        restarts: 0,
        lastError: undefined,
        detail: queueHealth.detail,
      },
      ...r.supervisor.health(),
    ],
  };
}

/** Kaizen's figures, with Heijunka's levelling figures beside them (GET /metrics). */
export function metricsReport(r: Readings): MetricsReport {
  const h = r.pool.snapshot();
  return {
    ...r.kaizen.snapshot(),
    heijunka: {
      pool_size: h.pool_size,
      pool_utilization: h.pool_utilization,
      balance_coefficient: h.balance_coefficient,
    },
  };
}

/** The pool, its workers and scaling, and what waits where (GET /heijunka). */
export function heijunkaReport(r: Readings): HeijunkaReport {
  return { ...r.pool.snapshot(), leveling: r.leveling() };
}

export function circuitBody(c: CircuitSnapshot): CircuitBody {
  return {
    state: c.state,
    isolated: c.isolated,
    consecutive_failures: c.consecutiveFailures,
    openings: c.openings,
    failures: c.failures,
    rejected: c.rejected,
    deferred: c.deferred,
    window: {
      calls: c.window.calls,
      failure_rate_pct: round(c.window.failureRatePct, 1),
      slow_call_rate_pct: round(c.window.slowCallRatePct, 1),
    },
    retry_after_secs: Math.ceil(c.retryAfterMs / 1000),
  };
}

/** Every line's circuit in detail, and the rules they follow (GET /jidoka). */
export function jidokaReport(jidoka: Jidoka): JidokaReport {
  const o = jidoka.options;
  return {
    circuit_state: jidoka.worstState(),
    rules: {
      threshold: o.threshold,
      timeout_secs: o.openMs / 1000,
      timeout_max_secs: (o.maxOpenMs ?? o.openMs) / 1000,
      half_open_probes: o.halfOpenProbes ?? 1,
      close_after: o.successesToClose ?? 1,
      window: o.window?.kind === 'time' ? `${o.window.size} s` : `${o.window?.size ?? 20} calls`,
      min_calls: o.minimumCalls ?? 10,
      failure_rate_pct: o.failureRatePct ?? 0,
      slow_call_ms: o.slowCallMs ?? 0,
      slow_call_rate_pct: o.slowCallRatePct ?? 0,
    },
    circuits: Object.fromEntries(
      Object.entries(jidoka.snapshots()).map(([type, c]) => [type, circuitBody(c)]),
    ),
  };
}

/** What the Prometheus exposition reads at each scrape. */
export function expositionReadings(r: Readings, compaction: IdleCompactionStatus): ExpositionReadings {
  return {
    circuits: r.jidoka.snapshots(),
    queueDepth: r.queue.depth(),
    queueCapacity: r.queue.capacity,
    dlqDepth: r.queue.dlqDepth(),
    inFlight: r.pool.inFlight(),
    workersAvailable: r.pool.running(),
    brokerUp: r.queue.health().healthy,
    andon: r.andon.board(),
    andonAlerts: r.andon.alerts(),
    heijunka: r.pool.snapshot(),
    tracing: r.tracer().status(),
    compaction,
  };
}

/** What the Andon board is computed from. */
export function andonReadings(r: Readings): AndonReadings {
  return {
    circuits: r.jidoka.states(),
    queueDepth: r.queue.depth(),
    queueCapacity: r.queue.capacity,
    queueHealthy: r.queue.health().healthy,
    dlqDepth: r.queue.dlqDepth(),
    errorRatePct: r.kaizen.errorRateLastMinute(),
    p99Ms: r.kaizen.p99LatencyLastMinute(),
    workersTotal: r.pool.size,
    workersRunning: r.pool.running(),
    tracing: r.tracer().status(),
  };
}

/** The Andon board with the figures each tile shows (GET /andon, the live stream and page). */
export function boardView(r: Readings): BoardView {
  const board = r.andon.board();
  const k = r.kaizen.window('1m');
  const pool = r.pool.snapshot();
  const queueHealth = r.queue.health();
  const counts = r.kaizen.counts();
  const tracer = r.tracer();
  return {
    ...board,
    at: new Date(r.clock.wallNow()).toISOString(),
    figures: {
      jidoka: { circuits: r.jidoka.states() },
      kanban: {
        depth: r.queue.depth(),
        capacity: r.queue.capacity,
        dlq: r.queue.dlqDepth(),
        in_flight: pool.cards_in_use,
        backend: r.queue.backend,
        active_path: queueHealth.activePath ?? r.queue.backend,
      },
      andon: { error_rate_1m: k.error_rate },
      kaizen: {
        throughput_1m: k.throughput_per_sec,
        p99_1m_ms: k.latency.p99_ms,
        slo_attainment_1m: k.slo_attainment,
        processed: counts.success + counts.errors,
      },
      heijunka: {
        balance_coefficient: pool.balance_coefficient,
        pool_utilization: pool.pool_utilization,
        workers: pool.workers.map((w) => ({
          id: w.id,
          in_use: w.in_use,
          cards: w.cards,
          processed: w.processed,
          state: w.state,
        })),
      },
      tracing: { exporting: tracer.exporting, detail: tracer.status().detail },
    },
  };
}
