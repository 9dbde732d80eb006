import { z } from 'zod';
import { baseConfigSchema, loadConfig, parsedSetting } from '@smsgw/common';
import { parseAllowPrivateTargets } from '@smsgw/sms';

const ms = (def: number) => z.coerce.number().int().min(1).default(def);

export const callbackConfigSchema = baseConfigSchema.extend({
  /** `/health` and `/metrics`. */
  CALLBACK_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8091),
  CALLBACK_HTTP_HOST: z.string().default('::'),
  CALLBACK_DB_POOL: z.coerce.number().int().min(2).max(100).default(8),

  /** DLR jobs one instance works on at once (HTTP requests in flight plus jobs waiting for a partner slot). */
  CALLBACK_CONCURRENCY: z.coerce.number().int().min(1).max(5000).default(512),
  /**
   * MO jobs one instance holds at once: a partner's pump holds one, jobs waiting for their MO's
   * push hold the others (at most three quarters of them for one partner). The pushes themselves
   * are bounded by each partner's callback concurrency, not by this.
   */
  CALLBACK_MO_CONCURRENCY: z.coerce.number().int().min(1).max(5000).default(256),
  /** Requests in flight to one partner, across every instance (held in Redis). */
  /** Default of partner.callback_concurrency, which sets it per partner. */
  CALLBACK_PARTNER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  /**
   * Jobs of one partner that wait in this instance for a slot of that partner: as many as can
   * expect a slot within PARTNER_MAX_WAIT_MS given how fast the partner's slots turn over (its
   * recent request duration, or the rate at which its slots were freed here lately, whichever is
   * faster), and at most this (default: CALLBACK_CONCURRENCY). The rest go back to the queue as
   * delayed jobs, so a slow partner holds its concurrency plus a few waiters of an instance's
   * slots, while a fast one can use them all without churning jobs through Redis.
   */
  CALLBACK_PARTNER_WAITERS: z.coerce.number().int().min(0).max(5000).optional(),
  /**
   * The wait for a partner slot a job may expect (see CALLBACK_PARTNER_WAITERS). A waiter whose
   * time is up stays while its place in line still promises a slot, up to 4 times this. Not
   * shorter than a fast partner's line takes when the instance is short of CPU: each report put
   * back costs a job of its own.
   */
  CALLBACK_PARTNER_MAX_WAIT_MS: ms(2000),

  /**
   * Callbacks may go to loopback, private, link-local and metadata addresses. Off (the default):
   * every connection's addresses are checked and internal ones refused (SSRF); development and
   * tests, whose partners are local servers, turn it on. The CLI and the portal read the same
   * variable to refuse such URLs when they are saved.
   */
  CALLBACK_ALLOW_PRIVATE_TARGETS: parsedSetting(parseAllowPrivateTargets),

  /** Whole request: connect, headers and body (PROTOCOL §5: 10 s). */
  CALLBACK_TIMEOUT_MS: ms(10_000),
  /** MO reply bodies are read up to this many bytes; DLR bodies are discarded. */
  CALLBACK_MO_BODY_LIMIT: z.coerce.number().int().min(1024).default(64 * 1024),

  /** Retry backoff: first retry after this, doubling (with jitter) up to RETRY_MAX_MS. */
  CALLBACK_RETRY_FIRST_MS: ms(10_000),
  CALLBACK_RETRY_MAX_MS: ms(3_600_000),
  /** After this long since the callback was due it is parked as failed (PROTOCOL §5: 72 h). */
  CALLBACK_RETRY_HORIZON_MS: ms(72 * 3_600_000),
  /** MO: attempts before parking, and how long the partner's MO URL counts as down after a failure. */
  CALLBACK_MO_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(200),
  CALLBACK_MO_DOWN_MS: ms(20_000),
  /** Reply lines of one MO answer turned into messages; further lines are dropped (and logged). */
  CALLBACK_MO_MAX_REPLIES: z.coerce.number().int().min(0).default(10),

  /** Consecutive failed requests to a partner that open its circuit breaker. */
  CALLBACK_BREAKER_FAILURES: z.coerce.number().int().min(1).default(5),
  /** First open period; doubles with each failed probe, up to BREAKER_MAX_OPEN_MS. */
  CALLBACK_BREAKER_OPEN_MS: ms(10_000),
  CALLBACK_BREAKER_MAX_OPEN_MS: ms(300_000),

  /** BullMQ job lock; a crashed instance's jobs are taken over after it expires. */
  CALLBACK_LOCK_MS: ms(30_000),
  CALLBACK_STALLED_INTERVAL_MS: ms(30_000),
  /** Re-enqueues pending callbacks whose job was lost (Redis data loss); 0 = off. */
  CALLBACK_SWEEP_MS: z.coerce.number().int().min(0).default(60_000),
  /** Attempt records written in one statement. */
  CALLBACK_BATCH_MAX: z.coerce.number().int().min(1).max(5000).default(500),
  /** Partner settings are re-read after this long even without a change notification. */
  PARTNER_RELOAD_SECONDS: z.coerce.number().int().min(1).default(60),
  /**
   * Journal of delivery reports the partner acknowledged, until their record is in PostgreSQL:
   * kept in `<database>/callback-worker/<slot>` below it, a slot per instance. A worker killed
   * between a push and its record writes the record at its next start instead of pushing again.
   */
  CALLBACK_JOURNAL_DIR: z.string().min(1).default('var/journal'),
});
export type CallbackConfig = z.infer<typeof callbackConfigSchema>;
export const CALLBACK_CONFIG = Symbol('CALLBACK_CONFIG');

export function loadCallbackConfig(env: NodeJS.ProcessEnv = process.env): CallbackConfig {
  return loadConfig(callbackConfigSchema, env);
}
