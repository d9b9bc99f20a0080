import type { SignalRecord, WorkSignal } from '../signal.ts';

/**
 * A signal's state changes, as pure functions: each takes a record and returns the next one,
 * leaving the first as it was. The pipeline never changes a record in place, so whatever a store
 * or a caller holds is a snapshot.
 */

/** A worker starts attempt `attempt` (counted from 1, held-back deliveries not counted). */
export function started(r: SignalRecord, attempt: number, workerId: string, at: number): SignalRecord {
  return {
    ...r,
    state: 'processing',
    attempts: attempt,
    startedAt: at,
    workerId,
    nextAttemptAt: undefined,
    // "held back: …" described the wait, which is over.
    message: r.deferrals > 0 ? undefined : r.message,
  };
}

/** The handler succeeded. The signal is no longer kept: a completed signal is never retried. */
export function completed(
  r: SignalRecord,
  result: { readonly message: string | undefined; readonly data: unknown },
  at: number,
  durationMs: number,
): SignalRecord {
  return {
    ...r,
    state: 'completed',
    finishedAt: at,
    durationMs,
    message: result.message ?? 'completed',
    data: result.data,
    error: undefined,
    signal: undefined,
  };
}

/** The attempt failed and another one is due in `retryInMs`. */
export function retrying(
  r: SignalRecord,
  error: string,
  at: number,
  durationMs: number,
  retryInMs: number,
): SignalRecord {
  return { ...r, state: 'failed', error, durationMs, nextAttemptAt: at + retryInMs };
}

/**
 * No attempt is left, or the failure is permanent: the signal goes to the dead-letter queue.
 * `durationMs` is the last attempt's, when there was one.
 */
export function deadLettered(r: SignalRecord, error: string, at: number, durationMs?: number): SignalRecord {
  return { ...r, state: 'dead_lettered', error, finishedAt: at, durationMs: durationMs ?? r.durationMs };
}

/** Its line is stopped: handed back to wait `holdMs`, not counted as an attempt. */
export function heldBack(r: SignalRecord, at: number, holdMs: number, reason: string): SignalRecord {
  return { ...r, state: 'queued', deferrals: r.deferrals + 1, nextAttemptAt: at + holdMs, message: reason };
}

/**
 * An operator retries a failed or dead-lettered signal: a new epoch with a fresh set of attempts.
 * A delivery of an older epoch still in the queue is then stale and is dropped unrun. `kept` is the
 * signal the record kept for that (`r.signal`).
 */
export function retried(
  r: SignalRecord,
  kept: WorkSignal,
): { readonly record: SignalRecord; readonly signal: WorkSignal } {
  const signal: WorkSignal = { ...kept, epoch: r.epoch + 1 };
  const record: SignalRecord = {
    ...r,
    epoch: signal.epoch,
    state: 'queued',
    attempts: 0,
    deferrals: 0,
    nextAttemptAt: undefined,
    finishedAt: undefined,
    signal,
  };
  return { record, signal };
}
