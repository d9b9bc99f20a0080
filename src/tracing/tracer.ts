import { newSpanId, newTraceId } from '../ids.ts';
import type { ParentRef } from './trace-context.ts';

/** OpenTelemetry's span kinds (the same numbers), so real spans need no translation. */
export const SpanKind = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const;
export type SpanKindValue = (typeof SpanKind)[keyof typeof SpanKind];
/** OpenTelemetry's status code for an error. */
export const SPAN_ERROR = 2;

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue | undefined>;

/** The part of an OpenTelemetry span the system uses: OTel spans fit it as they are. */
export interface TraceSpan {
  spanContext(): { readonly traceId: string; readonly spanId: string; readonly traceFlags: number };
  setAttribute(key: string, value: AttributeValue): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

export interface TracingStatus {
  readonly healthy: boolean;
  readonly detail: string;
  /** Spans the exporter delivered since start. */
  readonly spansExported: number;
  /** Spans the exporter failed to deliver (lost) since start. */
  readonly spansFailed: number;
}

export interface Tracer {
  /** True when spans are recorded and exported (an OTLP endpoint is configured). */
  readonly exporting: boolean;
  /** Starts a span, continuing `parent` when given, else a new trace. */
  start(name: string, kind: SpanKindValue, parent: ParentRef | undefined, attributes?: Attributes): TraceSpan;
  status(): TracingStatus;
  /** Exports what is pending now. */
  flush(): Promise<void>;
  /** Exports what is pending and stops. */
  shutdown(): Promise<void>;
}

/** The parent reference a span gives its children. */
export function refOf(span: TraceSpan): ParentRef {
  const c = span.spanContext();
  return { traceId: c.traceId, spanId: c.spanId, sampled: (c.traceFlags & 1) === 1 };
}

/** A span that is not recorded: ids only. */
export class IdsOnlySpan implements TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;

  constructor(traceId: string, spanId: string, traceFlags: number) {
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceFlags = traceFlags;
  }

  spanContext(): this {
    return this;
  }

  setAttribute(): this {
    return this;
  }

  setStatus(): this {
    return this;
  }

  end(): void {}
}

/**
 * No exporter configured: every signal still gets W3C trace and span ids (returned to callers,
 * carried through the queue, written in logs), and nothing else is done or loaded.
 */
export class IdsOnlyTracer implements Tracer {
  readonly exporting = false;

  start(_name: string, _kind: SpanKindValue, parent: ParentRef | undefined): TraceSpan {
    return parent === undefined
      ? new IdsOnlySpan(newTraceId(), newSpanId(), 1)
      : new IdsOnlySpan(parent.traceId, newSpanId(), parent.sampled ? 1 : 0);
  }

  status(): TracingStatus {
    return {
      healthy: true,
      detail: 'W3C trace ids on every signal; no exporter configured',
      spansExported: 0,
      spansFailed: 0,
    };
  }

  async flush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
