import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { CLOCK, type Clock } from '../clock';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { collectedGauge } from '../metrics';
import { PG_POOL } from '../infra/tokens';
import { underAdvisoryLock } from '../tasks/advisory-lock';
import { PeriodicTask } from '../tasks/periodic-task';

const DAY_MS = 86_400_000;

/** A table partitioned by day (UTC) of a timestamp; `retentionDays` 0 keeps every partition. */
export interface DailyPartitioned {
  table: string;
  retentionDays: number;
}

/** The tables partitioned by day, and how long each keeps its rows (migration callback_attempt_partitions). */
export function dailyPartitioned(c: SchedulerConfig): DailyPartitioned[] {
  return [{ table: 'callback_attempt', retentionDays: c.RETENTION_CALLBACK_ATTEMPTS_DAYS }];
}

// Each partition's bounds, read back from its definition: FROM ('…') TO ('…'), or MINVALUE (null).
const PARTITIONS_SQL = `
SELECT c.relname AS name,
  (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS lower,
  (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS upper
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = $1::regclass
ORDER BY upper`;

/** Where each table's last partition ends (ms), as this instance last read it. */
const reaches = new Map<string, number>();
// Computed at each scrape from the last reading: a task that stops running (or keeps failing)
// shows as a value running down, not as a value frozen at its last run.
collectedGauge(
  'smsgw_scheduler_partitions_ahead_seconds',
  'How far ahead of now the partitions of a table partitioned by day reach (a row beyond cannot be stored), as of the last run of the partitions task',
  ['table'],
  async (g) => {
    g.reset();
    for (const [table, reach] of reaches) g.set({ table }, Math.round((reach - Date.now()) / 1000));
  },
);

interface PartitionRow {
  name: string;
  lower: Date | null;
  upper: Date | null;
}

export interface PartitionChanges {
  created: string[];
  dropped: string[];
}

/**
 * Keeps the tables partitioned by day ready and within their retention: every
 * SCHEDULER_PARTITIONS_INTERVAL_MS, the partitions of the next SCHEDULER_PARTITIONS_AHEAD_DAYS days
 * are created, and a partition whose every row is older than its table's retention is dropped, a
 * whole table at once (no DELETE, no bloat). The statistics (message_stat) are not partitioned and
 * stay. One instance at a time (an advisory lock); DDL waits at most 5 s for its lock, else it is
 * left to the next run.
 */
@Injectable()
export class Partitions implements OnModuleDestroy {
  private readonly log = new Logger(Partitions.name);
  private readonly task: PeriodicTask;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.task = new PeriodicTask('partitions', config.SCHEDULER_PARTITIONS_INTERVAL_MS, async () => {
      await this.maintain();
      return false;
    });
  }

  /** Starts the task if SCHEDULER_TASKS names it (SchedulerLifecycle calls it once PostgreSQL and Redis answer). */
  start(): void {
    if (this.config.SCHEDULER_TASKS.includes('partitions')) this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /** One run: what it created and dropped (nothing while another instance is at it). */
  async maintain(now: Date = this.clock.now()): Promise<PartitionChanges> {
    const changes: PartitionChanges = { created: [], dropped: [] };
    const ran = await underAdvisoryLock(this.pool, 'smsgw.scheduler.partitions', async (client) => {
      await client.query(`SET lock_timeout = '5s'`);
      try {
        for (const t of dailyPartitioned(this.config)) await this.maintainTable(client, t, now, changes);
      } finally {
        await client.query('RESET lock_timeout');
      }
      return true;
    });
    // Another instance is at it; the reach is still read, so that every instance's gauge is current.
    if (ran === null) for (const t of dailyPartitioned(this.config)) this.noteReach(t.table, (await this.pool.query<PartitionRow>(PARTITIONS_SQL, [t.table])).rows);
    return changes;
  }

  /** The end of the table's last partition (or `created`, the end of those just made), for the gauge. */
  private noteReach(table: string, rows: PartitionRow[], created = 0): number {
    const reach = Math.max(created, ...rows.map((r) => r.upper?.getTime() ?? 0));
    reaches.set(table, reach);
    return reach;
  }

  private async maintainTable(client: PoolClient, t: DailyPartitioned, now: Date, changes: PartitionChanges): Promise<void> {
    const table = client.escapeIdentifier(t.table);
    const { rows } = await client.query<PartitionRow>(PARTITIONS_SQL, [t.table]);
    const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
    const until = today + (this.config.SCHEDULER_PARTITIONS_AHEAD_DAYS + 1) * DAY_MS;
    let from = Math.max(today, ...rows.map((r) => r.upper?.getTime() ?? 0));
    for (; from < until; from += DAY_MS) {
      const name = `${t.table}_p${new Date(from).toISOString().slice(0, 10).replace(/-/g, '')}`;
      try {
        await client.query(
          `CREATE TABLE ${client.escapeIdentifier(name)} PARTITION OF ${table} FOR VALUES FROM ('${new Date(from).toISOString()}') TO ('${new Date(from + DAY_MS).toISOString()}')`,
        );
      } catch (e) {
        this.log.warn(`could not create partition ${name} of ${t.table} (retried at the next run): ${(e as Error).message}`);
        break;
      }
      changes.created.push(name);
    }
    const reach = this.noteReach(t.table, rows, from);
    if (changes.created.length > 0) this.log.log(`created partitions of ${t.table} up to ${new Date(reach).toISOString()}`);

    if (t.retentionDays <= 0) return;
    // Every row of a partition whose upper bound is at or before the cut is older than the retention.
    const cut = today - t.retentionDays * DAY_MS;
    for (const r of rows) {
      if (!r.upper || r.upper.getTime() > cut) continue;
      try {
        await client.query(`DROP TABLE ${client.escapeIdentifier(r.name)}`);
      } catch (e) {
        this.log.warn(`could not drop partition ${r.name} of ${t.table} (retried at the next run): ${(e as Error).message}`);
        continue;
      }
      changes.dropped.push(r.name);
      this.log.log(`dropped partition ${r.name} of ${t.table}: its rows are older than ${t.retentionDays} days`);
    }
  }
}
