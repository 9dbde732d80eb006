import { LoggerModule } from 'nestjs-pino';
import type { DynamicModule } from '@nestjs/common';

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

export function loggerModule(app: string, level: string): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      name: app,
      level,
      // Request lines would dominate the hot path; services log what deserves attention instead.
      autoLogging: false,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, url: redactUrl(req.url ?? '') }),
      },
    },
  });
}

/** Removes the password from a logged URL, whatever the partner named the parameter. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:pass|password)=)[^&]*/gi, '$1[redacted]');
}
