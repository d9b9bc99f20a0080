import { setTimeout as sleep } from 'node:timers/promises';
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
  // An ids-only span is its own reference, so a span id nobody reads is never made.
  if (span instanceof IdsOnlySpan) return span;
  const c = span.spanContext();
  return { traceId: c.traceId, spanId: c.spanId, sampled: (c.traceFlags & 1) === 1 };
}

/**
 * A span that is not recorded: ids only. Its span id is drawn when first read: most of these
 * spans (children of an unsampled trace, every span without an exporter) are never asked for it.
 */
export class IdsOnlySpan implements TraceSpan, ParentRef {
  readonly traceId: string;
  readonly traceFlags: number;
  #spanId: string | undefined;

  constructor(traceId: string, traceFlags: number) {
    this.traceId = traceId;
    this.traceFlags = traceFlags;
  }

  get spanId(): string {
    if (this.#spanId === undefined) this.#spanId = newSpanId();
    return this.#spanId;
  }

  get sampled(): boolean {
    return (this.traceFlags & 1) === 1;
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
      ? new IdsOnlySpan(newTraceId(), 1)
      : new IdsOnlySpan(parent.traceId, parent.sampled ? 1 : 0);
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

/** Shuts `tracer` down, giving up after `ms`; true when it finished in time. */
export async function shutdownWithin(tracer: Tracer, ms: number): Promise<boolean> {
  return Promise.race([tracer.shutdown().then(() => true), sleep(ms, false, { ref: false })]);
}
