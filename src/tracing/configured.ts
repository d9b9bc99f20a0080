import type { TpsConfig } from '../config.ts';
import { IdsOnlyTracer, type Tracer } from './tracer.ts';

/**
 * The tracer the configuration asks for: OpenTelemetry with OTLP export when a collector is named
 * (OTEL_EXPORTER_OTLP_ENDPOINT, or JAEGER_ENDPOINT), else ids only. The SDK is loaded only then:
 * without an endpoint it costs nothing, not even memory.
 */
export async function configuredTracer(c: TpsConfig, serviceVersion: string): Promise<Tracer> {
  const endpoint = c.otlpEndpoint || c.jaegerEndpoint;
  if (endpoint === '') return new IdsOnlyTracer();
  const { OtelTracer } = await import('./otel.ts');
  return new OtelTracer({
    endpoint,
    serviceName: c.appName,
    serviceVersion,
    environment: c.appEnvironment,
    sampleRatio: c.traceSampleRatio,
    maxTracesPerSec: c.traceMaxPerSec,
  });
}
