import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import type { AndonBoard } from '../andon/board.ts';
import type { HeijunkaSnapshot } from '../heijunka/worker-pool.ts';
import type { IdleCompactionStatus } from '../idle-compaction.ts';
import type { CircuitSnapshot } from '../jidoka/circuit-breaker.ts';
import type { BucketReading } from '../kaizen/bucket-counts.ts';
import type { Kaizen, LatencyKind } from '../kaizen/metrics.ts';
import type { TracingStatus } from '../tracing/tracer.ts';

/** What the exposition reads at each scrape; the system gathers it from the other principles. */
export interface ExpositionReadings {
  readonly circuits: Readonly<Record<string, CircuitSnapshot>>;
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly dlqDepth: number;
  readonly inFlight: number;
  readonly workersAvailable: number;
  readonly brokerUp: boolean;
  readonly andon: AndonBoard;
  readonly andonAlerts: readonly [string, string, number][];
  readonly heijunka: HeijunkaSnapshot;
  /** The trace exporter: spans exported and lost since start (0 and 0 without one). */
  readonly tracing: TracingStatus;
  readonly compaction: IdleCompactionStatus;
}

type Labels = Record<string, string>;
interface Value {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
}

const CIRCUIT_LEVEL = { Closed: 0, HalfOpen: 1, Open: 2 } as const;
const ANDON_LEVEL = { GREEN: 0, YELLOW: 1, RED: 2 } as const;

/**
 * A metric whose values are computed when scraped. Every family here is read from state the system
 * keeps anyway (Kaizen's counts and latency buckets, the breakers, the queue, the board), so the
 * hot path pays for Prometheus no more than Kaizen's own recording.
 */
class ComputedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum' as const;
  readonly #values: () => Value[];

  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => Value[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#values = values;
  }

  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.#values(),
    };
  }

  reset(): void {}
}

/** Prometheus histogram samples (cumulative buckets, sum, count) from Kaizen's bucket counts. */
function histogramValues(name: string, reading: BucketReading, labels: Labels): Value[] {
  const bucket = `${name}_bucket`;
  const out: Value[] = reading.bounds.map((le, i) => ({
    metricName: bucket,
    labels: { ...labels, le: String(le) },
    value: reading.cumulative[i] as number,
  }));
  out.push({ metricName: bucket, labels: { ...labels, le: '+Inf' }, value: reading.count });
  out.push({ metricName: `${name}_sum`, labels, value: reading.sum });
  out.push({ metricName: `${name}_count`, labels, value: reading.count });
  return out;
}

/**
 * The Prometheus exposition: the families the alert rules and dashboards read (tps_jidoka_*,
 * tps_kanban_*, tps_andon_*, tps_kaizen_*, tps_heijunka_*, tps_signals_processed, tps_error_rate)
 * and the process's default metrics. `signal_type` labels only ever name registered types, so a caller cannot create series.
 */
export class Exposition {
  readonly registry = new Registry();

