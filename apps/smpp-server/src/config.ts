import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@smsgw/common';
import type { IntakeConfig } from '@smsgw/intake';

const port = z.coerce.number().int().min(0).max(65535);
const ms = (def: number) => z.coerce.number().int().min(1).default(def);

export const smppServerConfigSchema = baseConfigSchema.extend({
  /** Where partners bind (SMPP 3.4 over TCP). */
  SMPP_SERVER_PORT: port.default(2776),
  SMPP_SERVER_HOST: z.string().default('::'),
  /** `/health` and `/metrics`. */
  SMPP_SERVER_HTTP_PORT: port.default(8093),
  SMPP_SERVER_HTTP_HOST: z.string().default('::'),
  SMPP_SERVER_DB_POOL: z.coerce.number().int().min(2).max(100).default(10),
  /** The key of the password hashes, the ingress's API_PASSWORD_PEPPER (SMPP passwords are hashed with it too). */
  API_PASSWORD_PEPPER: z.string().min(8).default('dev-pepper-change-me'),
  /** Simultaneous binds of one partner across every instance, unless the partner's `smpp_max_binds` says otherwise. */
  SMPP_MAX_BINDS: z.coerce.number().int().min(1).max(1000).default(4),
  /**
   * Failed binds that lock a login (SMPP_BIND_MAX_FAILURES) or an address (SMPP_BIND_IP_MAX_FAILURES)
   * for SMPP_BIND_LOCKOUT_MINUTES from the first failure, across instances (Redis).
   */
  SMPP_BIND_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(10),
  SMPP_BIND_IP_MAX_FAILURES: z.coerce.number().int().min(1).max(100_000).default(50),
  SMPP_BIND_LOCKOUT_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  /** A connection that has not bound this long after it opened is closed. */
  SMPP_BIND_TIMEOUT_MS: ms(10_000),
  /** A bound session from which nothing (not even enquire_link) arrives for this long is unbound and closed. */
  SMPP_INACTIVITY_TIMEOUT_MS: ms(120_000),
  /** How long an unbind (the partner's or ours) waits for the submit_sm already taken to be answered, and ours for its unbind_resp. */
  SMPP_UNBIND_TIMEOUT_MS: ms(2_000),
  /** submit_sm a session may have unanswered; one more is answered ESME_RMSGQFUL. */
  SMPP_WINDOW: z.coerce.number().int().min(1).max(10_000).default(100),
  /** The intake's group commit and dispatch jobs, as the ingress's INGRESS_BATCH_MAX and INGRESS_DISPATCH_GATHER_MS. */
  SMPP_SERVER_BATCH_MAX: z.coerce.number().int().min(1).max(5000).default(500),
  SMPP_SERVER_DISPATCH_GATHER_MS: z.coerce.number().int().min(0).max(1000).default(5),
  /** Full reload of partner settings, in case a change notification was lost. */
  PARTNER_RELOAD_SECONDS: z.coerce.number().int().min(1).default(60),
  /**
   * The URL callback workers reach this instance's HTTP port at, to have it send reports and MO
   * over its binds (its relay). Default: http://127.0.0.1:<SMPP_SERVER_HTTP_PORT>, enough when
   * they run on the same host; in containers, the instance's own name or address.
   */
  SMPP_SERVER_RELAY_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/ }).optional()),
  /** The system_id this server gives in its bind responses. */
  SMPP_SYSTEM_ID: z.string().min(1).max(15).default('smsgw'),
});
export type SmppServerConfig = z.infer<typeof smppServerConfigSchema>;
export const SMPP_SERVER_CONFIG = Symbol('SMPP_SERVER_CONFIG');

export function loadSmppServerConfig(env: NodeJS.ProcessEnv = process.env): SmppServerConfig {
  return loadConfig(smppServerConfigSchema, env);
}

/** The intake's settings (connections, group commit, dispatch jobs, partner reloads), from the server's. */
export function intakeConfig(c: SmppServerConfig): IntakeConfig {
  return {
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    redisPrefix: c.REDIS_PREFIX,
    dbPool: c.SMPP_SERVER_DB_POOL,
    batchMax: c.SMPP_SERVER_BATCH_MAX,
    dispatchGatherMs: c.SMPP_SERVER_DISPATCH_GATHER_MS,
    partnerReloadSeconds: c.PARTNER_RELOAD_SECONDS,
    applicationName: 'smpp-server',
    nodeEnv: c.NODE_ENV,
    apiPasswordPepper: c.API_PASSWORD_PEPPER,
  };
}
