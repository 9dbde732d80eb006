import { LoggerModule } from 'nestjs-pino';
import { Injectable, Module, RequestMethod, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { traceLogFields, tracing } from './message-trace';
import { stopTracing } from './tracing';

/** At the app's shutdown, the spans still buffered are exported (nothing when tracing is off). */
@Injectable()
class TracingFlush implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return stopTracing();
  }
}

@Module({})
class LoggingModule {}

/** Never written to logs, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'pass',
  'password',
  '*.pass',
  '*.password',
  'req.query.pass',
  'req.headers.authorization',
  'req.headers.cookie',
  'apiPassword',
  'signingSecret',
];

/**
 * `hotPaths` skip the per-request logging middleware (pino-http and its async context): on
 * paths that serve thousands of requests a second it costs more than it gives. `'all'` runs it
 * on no route at all: a service whose routes are all hot or trivial (the ingress) then also saves
 * matching every request's path against the exclusions. With it, the spans still buffered are
 * exported when the app shuts down.
 */
export function loggerModule(app: string, level: string, hotPaths: string[] | 'all' = []): DynamicModule {
  const logger = LoggerModule.forRoot({
    ...(hotPaths === 'all' ? { forRoutes: [] } : hotPaths.length > 0 ? { exclude: hotPaths.flatMap((path) => (path === 'health' ? ['health', 'health/live', 'health/ready'] : [path])).map((path) => ({ method: RequestMethod.ALL, path })) } : {}),
    pinoHttp: {
      name: app,
      level,
      // Request lines would dominate the hot path; services log what deserves attention instead.
      autoLogging: false,
      // With tracing on, each line written inside a span carries its trace id (and message id).
      ...(tracing.on ? { mixin: traceLogFields } : {}),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, url: redactUrl(req.url ?? '') }),
      },
    },
  });
  // The logger, and the flush of the spans at shutdown (the apps' one telemetry module).
  return { module: LoggingModule, imports: [logger], providers: [TracingFlush], exports: [logger] };
}

/** Removes the password from a logged URL, whatever the partner named the parameter. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:pass|password)=)[^&]*/gi, '$1[redacted]');
}