  constructor(kaizen: Kaizen, readNow: () => ExpositionReadings) {
    collectDefaultMetrics({ register: this.registry });
    // Gauges whose names end in _total, which Prometheus reserves for counters (promtool refuses them).
    for (const misnamed of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(misnamed);
    }
    // Every family reads the same moment of one scrape: gather the readings once for it.
    let cached: { at: number; readings: ExpositionReadings } | undefined;
    const read = (): ExpositionReadings => {
      const now = performance.now();
      if (cached === undefined || now - cached.at > 50) cached = { at: now, readings: readNow() };
      return cached.readings;
    };
    const byType = (f: (type: string) => number): Value[] =>
      kaizen.types().map((type) => ({ labels: { signal_type: type }, value: f(type) }));
    const circuits = (f: (c: CircuitSnapshot) => number): Value[] =>
      Object.entries(read().circuits).map(([type, c]) => ({ labels: { signal_type: type }, value: f(c) }));
    const one = (value: number): Value[] => [{ labels: {}, value }];
    const latency = (kind: LatencyKind) => (): Value[] =>
      kaizen
        .types()
        .flatMap((type) =>
          histogramValues(`tps_kaizen_${kind}_seconds`, kaizen.buckets(kind, type), { signal_type: type }),
        );

    const metrics: ComputedMetric[] = [
      new ComputedMetric('tps_signals_accepted_total', 'Signals accepted (202) since start.', 'counter', () =>
        byType((t) => kaizen.counts(t).accepted),
      ),
      new ComputedMetric(
        'tps_signals_processed_total',
        'Signals finished since start, by outcome (completed or dead_lettered).',
        'counter',
        () =>
          kaizen.types().flatMap((type) => {
            const c = kaizen.counts(type);
            return [
              { labels: { signal_type: type, outcome: 'completed' }, value: c.success },
              { labels: { signal_type: type, outcome: 'dead_lettered' }, value: c.errors },
            ];
          }),
      ),
      new ComputedMetric(
        'tps_signals_processed',
        'Signals finished since start, all types and outcomes (the same total as tps_signals_processed_total).',
        'gauge',
        () => one(kaizen.counts().success + kaizen.counts().errors),
      ),
      new ComputedMetric('tps_signals_retried_total', 'Failed attempts that were retried.', 'counter', () =>
        byType((t) => kaizen.counts(t).retries),
      ),
      new ComputedMetric(
        'tps_error_rate',
        'Percent (0-100) of signals finished in the last minute that failed.',
        'gauge',
        () => one(kaizen.errorRateLastMinute()),
      ),
      new ComputedMetric(
        'tps_jidoka_circuit_state',
        'Circuit per signal type: 0 closed, 1 half-open, 2 open.',
        'gauge',
        () => circuits((c) => CIRCUIT_LEVEL[c.state]),
      ),
      new ComputedMetric(
        'tps_jidoka_failures_total',
        'Failed attempts recorded by the breaker.',
        'counter',
        () => circuits((c) => c.failures),
      ),
      new ComputedMetric(
        'tps_jidoka_requests_rejected_total',
        'Signals refused because their circuit was open.',
        'counter',
        () => circuits((c) => c.rejected),
      ),
      new ComputedMetric(
        'tps_jidoka_deferred_total',
        'Signals a worker held back because their line was stopped (circuit open or probing).',
        'counter',
        () => circuits((c) => c.deferred),
      ),
      new ComputedMetric('tps_jidoka_openings_total', 'Times each circuit opened.', 'counter', () =>
        circuits((c) => c.openings),
      ),
      new ComputedMetric('tps_kanban_queue_depth', 'Signals waiting in the Kanban.', 'gauge', () =>
        one(read().queueDepth),
      ),
      new ComputedMetric('tps_kanban_queue_capacity', 'Signals the Kanban holds at most.', 'gauge', () =>
        one(read().queueCapacity),
      ),
      new ComputedMetric('tps_kanban_dlq_depth', 'Signals in the dead-letter queue.', 'gauge', () =>
        one(read().dlqDepth),
      ),
      new ComputedMetric('tps_kanban_in_flight', 'Signals held by workers.', 'gauge', () =>
        one(read().inFlight),
      ),
      new ComputedMetric('tps_kanban_workers_available', 'Worker pull loops running.', 'gauge', () =>
        one(read().workersAvailable),
      ),
      new ComputedMetric(
        'tps_kanban_broker_up',
        '1 when the Kanban (its broker) takes signals, else 0.',
        'gauge',
        () => one(read().brokerUp ? 1 : 0),
      ),
      new ComputedMetric('tps_kanban_rejected_total', 'Signals refused, by reason.', 'counter', () =>
        Object.entries(kaizen.rejected()).map(([reason, value]) => ({ labels: { reason }, value })),
      ),
      new ComputedMetric(
        'tps_andon_level',
        'Andon level per principle and overall: 0 GREEN, 1 YELLOW, 2 RED.',
        'gauge',
        () => {
          const board = read().andon;
          return [
            ...Object.entries(board.principles).map(([principle, light]) => ({
              labels: { principle },
              value: ANDON_LEVEL[light.level],
            })),
            { labels: { principle: 'overall' }, value: ANDON_LEVEL[board.overall] },
          ];
        },
      ),
      new ComputedMetric(
        'tps_andon_alerts_total',
        'Andon records (level changes and alerts such as a circuit opening), by principle and level.',
        'counter',
        () =>
          read().andonAlerts.map(([principle, level, value]) => ({ labels: { principle, level }, value })),
      ),
      new ComputedMetric(
        'tps_andon_errors_total',
        'Signals that ended dead-lettered (each pulls the Andon cord).',
        'counter',
        () => byType((t) => kaizen.counts(t).errors),
      ),
      new ComputedMetric(
        'tps_kaizen_slo_target_seconds',
        'End-to-end latency a signal must finish within to meet the SLO.',
        'gauge',
        () => one(kaizen.sloTargetMs / 1000),
      ),
      new ComputedMetric(
        'tps_kaizen_slo_objective',
        'Share (0-1) of signals that should meet the SLO target (TPS_SLO_OBJECTIVE_PCT).',
        'gauge',
        () => one(kaizen.sloObjective),
      ),
      new ComputedMetric(
        'tps_kaizen_slo_attainment',
        'Share (0-1) of signals finished within the SLO target, over a window; NaN when none finished.',
        'gauge',
        () => {
          const c = kaizen.counts();
          const total = c.success + c.errors;
          return [
            { labels: { window: '1m' }, value: kaizen.sloAttainment('1m') ?? Number.NaN },
            { labels: { window: '5m' }, value: kaizen.sloAttainment('5m') ?? Number.NaN },
            { labels: { window: 'total' }, value: total === 0 ? Number.NaN : c.withinSlo / total },
          ];
        },
      ),
      new ComputedMetric(
        'tps_kaizen_latency_seconds',
        'End-to-end latency: accepted to finished.',
        'histogram',
        latency('latency'),
      ),
      new ComputedMetric(
        'tps_kaizen_queue_wait_seconds',
        'Accepted to first picked up by a worker.',
        'histogram',
        latency('queue_wait'),
      ),
      new ComputedMetric(
        'tps_kaizen_processing_seconds',
        'Run time of the last attempt.',
        'histogram',
        latency('processing'),
      ),
      new ComputedMetric('tps_heijunka_pool_size', 'Workers in the pool.', 'gauge', () =>
        one(read().heijunka.pool_size),
      ),
      new ComputedMetric(
        'tps_heijunka_pool_max',
        'Most workers the pool scales to (TPS_HEIJUNKA_POOL_MAX).',
        'gauge',
        () => one(read().heijunka.pool_max),
      ),
      new ComputedMetric(
        'tps_heijunka_pool_min',
        'Fewest workers the pool keeps (TPS_HEIJUNKA_POOL).',
        'gauge',
        () => one(read().heijunka.pool_min),
      ),
      new ComputedMetric(
        'tps_heijunka_pool_utilization',
        'Cards in use over cards in the pool (0-1).',
        'gauge',
        () => one(read().heijunka.pool_utilization),
      ),
      new ComputedMetric(
        'tps_heijunka_balance_coefficient',
        'Mean over max of signals processed per worker: 1 is perfectly level.',
        'gauge',
        () => one(read().heijunka.balance_coefficient),
      ),
      new ComputedMetric(
        'tps_heijunka_worker_processed_total',
        'Deliveries each worker processed.',
        'counter',
        () => read().heijunka.workers.map((w) => ({ labels: { worker: w.id }, value: w.processed })),
      ),
      new ComputedMetric(
        'tps_heijunka_scaling_total',
        'Worker pool scaling decisions, by direction.',
        'counter',
        () => [
          { labels: { direction: 'up' }, value: read().heijunka.scale_ups },
          { labels: { direction: 'down' }, value: read().heijunka.scale_downs },
        ],
      ),
      new ComputedMetric(
        'tps_tracing_spans_exported_total',
        'Spans delivered to the OTLP endpoint (0 without one).',
        'counter',
        () => one(read().tracing.spansExported),
      ),
      new ComputedMetric(
        'tps_tracing_spans_failed_total',
        'Spans the OTLP exporter failed to deliver: lost.',
        'counter',
        () => one(read().tracing.spansFailed),
      ),
      new ComputedMetric('tps_heijunka_worker_in_use', 'Cards each worker holds now.', 'gauge', () =>
        read().heijunka.workers.map((w) => ({ labels: { worker: w.id }, value: w.in_use })),
      ),
      new ComputedMetric(
        'tps_idle_compactions_total',
        'Full garbage collections run once the service was idle, to give back memory taken under load.',
        'counter',
        () => one(read().compaction.compactions),
      ),
      new ComputedMetric(
        'tps_idle_compaction_freed_bytes_total',
        'Resident memory those collections gave back.',
        'counter',
        () => one(read().compaction.freedBytes),
      ),
    ];
    // prom-client accepts any object with its metric shape; these compute their values when scraped.
    for (const m of metrics) this.registry.registerMetric(m as unknown as Metric);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
