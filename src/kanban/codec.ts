import type { Priority, WorkSignal } from '../signal.ts';
import { parseTraceparent } from '../tracing/trace-context.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A signal as broker bytes: JSON, so any consumer (and a human with the CLI) can read it. */
export function encodeSignal(signal: WorkSignal): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      id: signal.id,
      type: signal.type,
      priority: signal.priority,
      payload: signal.payload,
      timeoutMs: signal.timeoutMs,
      acceptedAt: signal.acceptedAt,
      traceId: signal.traceId,
      parentSpanId: signal.parentSpanId,
      traceFlags: signal.traceFlags,
      epoch: signal.epoch,
    }),
  );
}

function isPriority(value: unknown): value is Priority {
  return value === 1 || value === 2 || value === 3 || value === 4;
}

/**
 * Reads a signal written by `encodeSignal`. Returns undefined for bytes that are not one (a
 * foreign or damaged message), which the driver then dead-letters instead of crashing on.
 */
export function decodeSignal(bytes: Uint8Array): WorkSignal | undefined {
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Record<string, unknown>;
  if (
    typeof s.id !== 'string' ||
    typeof s.type !== 'string' ||
    !isPriority(s.priority) ||
    typeof s.payload !== 'object' ||
    s.payload === null ||
    typeof s.timeoutMs !== 'number' ||
    typeof s.acceptedAt !== 'number' ||
    typeof s.traceId !== 'string' ||
    typeof s.parentSpanId !== 'string' ||
    typeof s.epoch !== 'number'
  ) {
    return undefined;
  }
  // Signals enqueued before trace flags were carried are sampled, as they were then.
  if (typeof s.traceFlags !== 'number') s.traceFlags = 1;
  return s as unknown as WorkSignal;
}

/** The W3C `traceparent` of a queued signal: the publish span is the parent of what follows. */
export function traceparentOf(signal: WorkSignal): string {
  return `00-${signal.traceId}-${signal.parentSpanId}-${(signal.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The broker-level id of one enqueueing of a signal: a manual retry is a new message. */
export function messageIdOf(signal: WorkSignal): string {
  return signal.epoch === 0 ? signal.id : `${signal.id}.${signal.epoch}`;
}

/**
 * The signal as a consumer continues its trace: the message's `traceparent` header, when valid,
 * is the context to continue (the header is what travels with a message, whoever produced it).
 */
export function withTraceContext(signal: WorkSignal, traceparent: string | undefined): WorkSignal {
  const parent = parseTraceparent(traceparent);
  if (parent === undefined) return signal;
  if (parent.traceId === signal.traceId && parent.spanId === signal.parentSpanId) return signal;
  return {
    ...signal,
    traceId: parent.traceId,
    parentSpanId: parent.spanId,
    traceFlags: parent.sampled ? 1 : 0,
  };
}
