import { z } from 'zod';
import { baseConfigSchema, csv, loadConfig } from '@smsgw/common';
import type { IntakeConfig } from '@smsgw/intake';

export const ingressConfigSchema = baseConfigSchema.extend({
  INGRESS_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** `::` accepts IPv6 and IPv4 (as IPv4-mapped addresses) on one socket. */
  INGRESS_HOST: z.string().default('::'),
  /**
   * `true`: listen with SO_REUSEPORT (Linux), so several ingress processes on one machine share
   * INGRESS_PORT and the kernel spreads new connections over them. Off by default: a second
   * process on a taken port is then an error, not a silent sharer.
   */
  INGRESS_REUSE_PORT: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges). Empty: use the TCP peer. */
  TRUSTED_PROXIES: csv,
  API_PASSWORD_PEPPER: z.string().min(8).default('dev-pepper-change-me'),
  /** Connections for message inserts and status reads. */
  INGRESS_DB_POOL: z.coerce.number().int().min(1).max(100).default(6),
  /** Most messages written in one INSERT; concurrent requests share a batch. */
  INGRESS_BATCH_MAX: z.coerce.number().int().min(1).max(5000).default(500),
  /**
   * How long committed messages wait for those of the next commits before they go to
   * `mt.dispatch` together (0: each commit's messages at once).
   */
  INGRESS_DISPATCH_GATHER_MS: z.coerce.number().int().min(0).max(1000).default(5),
  /** Full reload of partner settings, in addition to change notifications. */
  PARTNER_RELOAD_SECONDS: z.coerce.number().int().min(1).default(60),
});
export type IngressConfig = z.infer<typeof ingressConfigSchema>;
export const INGRESS_CONFIG = Symbol('INGRESS_CONFIG');

export function loadIngressConfig(env: NodeJS.ProcessEnv = process.env): IngressConfig {
  return loadConfig(ingressConfigSchema, env);
}

/** The intake's settings (connections, group commit, dispatch jobs, partner reloads), from the ingress's. */
export function intakeConfig(c: IngressConfig): IntakeConfig {
  return {
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    redisPrefix: c.REDIS_PREFIX,
    dbPool: c.INGRESS_DB_POOL,
    batchMax: c.INGRESS_BATCH_MAX,
    dispatchGatherMs: c.INGRESS_DISPATCH_GATHER_MS,
    partnerReloadSeconds: c.PARTNER_RELOAD_SECONDS,
    applicationName: 'ingress-api',
    nodeEnv: c.NODE_ENV,
    apiPasswordPepper: c.API_PASSWORD_PEPPER,
  };
}
