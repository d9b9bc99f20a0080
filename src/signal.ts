/** 1 critical, 2 high, 3 normal (default), 4 low. */
export type Priority = 1 | 2 | 3 | 4;

export const PRIORITY_NAMES: Readonly<Record<Priority, string>> = {
  1: 'critical',
  2: 'high',
  3: 'normal',
  4: 'low',
};

/** A unit of work as it travels through the Kanban queue. Immutable once accepted. */
export interface WorkSignal {
  readonly id: string;
  readonly type: string;
  readonly priority: Priority;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
  /** Epoch milliseconds (fractional) when the signal was accepted. */
  readonly acceptedAt: number;
  /** W3C trace id (32 hex digits) the signal belongs to. */
  readonly traceId: string;
  /** Span id (16 hex digits) that the processing spans continue: the publish span. */
  readonly parentSpanId: string;
  /** W3C trace flags (bit 0: sampled), so processing follows the caller's sampling decision. */
  readonly traceFlags: number;
  /**
   * Bumped each time an operator retries the signal by hand. A delivery whose epoch is older
   * than the signal's record is stale and is dropped, so a manual retry never runs twice.
   */
  readonly epoch: number;
}

/**
 * Lifecycle: queued → processing → completed | failed → (retry: processing) … → dead_lettered.
 * `failed` means the last attempt failed and another one is scheduled.
 */
export type SignalState = 'queued' | 'processing' | 'completed' | 'failed' | 'dead_lettered';

export function isTerminal(state: SignalState): boolean {
  return state === 'completed' || state === 'dead_lettered';
}

/** What a handler returns. A plain string is taken as the message. */
export interface HandlerResult {
  readonly message?: string;
  readonly data?: unknown;
}

/**
 * The status store's view of one signal. Times are epoch milliseconds. A record is never changed:
 * each state change makes a new one (`pipeline/transitions.ts`), so a record read from a store is
 * a snapshot whatever the backend.
 */
export interface SignalRecord {
  readonly id: string;
  readonly type: string;
  readonly priority: Priority;
  readonly traceId: string;
  readonly acceptedAt: number;
  readonly idempotencyKey: string | undefined;
  readonly state: SignalState;
  readonly epoch: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  /**
   * Times a worker held the signal back because its line was stopped (circuit open or probing).
   * A broker counts those as deliveries; the attempt a handler sees does not.
   */
  readonly deferrals: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly nextAttemptAt: number | undefined;
  readonly workerId: string | undefined;
  /** Processing time of the last attempt, in milliseconds. */
  readonly durationMs: number | undefined;
  readonly message: string | undefined;
  readonly data: unknown;
  readonly error: string | undefined;
  /** Kept until the signal completes, so a failed or dead-lettered one can be retried. */
  readonly signal: WorkSignal | undefined;
}

export function newRecord(signal: WorkSignal, maxAttempts: number, idempotencyKey?: string): SignalRecord {
  return {
    id: signal.id,
    type: signal.type,
    priority: signal.priority,
    traceId: signal.traceId,
    acceptedAt: signal.acceptedAt,
    idempotencyKey,
    state: 'queued',
    epoch: signal.epoch,
    attempts: 0,
    maxAttempts,
    deferrals: 0,
    startedAt: undefined,
    finishedAt: undefined,
    nextAttemptAt: undefined,
    workerId: undefined,
    durationMs: undefined,
    message: undefined,
    data: undefined,
    error: undefined,
    signal,
  };
}

/**
 * A signal's status as the API and the library show it: the API's field names, RFC 3339 times.
 * Fields that do not apply yet are undefined (absent from JSON).
 */
export interface SignalStatus {
  readonly signal_id: string;
  readonly signal_type: string;
  readonly priority: Priority;
  readonly status: SignalState;
  readonly attempts: number;
  readonly max_attempts: number;
  readonly trace_id: string;
  readonly accepted_at: string;
  readonly started_at: string | undefined;
  readonly finished_at: string | undefined;
  readonly next_attempt_at: string | undefined;
  readonly worker_id: string | undefined;
  /** Processing time of the last attempt, milliseconds (to the microsecond). */
  readonly duration_ms: number | undefined;
  readonly message: string | undefined;
  /** What the handler returned as `data`. */
  readonly result: unknown;
  readonly error: string | undefined;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

export function signalStatus(r: SignalRecord): SignalStatus {
  return {
    signal_id: r.id,
    signal_type: r.type,
    priority: r.priority,
    status: r.state,
    attempts: r.attempts,
    max_attempts: r.maxAttempts,
    trace_id: r.traceId,
    accepted_at: new Date(r.acceptedAt).toISOString(),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    next_attempt_at: iso(r.nextAttemptAt),
    worker_id: r.workerId,
    duration_ms: r.durationMs === undefined ? undefined : Math.round(r.durationMs * 1000) / 1000,
    message: r.message,
    result: r.data,
    error: r.error,
  };
}
