import { newSpanId, newTraceId } from '../ids.ts';

/** The W3C trace context of one unit of work. */
export interface TraceContext {
  readonly traceId: string;
  /** This unit's own span id. */
  readonly spanId: string;
  /** The caller's span id, when the caller sent a `traceparent`. */
  readonly parentSpanId: string | undefined;
  readonly sampled: boolean;
}

const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/**
 * Reads a `traceparent` header (W3C Trace Context, version 00 and forward-compatible later
 * versions). Returns undefined when the header is absent or malformed, in which case the caller
 * starts a new trace, as the specification asks.
 */
export function parseTraceparent(header: string | undefined): TraceContext | undefined {
  if (header === undefined || header.length < 55) return undefined;
  const h = header.trim().toLowerCase();
  if (h[2] !== '-' || h[35] !== '-' || h[52] !== '-') return undefined;
  const version = h.slice(0, 2);
  if (version === 'ff' || !HEX.test(version)) return undefined;
  if (version === '00' && h.length !== 55) return undefined;
  if (version !== '00' && h.length > 55 && h[55] !== '-') return undefined;
  const traceId = h.slice(3, 35);
  const parentSpanId = h.slice(36, 52);
  const flags = h.slice(53, 55);
  if (!HEX.test(traceId) || !HEX.test(parentSpanId) || !HEX.test(flags)) return undefined;
  if (traceId === ZERO_TRACE || parentSpanId === ZERO_SPAN) return undefined;
  return {
    traceId,
    spanId: newSpanId(),
    parentSpanId,
    sampled: (Number.parseInt(flags, 16) & 1) === 1,
  };
}

/** Continues the caller's trace when it sent a valid `traceparent`, else starts a new one. */
export function startTrace(traceparent: string | undefined): TraceContext {
  return (
    parseTraceparent(traceparent) ?? {
      traceId: newTraceId(),
      spanId: newSpanId(),
      parentSpanId: undefined,
      sampled: true,
    }
  );
}

/** The `traceparent` header value that names `ctx` as the parent. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}
