import { z } from 'zod';
import { baseConfigSchema, loadConfig, parsedSetting } from '@smsgw/common';
import { parseAllowPrivateTargets } from '@smsgw/sms';

const bool = z
  .string()
  .default('')
  .transform((s, ctx) => {
    if (s === '') return undefined;
    if (/^(1|true|yes|on)$/i.test(s)) return true;
    if (/^(0|false|no|off)$/i.test(s)) return false;
    ctx.addIssue({ code: 'custom', message: 'use true or false' });
    return z.NEVER;
  });

export const portalConfigSchema = baseConfigSchema.extend({
  PORTAL_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  PORTAL_HOST: z.string().default('::'),
  PORTAL_DB_POOL: z.coerce.number().int().min(1).max(100).default(8),
  API_PASSWORD_PEPPER: z.string().min(8).default('dev-pepper-change-me'),
  /**
   * `Secure` on the session and CSRF cookies. Default: on unless NODE_ENV is development/test,
   * where the portal is opened over plain http://127.0.0.1.
   */
  PORTAL_SECURE_COOKIES: bool,
  /** A session ends after this long without a request. */
  PORTAL_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(7 * 24 * 60).default(8 * 60),
  /** A session ends this long after its login, however active it is. */
  PORTAL_SESSION_MAX_HOURS: z.coerce.number().int().min(1).max(30 * 24).default(12),
  /** Failed logins for one login within the window before it is locked for the window. */
  PORTAL_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  /** Failed logins from one address within the window before it is refused. */
  PORTAL_IP_MAX_FAILURES: z.coerce.number().int().min(1).max(10_000).default(30),
  PORTAL_LOCKOUT_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  /** The connector's HTTP endpoint(s) with /connections and /metrics, comma-separated. */
  CONNECTOR_URLS: z
    .string()
    .default('http://127.0.0.1:8090')
    .transform((s) => s.split(',').map((x) => x.trim().replace(/\/+$/, '')).filter(Boolean)),
  /** The SMPP servers' HTTP addresses (comma-separated), whose `/binds` the portal shows. */
  SMPP_SERVER_URLS: z
    .string()
    .default('http://127.0.0.1:8093')
    .transform((s) => s.split(',').map((x) => x.trim().replace(/\/+$/, '')).filter(Boolean)),
  /** Where the built web UI is (default: dist/public beside the compiled server). */
  PORTAL_STATIC_DIR: z.string().optional(),
  /**
   * Partners' status and MO URLs may point at loopback and private addresses (development,
   * tests). Default off: the operator form refuses them, as the CLI and the callback worker do.
   */
  CALLBACK_ALLOW_PRIVATE_TARGETS: parsedSetting(parseAllowPrivateTargets),
});
export type PortalConfig = z.infer<typeof portalConfigSchema> & { secureCookies: boolean };
export const PORTAL_CONFIG = Symbol('PORTAL_CONFIG');

export function loadPortalConfig(env: NodeJS.ProcessEnv = process.env): PortalConfig {
  const c = loadConfig(portalConfigSchema, env);
  return { ...c, secureCookies: c.PORTAL_SECURE_COOKIES ?? !['development', 'test'].includes(c.NODE_ENV) };
}
