import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { ParentRef } from './trace-context.ts';
import type { Attributes, SpanKindValue, Tracer, TraceSpan, TracingStatus } from './tracer.ts';

export interface OtelOptions {
  /** The OTLP/HTTP base URL; spans go to <endpoint>/v1/traces (unless it already ends so). */
  readonly endpoint: string;
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly environment: string;
  /** Share of new traces sampled; a caller's decision is followed. */
  readonly sampleRatio: number;
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

/** OpenTelemetry's SDK, exporting over OTLP/HTTP in batches. Loaded only when an endpoint is set. */
export class OtelTracer implements Tracer {
  readonly exporting = true;
  readonly #provider: BasicTracerProvider;
  readonly #tracer: ReturnType<BasicTracerProvider['getTracer']>;
  readonly #exporter: CountingExporter;
  readonly #url: string;

  constructor(options: OtelOptions) {
    this.#url = tracesUrl(options.endpoint);
    this.#exporter = new CountingExporter(new OTLPTraceExporter({ url: this.#url }));
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        [ATTR_SERVICE_VERSION]: options.serviceVersion,
        'deployment.environment.name': options.environment,
      }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
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
    const ctx =
      parent === undefined
        ? context.active()
        : trace.setSpanContext(context.active(), {
            traceId: parent.traceId,
            spanId: parent.spanId,
            traceFlags: parent.sampled ? 1 : 0,
            isRemote: true,
          });
    return this.#tracer.startSpan(name, { kind, attributes }, ctx);
  }

  status(): TracingStatus {
    const e = this.#exporter;
    if (e.lastError !== undefined) {
      return {
        healthy: false,
        detail: `exporting to ${this.#url} fails: ${e.lastError} (${e.failed} spans lost)`,
      };
    }
    return { healthy: true, detail: `exporting to ${this.#url}: ${e.exported} spans` };
  }

  /** Exports what is queued now (tests read the collector right after). */
  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }
}
