import type { SignalRecord } from '../../signal.ts';

/** Domain-to-wire: the record the system keeps, as the signal routes show it. */

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function round3(x: number | undefined): number | undefined {
  return x === undefined ? undefined : Math.round(x * 1000) / 1000;
}

export function statusUrl(id: string): string {
  return `/signal/${id}/status`;
}

/** GET /signal/:id/status. */
export function statusBody(r: SignalRecord) {
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
    duration_ms: round3(r.durationMs),
    message: r.message,
    result: r.data,
    error: r.error,
    status_url: statusUrl(r.id),
  };
}

/** The seed's processed-signal body, for a signal that has finished. */
export function processedBody(r: SignalRecord) {
  const ok = r.state === 'completed';
  return {
    success: ok,
    signal_id: r.id,
    message: (ok ? r.message : r.error) ?? r.state,
    trace_id: r.traceId,
    duration_ms: round3(r.durationMs) ?? 0,
    status: r.state,
    worker_id: r.workerId ?? '',
    attempts: r.attempts,
    result: r.data,
  };
}

/**
 * 202: a signal queued (by POST /signal or a retry). `status` is the record's, except for a new
 * signal, reported as accepted even if a worker already took it.
 */
export function acceptedBody(r: SignalRecord, status: string = r.state) {
  return {
    success: true,
    signal_id: r.id,
    trace_id: r.traceId,
    status,
    status_url: statusUrl(r.id),
  };
}
