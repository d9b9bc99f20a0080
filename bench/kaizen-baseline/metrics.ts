// Kaizen as it was on hdr-histogram-js's private file and fields, with its own record, one-pass
// read and merge: kept only as the baseline of bench/kaizen.ts, which measures against it.
import type { Clock } from '../../src/clock.ts';
import { RollingWindow } from '../../src/kaizen/rolling-window.ts';
import { type Histogram, newHistogram, record, summarize, toMicros } from './histogram.ts';
import { WindowedHistogram } from './windowed-histogram.ts';

/** The rolling windows Kaizen reports, by name. */
export const WINDOWS = { '1m': 60_000, '5m': 300_000 } as const;
export type WindowName = keyof typeof WINDOWS;
const WINDOW_NAMES = Object.keys(WINDOWS) as WindowName[];
/** Window slices: 30 of 10 s cover the longest window. */
const SLICES = 30;
const SLICE_MS = 10_000;

export interface Percentiles {
  readonly count: number;
  readonly avg_ms: number;
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly max_ms: number;
}

const NO_PERCENTILES: Percentiles = {
  count: 0,
  avg_ms: 0,
  p50_ms: 0,
  p95_ms: 0,
  p99_ms: 0,
  p999_ms: 0,
  max_ms: 0,
};

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const REPORTED = [50, 95, 99, 99.9];

function percentiles(h: Histogram): Percentiles {
  const count = h.totalCount;
  if (count === 0) return NO_PERCENTILES;
  const ms = (us: number) => round3(us / 1000);
  const { mean, values } = summarize(h, REPORTED);
  return {
    count,
    avg_ms: ms(mean),
    p50_ms: ms(values[0] as number),
    p95_ms: ms(values[1] as number),
    p99_ms: ms(values[2] as number),
    p999_ms: ms(values[3] as number),
    max_ms: ms(h.maxValue),
  };
}

/** What Kaizen says of the signals finished over one window. */
export interface WindowFigures {
  readonly processed: number;
  readonly errors: number;
  /** Percent (0–100) of the finished signals that failed. */
  readonly error_rate: number;
  /** Signals finished per second, over the window (or the uptime, while shorter). */
  readonly throughput_per_sec: number;
  /** Share (0–1) finished within the SLO target end to end; null when none finished. */
  readonly slo_attainment: number | null;
  readonly latency: Percentiles;
  readonly queue_wait: Percentiles;
  readonly processing: Percentiles;
}

/** The figures of one signal type (or of all of them) since start. */
export interface TypeFigures {
  readonly accepted_total: number;
  readonly processed: number;
  readonly success_count: number;
  readonly error_count: number;
  readonly error_rate: number;
  readonly retries_total: number;
  readonly slo_attainment: number | null;
  readonly latency: Percentiles;
  readonly queue_wait: Percentiles;
  readonly processing: Percentiles;
  readonly windows: Readonly<Record<WindowName, WindowFigures>>;
}

/** The JSON body of GET /metrics: seven summary fields first (total_processed … p99_duration_ms), then the detail. */
export interface KaizenSnapshot {
  readonly total_processed: number;
  readonly success_count: number;
  readonly error_count: number;
  /** Percent (0–100) of processed signals that ended dead-lettered. */
  readonly error_rate: number;
  readonly avg_duration_ms: number;
  readonly p95_duration_ms: number;
  readonly p99_duration_ms: number;
  readonly p50_duration_ms: number;
  readonly p999_duration_ms: number;
  readonly max_duration_ms: number;
  readonly accepted_total: number;
  readonly rejected_total: Readonly<Record<RejectReason, number>>;
  readonly retries_total: number;
  readonly slo_target_ms: number;
  readonly slo_attainment: number | null;
  /** Accepted → finished, milliseconds. */
  readonly latency: Percentiles;
  /** Accepted → first picked up by a worker, milliseconds. */
  readonly queue_wait: Percentiles;
  /** The last attempt's run, milliseconds (what the `*_duration_ms` fields summarise). */
  readonly processing: Percentiles;
  readonly windows: Readonly<Record<WindowName, WindowFigures>>;
  readonly by_type: Readonly<Record<string, TypeFigures>>;
}

export type RejectReason = 'circuit_open' | 'queue_full' | 'shed' | 'not_accepting';

/** Latency kinds, each kept since start and over the windows. */
export type LatencyKind = 'latency' | 'queue_wait' | 'processing';

