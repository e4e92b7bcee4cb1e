import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config } from './config';

/**
 * OpenTelemetry tracing (README: operations → tracing). Only when OTEL_EXPORTER_OTLP_ENDPOINT is
 * set is an SDK started and a span exported; otherwise nothing is registered and every span below
 * is the API's no-op one, so an untraced process pays nothing.
 */
export type TracedService = 'aimake-api' | 'aimake-worker';

export interface Tracing {
  resource: Resource;
  /** Also feeds the workflow spans the worker's sink hands over (makeWorkflowExporter). */
  processor: SpanProcessor;
  /** Sends what is still buffered; the process calls it on shutdown. */
  shutdown(): Promise<void>;
}

export const tracingEnabled = (config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT'>) => config.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;

/** Starts the process's tracer provider (once per process), or returns null when tracing is off. */
export function startTracing(config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>, service: TracedService): Tracing | null {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined) return null;
  const resource = new Resource({ 'service.name': config.OTEL_SERVICE_NAME ?? service });
  // OTLP over HTTP with JSON bodies, to <endpoint>/v1/traces as the OTLP spec's base-URL rule says.
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const processor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // Global: the Temporal interceptors, our request middleware and provider spans all find it there.
  provider.register();
  return {
    resource,
    processor,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

export const tracer = () => trace.getTracer('aimake');

/**
 * Runs `work` in a span named `name`, ended with its outcome. Attributes are what an operator
 * needs to find a slow or failing call: never a text's content nor a secret.
 */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
