import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { newSpanId, newTraceId } from '../ids.ts';
import type { ParentRef } from './trace-context.ts';
import {
  type Attributes,
  IdsOnlySpan,
  type SpanKindValue,
  type Tracer,
  type TraceSpan,
  type TracingStatus,
} from './tracer.ts';

export interface OtelOptions {
  /** The OTLP/HTTP base URL; spans go to <endpoint>/v1/traces (unless it already ends so). */
  readonly endpoint: string;
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly environment: string;
  /** Share of new traces sampled; a caller's decision is followed. */
  readonly sampleRatio: number;
  /** Most new traces sampled per second; 0 for no cap. */
  readonly maxTracesPerSec: number;
}

/** Counts what the exporter delivered and remembers its last failure, for /health and Andon. */
class CountingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  exported = 0;
  failed = 0;
  lastError: string | undefined;

  constructor(inner: SpanExporter) {
    this.#inner = inner;
  }

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.#inner.export(spans, (result) => {
      if (result.code === 0) {
        this.exported += spans.length;
        this.lastError = undefined;
      } else {
        this.failed += spans.length;
        this.lastError = result.error?.message ?? 'export failed';
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * OpenTelemetry's SDK, exporting over OTLP/HTTP in batches. Loaded only when an endpoint is set.
 *
 * New traces are sampled by the ratio, up to `maxTracesPerSec` (rate-limited head sampling, as
 * Jaeger's rate-limiting sampler and X-Ray's reservoir do): at a demo's pace every signal is traced,
 * at tens of thousands a second the cost stays bounded. A caller's decision is always followed.
 *
 * Sampling is decided before the SDK is asked for a span: a child of an unsampled span, and a new
 * trace left out, get an ids-only span straight away. The SDK's parent-based sampling
 * would decide the same, but only after building contexts, ids and a span object for each: at six
 * spans a signal that alone cost a tenth of the CPU. The SDK therefore samples every root it is
 * handed, and follows the parent otherwise.
 */
export class OtelTracer implements Tracer {
  readonly exporting = true;
  readonly #ratio: number;
  readonly #maxPerSec: number;
  #second = 0;
  #sampledThisSecond = 0;
  readonly #provider: BasicTracerProvider;
  readonly #tracer: ReturnType<BasicTracerProvider['getTracer']>;
  readonly #exporter: CountingExporter;
  readonly #url: string;

  constructor(options: OtelOptions) {
    this.#ratio = options.sampleRatio;
    this.#maxPerSec = options.maxTracesPerSec;
    this.#url = tracesUrl(options.endpoint);
    this.#exporter = new CountingExporter(new OTLPTraceExporter({ url: this.#url }));
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        [ATTR_SERVICE_VERSION]: options.serviceVersion,
        'deployment.environment.name': options.environment,
      }),
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      idGenerator: { generateTraceId: newTraceId, generateSpanId: newSpanId },
      spanProcessors: [
        new BatchSpanProcessor(this.#exporter, {
          maxQueueSize: 16_384,
          maxExportBatchSize: 1_024,
          scheduledDelayMillis: 1_000,
        }),
      ],
    });
    this.#tracer = this.#provider.getTracer('tps-reference-system', options.serviceVersion);
  }

  start(
    name: string,
    kind: SpanKindValue,
    parent: ParentRef | undefined,
    attributes?: Attributes,
  ): TraceSpan {
    if (parent === undefined) {
      if (!this.#sampleNewTrace()) return new IdsOnlySpan(newTraceId(), 0);
      return this.#tracer.startSpan(name, { kind, attributes }, ROOT_CONTEXT);
    }
    if (!parent.sampled) return new IdsOnlySpan(parent.traceId, 0);
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: parent.traceId,
      spanId: parent.spanId,
      traceFlags: 1,
      isRemote: true,
    });
    return this.#tracer.startSpan(name, { kind, attributes }, ctx);
  }

  #sampleNewTrace(): boolean {
    if (this.#ratio < 1 && Math.random() >= this.#ratio) return false;
    if (this.#maxPerSec === 0) return true;
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#sampledThisSecond = 0;
    }
    if (this.#sampledThisSecond >= this.#maxPerSec) return false;
    this.#sampledThisSecond++;
    return true;
  }

  status(): TracingStatus {
    const e = this.#exporter;
    const counts = { spansExported: e.exported, spansFailed: e.failed };
    if (e.lastError !== undefined) {
      return {
        healthy: false,
        detail: `exporting to ${this.#url} fails: ${e.lastError} (${e.failed} spans lost)`,
        ...counts,
      };
    }
    return { healthy: true, detail: `exporting to ${this.#url}: ${e.exported} spans`, ...counts };
  }

  /** Exports what is queued now (tests read the collector right after). */
  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }
}
