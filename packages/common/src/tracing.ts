// Tracing setup, loaded by each app's `tracing.ts`, the first module its main.ts imports: the
// instrumentations patch pg, ioredis, undici and http when those are required, so nothing of the
// app may be loaded before. This file therefore imports only OpenTelemetry and ./message-trace,
// never the package's index.
import { tracing } from './message-trace';

export type TracingEnv = Record<string, string | undefined>;

/**
 * Whether the standard OTEL_* variables ask for traces: an exporter named in OTEL_TRACES_EXPORTER
 * (not `none`), or an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
 * OTEL_SDK_DISABLED=true turns it off whatever else is set.
 */
export function tracingWanted(env: TracingEnv): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (exporters.length > 0) return exporters.some((e) => e !== 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

export interface TracingOptions {
  /**
   * The app's HTTP clients are outsiders (partners on the ingress, people on the portal): a
   * `traceparent` they send is not taken (nor sent on), so that whether a message is traced, and in
   * which trace, is the platform's sampler's decision alone; a partner cannot have every message
   * traced by sending a sampled flag.
   */
  untrustedClients?: boolean;
}

/** Neither reads nor writes any header: the propagator of apps whose HTTP clients are outsiders. */
const NO_PROPAGATION = {
  inject: (): void => undefined,
  extract: <C>(ctx: C): C => ctx,
  fields: (): string[] => [],
};

/** The running SDK's shutdown (flushes the spans not exported yet), once started. */
let shutdown: (() => Promise<void>) | null = null;

/**
 * Starts OpenTelemetry tracing for the app `serviceName` (OTEL_SERVICE_NAME overrides it) when the
 * environment asks for it (`tracingWanted`); otherwise loads nothing and returns false. Exporter,
 * protocol, endpoint, headers, sampler (OTEL_TRACES_SAMPLER, default parent-based always-on) and
 * batching (OTEL_BSP_*) come from the OTEL_* variables, read by the SDK. Only traces: no
 * OpenTelemetry metrics or logs (metrics are Prometheus' /metrics; logs are pino's, with the trace id).
 */
export function startTracing(serviceName: string, env: TracingEnv = process.env, options: TracingOptions = {}): boolean {
  if (tracing.on || !tracingWanted(env)) return tracing.on;
  // Required here, not imported at the top: with tracing off, none of the SDK is loaded.
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { IORedisInstrumentation } = require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || serviceName,
    // Traces only: an empty list keeps the SDK from setting up its OTLP metrics and logs exporters.
    metricReaders: [],
    logRecordProcessors: [],
    ...(options.untrustedClients ? { textMapPropagator: NO_PROPAGATION } : {}),
    instrumentations: [
      // Probes and scrapes would be most of the spans, and say nothing about a message. Outgoing
      // requests, database statements and Redis commands only inside a trace: BullMQ's polling, the
      // periodic tasks and the callbacks of untraced messages would each start one.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(health|metrics)(\/|\?|$)/.test(req.url ?? ''), requireParentforOutgoingSpans: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new PgInstrumentation({ requireParentSpan: true }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  sdk.start();
  tracing.on = true;
  shutdown = () => sdk.shutdown();
  return true;
}

/** Exports the spans still buffered and stops the SDK (an app's shutdown); nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  const stop = shutdown;
  shutdown = null;
  tracing.on = false;
  if (stop) await stop().catch(() => undefined);
}
