import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@smsgw/common';

const ms = (def: number) => z.coerce.number().int().min(1).default(def);

export const SCHEDULER_TASKS = ['release', 'sweep', 'rollup', 'analyze', 'partitions'] as const;
export type SchedulerTask = (typeof SCHEDULER_TASKS)[number];

export const schedulerConfigSchema = baseConfigSchema.extend({
  /** `/health` and `/metrics`. */
  SCHEDULER_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8092),
  SCHEDULER_HTTP_HOST: z.string().default('::'),
  SCHEDULER_DB_POOL: z.coerce.number().int().min(2).max(100).default(10),
  /**
   * Which tasks this instance runs, comma-separated (default all; several instances may run the
   * same ones). `none`: only /health and /metrics (tests drive the tasks themselves).
   */
  SCHEDULER_TASKS: z
    .string()
    .default(SCHEDULER_TASKS.join(','))
    .transform((s) => (s.trim() === 'none' ? [] : s.split(',').map((t) => t.trim()).filter(Boolean)))
    .pipe(z.array(z.enum(SCHEDULER_TASKS))),

  /** Release: how often due rows are looked for while there are none. */
  SCHEDULER_RELEASE_INTERVAL_MS: ms(1000),
  /** Rows claimed (and jobs added) per transaction. */
  SCHEDULER_RELEASE_BATCH: z.coerce.number().int().min(1).max(20_000).default(2000),
  /**
   * Claim transactions one instance runs at once while a backlog lasts: while some wait for
   * Redis to take their jobs, others claim in PostgreSQL. Keep SCHEDULER_DB_POOL above it.
   */
  SCHEDULER_RELEASE_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(6),
  /**
   * A windowed message released within this long after its stored window opening goes out as
   * stored; later (the scheduler was down) only if its window is open now, else it waits for the
   * next opening.
   */
  SCHEDULER_WINDOW_SLACK_MS: ms(10 * 60_000),

  /** Outbox sweep: how often, and how many held rows it looks at each time. */
  SCHEDULER_SWEEP_INTERVAL_MS: ms(5000),
  SCHEDULER_SWEEP_BATCH: z.coerce.number().int().min(1).max(20_000).default(2000),
  /** A row due this long (stored, released, or claimed with segments missing) without a job gets one. */
  SCHEDULER_OUTBOX_GRACE_MS: ms(60_000),
  /** An owed delivery report is first checked this long after its status was reached. */
  SCHEDULER_REPORT_GRACE_MS: ms(60_000),
  /** Longest time between two checks of a report still waiting in its queue. */
  SCHEDULER_REPORT_RECHECK_MAX_MS: ms(3_600_000),

  /** Statistics: how often the change log is folded while it is empty, and rows per fold. */
  SCHEDULER_ROLLUP_INTERVAL_MS: ms(10_000),
  SCHEDULER_ROLLUP_BATCH: z.coerce.number().int().min(1).max(200_000).default(20_000),

  /** With autovacuum off: how often the hot tables' statistics are checked (and refreshed if stale). */
  SCHEDULER_ANALYZE_INTERVAL_MS: ms(15_000),

  /** Partitioned tables: how often partitions are created ahead and old ones dropped, and how many days ahead. */
  SCHEDULER_PARTITIONS_INTERVAL_MS: ms(3_600_000),
  SCHEDULER_PARTITIONS_AHEAD_DAYS: z.coerce.number().int().min(2).max(366).default(14),
  /** Days of message ids per partition of message and message_part (new partitions; existing ones keep their bounds). */
  SCHEDULER_MESSAGE_PARTITION_DAYS: z.coerce.number().int().min(1).max(366).default(7),
  /** Callback attempts (the timeline of each report and MO push) are kept this many days, then dropped by the day; 0 keeps them all. */
  RETENTION_CALLBACK_ATTEMPTS_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  /** Messages (with their segments and partnerMsgId keys) are kept this many days, then dropped a partition at a time; 0 keeps them all. */
  RETENTION_MESSAGES_DAYS: z.coerce.number().int().min(0).max(36_500).default(180),
});
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;
export const SCHEDULER_CONFIG = Symbol('SCHEDULER_CONFIG');

export function loadSchedulerConfig(env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  return loadConfig(schedulerConfigSchema, env);
}