/** Counts and histograms of one signal type, or of all. */
class Stats {
  accepted = 0;
  success = 0;
  errors = 0;
  retries = 0;
  withinSlo = 0;
  readonly since: Record<LatencyKind, Histogram> = {
    latency: newHistogram(),
    queue_wait: newHistogram(),
    processing: newHistogram(),
  };
  readonly recent: Record<LatencyKind, WindowedHistogram> = {
    latency: new WindowedHistogram(SLICES, SLICE_MS),
    queue_wait: new WindowedHistogram(SLICES, SLICE_MS),
    processing: new WindowedHistogram(SLICES, SLICE_MS),
  };
  readonly counts = new RollingWindow(WINDOWS['5m'] / 1000, 1000);
}

/**
 * Kaizen: exact counts and HDR latency histograms of every signal the system finishes, overall and
 * per signal type, since start (three significant digits) and over the last minute and five
 * minutes (two). A signal counts once, when it completes or is dead-lettered; failed attempts that
 * are retried count in `retries_total`. The SLO is end-to-end latency within `sloTargetMs`.
 */
export class Kaizen {
  readonly sloTargetMs: number;
  /** The share (0–1) of signals that should meet the SLO target. */
  readonly sloObjective: number;
  readonly #clock: Clock;
  readonly #startedAt: number;
  readonly #all = new Stats();
  readonly #byType = new Map<string, Stats>();
  readonly #rejected: Record<RejectReason, number> = {
    circuit_open: 0,
    queue_full: 0,
    shed: 0,
    not_accepting: 0,
  };

  constructor(clock: Clock, sloTargetMs = 200, sloObjectivePct = 99) {
    this.sloObjective = sloObjectivePct / 100;
    this.#clock = clock;
    this.sloTargetMs = sloTargetMs;
    this.#startedAt = clock.now();
  }

  /** Starts keeping figures for a signal type (only registered types get any). */
  addType(type: string): void {
    if (!this.#byType.has(type)) this.#byType.set(type, new Stats());
  }

  types(): string[] {
    return [...this.#byType.keys()];
  }

  countAccepted(type: string): void {
    this.#all.accepted++;
    const t = this.#byType.get(type);
    if (t) t.accepted++;
  }

  /** Changes whenever a signal is accepted, refused, retried or finished (a cheap "anything new?"). */
  activity(): number {
    const a = this.#all;
    const r = this.#rejected;
    return (
      a.accepted + a.success + a.errors + a.retries + r.circuit_open + r.queue_full + r.shed + r.not_accepting
    );
  }

  countRejected(reason: RejectReason): void {
    this.#rejected[reason]++;
  }

  countRetry(type: string): void {
    this.#all.retries++;
    const t = this.#byType.get(type);
    if (t) t.retries++;
  }

  /** Records the wait between acceptance and the first pick-up by a worker. */
  recordWait(type: string, waitMs: number): void {
    const us = toMicros(waitMs);
    const now = this.#clock.now();
    record(this.#all.since.queue_wait, us);
    this.#all.recent.queue_wait.record(us, now);
    const t = this.#byType.get(type);
    if (t) {
      record(t.since.queue_wait, us);
      t.recent.queue_wait.record(us, now);
    }
  }

  /** Records a finished signal: `processingMs` of its last attempt, `latencyMs` end to end. */
  recordFinished(type: string, ok: boolean, processingMs: number, latencyMs: number): void {
    const now = this.#clock.now();
    const processingUs = toMicros(processingMs);
    const latencyUs = toMicros(latencyMs);
    const withinSlo = latencyMs <= this.sloTargetMs;
    this.#finish(this.#all, ok, withinSlo, processingUs, latencyUs, now);
    const t = this.#byType.get(type);
    if (t) this.#finish(t, ok, withinSlo, processingUs, latencyUs, now);
  }

  /** Percent (0–100) of signals finished in the last minute that failed. */
  errorRateLastMinute(): number {
    const { ok, failed } = this.#all.counts.totals(this.#clock.now(), WINDOWS['1m']);
    return ok + failed === 0 ? 0 : (failed * 100) / (ok + failed);
  }

  /** End-to-end latency p99 (ms) of the signals finished in the last minute; 0 if none. */
  p99LatencyLastMinute(): number {
    const h = this.#all.recent.latency.merged(this.#clock.now(), WINDOWS['1m']);
    return h.totalCount === 0 ? 0 : h.getValueAtPercentile(99) / 1000;
  }

  /** Percent (0–100) of all signals finished since start that failed. */
  errorRate(): number {
    const total = this.#all.success + this.#all.errors;
    return total === 0 ? 0 : (this.#all.errors * 100) / total;
  }

  /** The since-start histogram of a kind, overall or of one type (for the Prometheus exposition). */
  histogram(kind: LatencyKind, type?: string): Histogram | undefined {
    return (type === undefined ? this.#all : this.#byType.get(type))?.since[kind];
  }

  /** Since-start counts, overall or of one type. */
  counts(type?: string): {
    accepted: number;
    success: number;
    errors: number;
    retries: number;
    withinSlo: number;
  } {
    const s = type === undefined ? this.#all : this.#byType.get(type);
    if (s === undefined) return { accepted: 0, success: 0, errors: 0, retries: 0, withinSlo: 0 };
    return {
      accepted: s.accepted,
      success: s.success,
      errors: s.errors,
      retries: s.retries,
      withinSlo: s.withinSlo,
    };
  }

  rejected(): Readonly<Record<RejectReason, number>> {
    return { ...this.#rejected };
  }

  /** SLO attainment (0–1) over a window, or null when nothing finished in it. */
  sloAttainment(window: WindowName): number | null {
    const { ok, failed, withinSlo } = this.#all.counts.totals(this.#clock.now(), WINDOWS[window]);
    return ok + failed === 0 ? null : withinSlo / (ok + failed);
  }

  /** The figures of all signals over one window (what the Andon board shows), without the rest. */
  window(name: WindowName): WindowFigures {
    return this.#window(this.#all, WINDOWS[name], this.#clock.now());
  }

  snapshot(): KaizenSnapshot {
    const all = this.#figures(this.#all);
    const byType: Record<string, TypeFigures> = {};
    for (const [type, stats] of this.#byType) byType[type] = this.#figures(stats);
    return {
      total_processed: all.processed,
      success_count: all.success_count,
      error_count: all.error_count,
      error_rate: all.error_rate,
      avg_duration_ms: all.processing.avg_ms,
      p95_duration_ms: all.processing.p95_ms,
      p99_duration_ms: all.processing.p99_ms,
      p50_duration_ms: all.processing.p50_ms,
      p999_duration_ms: all.processing.p999_ms,
      max_duration_ms: all.processing.max_ms,
      accepted_total: all.accepted_total,
      rejected_total: this.rejected(),
      retries_total: all.retries_total,
      slo_target_ms: this.sloTargetMs,
      slo_attainment: all.slo_attainment,
      latency: all.latency,
      queue_wait: all.queue_wait,
      processing: all.processing,
      windows: all.windows,
      by_type: byType,
    };
  }

  #finish(
    s: Stats,
    ok: boolean,
    withinSlo: boolean,
    processingUs: number,
    latencyUs: number,
    now: number,
  ): void {
    if (ok) s.success++;
    else s.errors++;
    if (withinSlo) s.withinSlo++;
    record(s.since.processing, processingUs);
    record(s.since.latency, latencyUs);
    s.recent.processing.record(processingUs, now);
    s.recent.latency.record(latencyUs, now);
    s.counts.record(ok, withinSlo, now);
  }

  #figures(s: Stats): TypeFigures {
    const now = this.#clock.now();
    const processed = s.success + s.errors;
    const windows = {} as Record<WindowName, WindowFigures>;
    for (const name of WINDOW_NAMES) windows[name] = this.#window(s, WINDOWS[name], now);
    return {
      accepted_total: s.accepted,
      processed,
      success_count: s.success,
      error_count: s.errors,
      error_rate: processed === 0 ? 0 : round3((s.errors * 100) / processed),
      retries_total: s.retries,
      slo_attainment: processed === 0 ? null : round3(s.withinSlo / processed),
      latency: percentiles(s.since.latency),
      queue_wait: percentiles(s.since.queue_wait),
      processing: percentiles(s.since.processing),
      windows,
    };
  }

  #window(s: Stats, windowMs: number, now: number): WindowFigures {
    const { ok, failed, withinSlo } = s.counts.totals(now, windowMs);
    const processed = ok + failed;
    const seconds = Math.max(1, Math.min(windowMs, now - this.#startedAt) / 1000);
    return {
      processed,
      errors: failed,
      error_rate: processed === 0 ? 0 : round3((failed * 100) / processed),
      throughput_per_sec: round3(processed / seconds),
      slo_attainment: processed === 0 ? null : round3(withinSlo / processed),
      latency: percentiles(s.recent.latency.merged(now, windowMs)),
      queue_wait: percentiles(s.recent.queue_wait.merged(now, windowMs)),
      processing: percentiles(s.recent.processing.merged(now, windowMs)),
    };
  }
}
