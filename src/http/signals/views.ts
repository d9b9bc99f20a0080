import type { SignalStatus } from '../../signal.ts';

/** Domain-to-wire: the signal as the system reports it, as the signal routes show it. */

export function statusUrl(id: string): string {
  return `/signal/${id}/status`;
}

/** GET /signal/:id/status. */
export function statusBody(s: SignalStatus) {
  return { ...s, status_url: statusUrl(s.signal_id) };
}

/** The processed-signal body (success, message, duration), for a signal that has finished. */
export function processedBody(s: SignalStatus) {
  const ok = s.status === 'completed';
  return {
    success: ok,
    signal_id: s.signal_id,
    message: (ok ? s.message : s.error) ?? s.status,
    trace_id: s.trace_id,
    duration_ms: s.duration_ms ?? 0,
    status: s.status,
    worker_id: s.worker_id ?? '',
    attempts: s.attempts,
    result: s.result,
  };
}

/**
 * 202: a signal queued (by POST /signal or a retry). `status` is the signal's, except for a new
 * signal, reported as accepted even if a worker already took it.
 */
export function acceptedBody(s: SignalStatus, status: string = s.status) {
  return {
    success: true,
    signal_id: s.signal_id,
    trace_id: s.trace_id,
    status,
    status_url: statusUrl(s.signal_id),
  };
}
