import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Pool } from 'pg';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { PG_POOL } from '../infra/tokens';
import { underAdvisoryLock } from '../tasks/advisory-lock';
import { PeriodicTask } from '../tasks/periodic-task';

/** The tables the hot paths write and read by key; their planner statistics must follow their growth. */
export const HOT_TABLES = ['message', 'message_part', 'callback', 'callback_attempt', 'mo_message', 'unmatched_receipt', 'dlr_watch', 'message_stat_delta', 'message_stat'] as const;

// Autovacuum's own analyze threshold (autovacuum_analyze_threshold 50, scale factor 0.1). A
// partitioned table (callback_attempt by day, message and message_part by id) counts its changes
// in its partitions: each is analysed on its own, as autovacuum would, so a run samples the
// partitions written since the last (this week's), not the whole table. The parent is not
// analysed (ANALYZE of it samples every partition again): the planner's row estimates of a
// partitioned table come from its partitions'.
const STALE_SQL = `
SELECT s.relname FROM pg_stat_user_tables s
LEFT JOIN pg_inherits i ON i.inhrelid = s.relid
LEFT JOIN pg_class p ON p.oid = i.inhparent
WHERE s.schemaname = current_schema() AND coalesce(p.relname, s.relname) = ANY($1::text[])
  AND s.n_mod_since_analyze > 50 + 0.1 * greatest(s.n_live_tup, 0)
ORDER BY s.relname`;

/**
 * Keeps the planner's statistics of the hot tables current where autovacuum does not: with
 * autovacuum off nothing ever analyses a table, and a table analysed when small (or never) gets
 * plans made for a few rows (a scan of the whole table joined by hash, where an index lookup per
 * key is right), whose cost then grows with the table. Every SCHEDULER_ANALYZE_INTERVAL_MS, if the
 * server's autovacuum is off, each hot table changed by more than autovacuum's own analyze
 * threshold since its last ANALYZE is analysed. With autovacuum on it does nothing. One instance
 * at a time (an advisory lock); ANALYZE reads a sample, so it costs the same on 10 million rows as
 * on 100,000.
 */
@Injectable()
export class TableAnalyze implements OnModuleDestroy {
  private readonly log = new Logger(TableAnalyze.name);
  private readonly task: PeriodicTask;
  private told = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
  ) {
    this.task = new PeriodicTask('analyze', config.SCHEDULER_ANALYZE_INTERVAL_MS, async () => {
      await this.analyzeStale();
      return false;
    });
  }

  /** Starts the task if SCHEDULER_TASKS names it (SchedulerLifecycle calls it once PostgreSQL and Redis answer). */
  start(): void {
    if (this.config.SCHEDULER_TASKS.includes('analyze')) this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /** The hot tables analysed now; none while autovacuum is on or another instance is at it. */
  async analyzeStale(): Promise<string[]> {
    const { rows: [setting] } = await this.pool.query<{ on: boolean }>(`SELECT current_setting('autovacuum') = 'on' AS on`);
    if (setting?.on) return [];
    if (!this.told) {
      this.told = true;
      this.log.log('autovacuum is off: the scheduler analyses the hot tables as they grow');
    }
    const analysed = await underAdvisoryLock(this.pool, 'smsgw.scheduler.analyze', async (client) => {
      const { rows } = await client.query<{ relname: string }>(STALE_SQL, [HOT_TABLES]);
      // Names of the fixed list above and of their partitions (the catalog's), never from input.
      for (const r of rows) await client.query(`ANALYZE ${client.escapeIdentifier(r.relname)}`);
      return rows.map((r) => r.relname);
    });
    return analysed ?? [];
  }
}
