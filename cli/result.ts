/** What a load run measured, as `--json` prints it and the HTML report draws it. */

export type Level = 'GREEN' | 'YELLOW' | 'RED';

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** One second of the run. */
export interface Tick {
  /** Seconds since the run started (1 for the first second). */
  readonly t: number;
  /** Requests sent in this second. */
  readonly sent: number;
  /** Answers received in this second (any status), and how many of them were errors. */
  readonly answered: number;
  readonly errors: number;
  /** Latency of the answers received in this second, milliseconds (0 when none). */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** From the service's /health, polled each second; null when the poll failed. */
  readonly queueDepth: number | null;
  readonly circuit: string | null;
}

export interface Criterion {
  readonly name: 'errors' | 'p99' | 'circuit' | 'drain';
  /** The measured value, in words (e.g. "0.4 %", "183 ms", "opened 0 times", "drained in 0.2 s"). */
  readonly value: string;
  readonly level: Level;
  readonly reason: string;
}

export interface Verdict {
  readonly level: Level;
  readonly criteria: readonly Criterion[];
}

export interface RunResult {
  /** `load`, `spike`, `stress`, or `custom`. */
  readonly scenario: string;
  readonly url: string;
  readonly signalType: string;
  /** `complete`: each request waits for its signal's end (Prefer: wait); `accept`: for the 202. */
  readonly mode: 'complete' | 'accept';
  /** Asked rate, requests per second, and length, seconds. */
  readonly rate: number;
  readonly durationSecs: number;
  /** RFC 3339. */
  readonly startedAt: string;
  readonly sent: number;
  readonly answered: number;
  /** Requests sent per second over the sending time: the rate the generator kept. */
  readonly achievedRate: number;
  /** From each request's scheduled send time to its answer (coordinated omission corrected). */
  readonly latencyMs: Percentiles;
  /** Answers by HTTP status, plus `error` for requests that got no answer (refused, reset, timed out). */
  readonly statusCodes: Readonly<Record<string, number>>;
  /** Non-2xx answers plus requests without an answer. */
  readonly errors: number;
  readonly errorRatePct: number;
  /**
   * Milliseconds from the last answer until the service's queue was empty; null if it never was,
   * or when the service was not observed.
   */
  readonly drainMs: number | null;
  readonly circuitOpenings: number;
  /** Share of the run's seconds the service reported a circuit open, percent. */
  readonly circuitOpenSharePct: number;
  /** The service's resident memory right after the queue drained, MB (from /info); null when unknown. */
  readonly serviceRssMb: number | null;
  /** The most resident memory the service has had since it started, MB; null when unknown. */
  readonly servicePeakRssMb: number | null;
  /**
   * The service's resident memory once settled after the run: after its idle compaction (see
   * TPS_IDLE_COMPACT_SECS), MB; null when the service does not compact or was not observed.
   */
  readonly serviceIdleRssMb: number | null;
  readonly timeline: readonly Tick[];
  readonly verdict: Verdict;
}
