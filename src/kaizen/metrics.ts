import type { Histogram } from 'hdr-histogram-js';
import type { Clock } from '../clock.ts';
import { MAX_US, newHistogram } from './histogram.ts';
import { RecentHistogram } from './recent-histogram.ts';
import { RollingWindow } from './rolling-window.ts';

function toUs(ms: number): number {
  const us = Math.round(ms * 1000);
  return Math.min(MAX_US, Math.max(1, us));
}

export interface Percentiles {
  readonly count: number;
  readonly avg_ms: number;
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly max_ms: number;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function percentiles(h: Histogram): Percentiles {
  const count = h.totalCount;
  if (count === 0) return { count, avg_ms: 0, p50_ms: 0, p95_ms: 0, p99_ms: 0, p999_ms: 0, max_ms: 0 };
  const ms = (us: number) => round3(us / 1000);
  return {
    count,
    avg_ms: ms(h.mean),
    p50_ms: ms(h.getValueAtPercentile(50)),
    p95_ms: ms(h.getValueAtPercentile(95)),
    p99_ms: ms(h.getValueAtPercentile(99)),
    p999_ms: ms(h.getValueAtPercentile(99.9)),
    max_ms: ms(h.maxValue),
  };
}

/** The JSON body of GET /metrics. The first seven fields are the seed's. */
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
  /** Accepted → finished, milliseconds. */
  readonly latency: Percentiles;
  /** Accepted → first picked up by a worker, milliseconds. */
  readonly queue_wait: Percentiles;
  readonly last_minute: {
    readonly processed: number;
    readonly errors: number;
    readonly error_rate: number;
    readonly throughput_per_sec: number;
    /** End-to-end latency of the signals finished in the last minute. */
    readonly latency: Percentiles;
  };
}

export type RejectReason = 'circuit_open' | 'queue_full' | 'not_accepting';

/**
 * Kaizen: exact counts and HDR latency histograms (three significant digits) of every signal
 * the system finishes. A signal counts once, when it completes or is dead-lettered; failed
 * attempts that are retried count in `retries_total`.
 */
export class Kaizen {
  readonly #clock: Clock;
  readonly #processing = newHistogram();
  readonly #latency = newHistogram();
  readonly #wait = newHistogram();
  readonly #window = new RollingWindow(60, 1000);
  readonly #recentLatency = new RecentHistogram(6, 10_000);
  #success = 0;
  #errors = 0;
  #accepted = 0;
  #retries = 0;
  readonly #rejected: Record<RejectReason, number> = {
    circuit_open: 0,
    queue_full: 0,
    not_accepting: 0,
  };

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  countAccepted(): void {
    this.#accepted++;
  }

  countRejected(reason: RejectReason): void {
    this.#rejected[reason]++;
  }

  countRetry(): void {
    this.#retries++;
  }

  /** Records the wait between acceptance and the first pick-up by a worker. */
  recordWait(waitMs: number): void {
    this.#wait.recordValue(toUs(waitMs));
  }

  /** Records a finished signal: `processingMs` of its last attempt, `latencyMs` end to end. */
  recordFinished(ok: boolean, processingMs: number, latencyMs: number): void {
    if (ok) this.#success++;
    else this.#errors++;
    const now = this.#clock.now();
    const latencyUs = toUs(latencyMs);
    this.#processing.recordValue(toUs(processingMs));
    this.#latency.recordValue(latencyUs);
    this.#recentLatency.record(latencyUs, now);
    this.#window.record(ok, now);
  }

  /** Percent (0–100) of signals finished in the last minute that failed. */
  errorRateLastMinute(): number {
    const { ok, failed } = this.#window.totals(this.#clock.now());
    return ok + failed === 0 ? 0 : (failed * 100) / (ok + failed);
  }

  /** End-to-end latency p99 (ms) of the signals finished in the last minute; 0 if none. */
  p99LatencyLastMinute(): number {
    const h = this.#recentLatency.merged(this.#clock.now());
    return h.totalCount === 0 ? 0 : h.getValueAtPercentile(99) / 1000;
  }

  /** Percent (0–100) of all signals finished since start that failed. */
  errorRate(): number {
    const total = this.#success + this.#errors;
    return total === 0 ? 0 : (this.#errors * 100) / total;
  }

  snapshot(): KaizenSnapshot {
    const processing = percentiles(this.#processing);
    const now = this.#clock.now();
    const { ok, failed } = this.#window.totals(now);
    const minute = ok + failed;
    return {
      total_processed: this.#success + this.#errors,
      success_count: this.#success,
      error_count: this.#errors,
      error_rate: round3(this.errorRate()),
      avg_duration_ms: processing.avg_ms,
      p95_duration_ms: processing.p95_ms,
      p99_duration_ms: processing.p99_ms,
      p50_duration_ms: processing.p50_ms,
      p999_duration_ms: processing.p999_ms,
      max_duration_ms: processing.max_ms,
      accepted_total: this.#accepted,
      rejected_total: { ...this.#rejected },
      retries_total: this.#retries,
      latency: percentiles(this.#latency),
      queue_wait: percentiles(this.#wait),
      last_minute: {
        processed: minute,
        errors: failed,
        error_rate: minute === 0 ? 0 : round3((failed * 100) / minute),
        throughput_per_sec: round3(minute / 60),
        latency: percentiles(this.#recentLatency.merged(now)),
      },
    };
  }
}
