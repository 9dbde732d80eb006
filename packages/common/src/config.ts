import { z } from 'zod';

/** Settings every service shares; each app extends this with its own. */
export const baseConfigSchema = z.object({
  NODE_ENV: z.string().default('development'),
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/smsgw'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key and BullMQ queue of this deployment (tests use their own). */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.{}-]+$/).default('smsgw'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * When set, /metrics is served only on this port (see MetricsModule) and the service's own port
   * answers it with 404. Unset: /metrics on the service's own port.
   */
  METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).max(65535).optional()),
  /** Address of the METRICS_PORT listener: loopback unless a scraper elsewhere must reach it. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

/**
 * Reads and validates the environment once at boot. Bad configuration is reported field by field
 * and the process exits: a service never runs on settings it did not understand.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export class ConfigError extends Error {}

/**
 * A variable read by a parser of its own that throws on a bad value: unset stays `undefined` for
 * the parser to default, and its error message becomes the configuration error of the variable.
 */
export function parsedSetting<T>(parse: (value: string | undefined) => T) {
  return z
    .string()
    .optional()
    .transform((s, ctx) => {
      try {
        return parse(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    });
}

/** Comma-separated list in an environment variable. */
export const csv = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
