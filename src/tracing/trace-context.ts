/** A span that another span continues: the caller's, or one of ours across the queue. */
export interface ParentRef {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/**
 * Reads a `traceparent` header (W3C Trace Context, version 00 and forward-compatible later
 * versions): the caller's trace and span. Undefined when absent or malformed, in which case a new
 * trace starts, as the specification asks.
 */
export function parseTraceparent(header: string | undefined): ParentRef | undefined {
  if (header === undefined || header.length < 55) return undefined;
  const h = header.trim().toLowerCase();
  if (h[2] !== '-' || h[35] !== '-' || h[52] !== '-') return undefined;
  const version = h.slice(0, 2);
  if (version === 'ff' || !HEX.test(version)) return undefined;
  if (version === '00' && h.length !== 55) return undefined;
  if (version !== '00' && h.length > 55 && h[55] !== '-') return undefined;
  const traceId = h.slice(3, 35);
  const spanId = h.slice(36, 52);
  const flags = h.slice(53, 55);
  if (!HEX.test(traceId) || !HEX.test(spanId) || !HEX.test(flags)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** The `traceparent` header value that names `ref` as the parent. */
export function formatTraceparent(ref: ParentRef): string {
  return `00-${ref.traceId}-${ref.spanId}-${ref.sampled ? '01' : '00'}`;
}
