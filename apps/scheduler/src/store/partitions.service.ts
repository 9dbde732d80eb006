import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { MessageStatus } from '@smsgw/contracts';
import { messageIdFloor, messageIdHour } from '@smsgw/db';
import { CLOCK, type Clock } from '../clock';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { collectedGauge } from '../metrics';
import { PG_POOL } from '../infra/tokens';
import { underAdvisoryLock } from '../tasks/advisory-lock';
import { PeriodicTask } from '../tasks/periodic-task';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

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
const boundsSql = (type: 'timestamptz' | 'bigint') => `
SELECT c.relname AS name,
  (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::${type} AS lower,
  (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::${type} AS upper
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = $1::regclass
ORDER BY upper`;
const PARTITIONS_SQL = boundsSql('timestamptz');
// Message ids as text (pg reads bigint so); ids carry their hour, so a bound is also a time.
const ID_PARTITIONS_SQL = boundsSql('bigint');

/** The message store: both tables partitioned by RANGE of the message id, in the same bounds (migration message_partitions). */
const MESSAGE_TABLES = ['message', 'message_part'] as const;

// Changes of messages stored before `$1` (by their created_at hour) not folded into message_stat yet.
const PENDING_DELTA_SQL = `SELECT EXISTS (SELECT 1 FROM message_stat_delta WHERE hour < $1) AS pending`;

/** Where each table's last partition ends (ms), as this instance last read it. */
const reaches = new Map<string, number>();
// Computed at each scrape from the last reading: a task that stops running (or keeps failing)
// shows as a value running down, not as a value frozen at its last run.
collectedGauge(
  'smsgw_scheduler_partitions_ahead_seconds',
  'How far ahead of now the partitions of a partitioned table reach (a row beyond cannot be stored), as of the last run of the partitions task',
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

/** A partition of the message store: its bounds as ids (null: MINVALUE), and the upper one as a time. */
interface IdPartition {
  name: string;
  lower: string | null;
  upper: string | null;
  end: number;
}

export interface PartitionChanges {
  created: string[];
  dropped: string[];
}

/**
 * Keeps the partitioned tables ready and within their retention: every
 * SCHEDULER_PARTITIONS_INTERVAL_MS, the partitions of the next SCHEDULER_PARTITIONS_AHEAD_DAYS days
 * are created, and a partition whose every row is older than its table's retention is dropped, a
 * whole table at once (no DELETE, no bloat). The tables partitioned by day go by a timestamp; the
 * message store (message, message_part) by the message id, which carries its hour. The statistics
 * (message_stat) are not partitioned and stay. One instance at a time (an advisory lock); DDL waits
 * at most 5 s for its lock, else it is left to the next run.
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
        await this.maintainMessages(client, now, changes);
      } finally {
        await client.query('RESET lock_timeout');
      }
      return true;
    });
    // Another instance is at it; the reach is still read, so that every instance's gauge is current.
    if (ran === null) {
      for (const t of dailyPartitioned(this.config)) this.noteReach(t.table, (await this.pool.query<PartitionRow>(PARTITIONS_SQL, [t.table])).rows);
      for (const table of MESSAGE_TABLES) this.noteIdReach(table, await readIdPartitions(this.pool, table));
    }
    return changes;
  }

  /** The end of the table's last partition (or `created`, the end of those just made), for the gauge. */
  private noteReach(table: string, rows: PartitionRow[], created = 0): number {
    const reach = Math.max(created, ...rows.map((r) => r.upper?.getTime() ?? 0));
    reaches.set(table, reach);
    return reach;
  }

  private noteIdReach(table: string, parts: IdPartition[], created = 0): number {
    const reach = Math.max(created, ...parts.map((p) => p.end));
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
      const name = partitionName(t.table, from);
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

  /**
   * message and message_part: partitions of SCHEDULER_MESSAGE_PARTITION_DAYS days of ids each, the
   * same for both tables, from where the last one ends until SCHEDULER_PARTITIONS_AHEAD_DAYS days
   * ahead are covered, and always the one after the partition of now (a row beyond cannot be
   * stored). Then the retention: see dropMessagePartition.
   */
  private async maintainMessages(client: PoolClient, now: Date, changes: PartitionChanges): Promise<void> {
    const messages = await readIdPartitions(client, 'message');
    const parts = await readIdPartitions(client, 'message_part');
    const existing = new Set([...messages, ...parts].map((p) => p.name));
    const span = this.config.SCHEDULER_MESSAGE_PARTITION_DAYS * DAY_MS;
    const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
    const until = Math.max(today + (this.config.SCHEDULER_PARTITIONS_AHEAD_DAYS + 1) * DAY_MS, now.getTime() + span + 1);
    // Where the shorter table ends (a run that made only one of a pair is completed by the next);
    // without any partition, the span of now, counted from 1970-01-01 as the migration does.
    let from = Math.min(...[messages, parts].map((ps) => Math.max(0, ...ps.map((p) => p.end))));
    if (from === 0) from = Math.floor(today / span) * span;
    const created = changes.created.length;
    for (; from < until; from += span) {
      const made = await this.createMessagePartitions(client, from, span, existing, changes);
      if (!made) break;
    }
    this.noteIdReach('message', messages, from);
    this.noteIdReach('message_part', parts, from);
    if (changes.created.length > created) this.log.log(`created partitions of message and message_part up to ${new Date(from).toISOString()}`);

    const days = this.config.RETENTION_MESSAGES_DAYS;
    if (days <= 0) return;
    const cut = today - days * DAY_MS;
    // By the name after the table's: message_p20261203 and message_part_p20261203 go together.
    const pairs = new Map<string, IdPartition>();
    for (const [table, ps] of [['message', messages], ['message_part', parts]] as const) {
      for (const p of ps) if (p.upper !== null && p.end <= cut) pairs.set(p.name.slice(table.length), p);
    }
    for (const [suffix, p] of pairs) await this.dropMessagePartition(client, suffix, p, existing, changes);
  }

  /**
   * The partitions of both tables for the span from `from`, those missing; false (and a warning)
   * if one could not be made. Each is made as a table of its own, then attached: ATTACH takes
   * SHARE UPDATE EXCLUSIVE on the parent, which lets every read and write of the message store go
   * on, where CREATE TABLE … PARTITION OF takes ACCESS EXCLUSIVE (and, while it waits for it, holds
   * up every statement behind it). Attaching builds the parent's indexes on the empty table.
   */
  private async createMessagePartitions(client: PoolClient, from: number, span: number, existing: Set<string>, changes: PartitionChanges): Promise<boolean> {
    for (const table of MESSAGE_TABLES) {
      const name = partitionName(table, from);
      if (existing.has(name)) continue;
      const [parent, partition] = [client.escapeIdentifier(table), client.escapeIdentifier(name)];
      try {
        await client.query('BEGIN');
        await client.query(`CREATE TABLE ${partition} (LIKE ${parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)`);
        await client.query(`ALTER TABLE ${parent} ATTACH PARTITION ${partition} FOR VALUES FROM (${messageIdFloor(from)}) TO (${messageIdFloor(from + span)})`);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        this.log.warn(`could not create partition ${name} of ${table} (retried at the next run): ${(e as Error).message}`);
        return false;
      }
      changes.created.push(name);
    }
    return true;
  }

  /**
   * Drops a partition of message and its message_part twin, whose every id is older than
   * RETENTION_MESSAGES_DAYS. First the partnerMsgId keys of its messages go (the BRIN index on
   * message_key.message_id finds them by id range). Statistics outlive the messages: the
   * partition stays while message_stat_delta holds changes of its hours that the rollup has not
   * folded into message_stat yet; checked again under the lock that the DROP needs anyway
   * (message's, taken first: every writer of the partition has then committed, and none can
   * start), so no change of its rows can be logged after the check. message_part is dropped in a
   * transaction of its own: holding one table's lock while waiting for the other's could deadlock
   * with a writer of both.
   */
  private async dropMessagePartition(client: PoolClient, suffix: string, p: IdPartition, existing: Set<string>, changes: PartitionChanges): Promise<void> {
    const [message, part] = MESSAGE_TABLES.map((t) => t + suffix) as [string, string];
    // A message's created_at (its statistics hour) may be a little after its id's hour.
    const statsUntil = new Date(p.end + HOUR_MS);
    const unfolded = `partition ${message} not dropped yet: changes of its messages are still to be folded into the statistics (retried at the next run)`;
    const pending = async () => (await client.query<{ pending: boolean }>(PENDING_DELTA_SQL, [statsUntil])).rows[0]?.pending === true;
    try {
      if (await pending()) {
        this.log.warn(unfolded);
        return;
      }
      // A message still held (postponed beyond the retention, or handed over and waiting for its
      // receipt) is never dropped: the partition waits until every one of its messages is final.
      if (existing.has(message)) {
        const table = client.escapeIdentifier(message);
        const { rows } = await client.query<{ held: string }>(
          `SELECT (SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE status = ${MessageStatus.ACCEPTED} LIMIT 1000) a)
                + (SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE status = ${MessageStatus.SUBMITTED} LIMIT 1000) s) AS held`,
        );
        const held = Number(rows[0]?.held ?? 0);
        if (held > 0) {
          this.log.warn(`partition ${message} not dropped: ${held >= 1000 ? 'at least 1000' : held} of its messages are not final yet (postponed or waiting for a receipt; retried at the next run)`);
          return;
        }
      }
      const range = p.lower === null ? 'message_id < $1' : 'message_id >= $2 AND message_id < $1';
      await client.query(`DELETE FROM message_key WHERE ${range}`, p.lower === null ? [p.upper] : [p.upper, p.lower]);
      if (existing.has(message)) {
        await client.query('BEGIN');
        try {
          await client.query('LOCK TABLE ONLY message IN ACCESS EXCLUSIVE MODE');
          if (await pending()) {
            await client.query('ROLLBACK');
            this.log.warn(unfolded);
            return;
          }
          await client.query(`DROP TABLE ${client.escapeIdentifier(message)}`);
          await client.query('COMMIT');
          changes.dropped.push(message);
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw e;
        }
      }
      if (existing.has(part)) {
        await client.query(`DROP TABLE ${client.escapeIdentifier(part)}`);
        changes.dropped.push(part);
      }
    } catch (e) {
      this.log.warn(`could not drop partition ${message} / ${part} (retried at the next run): ${(e as Error).message}`);
      return;
    }
    this.log.log(`dropped partitions ${message} and ${part}: their messages are older than ${this.config.RETENTION_MESSAGES_DAYS} days`);
  }
}

/** table_pYYYYMMDD, after the partition's first day (UTC). */
function partitionName(table: string, from: number): string {
  return `${table}_p${new Date(from).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

async function readIdPartitions(db: Pool | PoolClient, table: string): Promise<IdPartition[]> {
  const { rows } = await db.query<{ name: string; lower: string | null; upper: string | null }>(ID_PARTITIONS_SQL, [table]);
  return rows.map((r) => ({ ...r, end: r.upper === null ? 0 : messageIdHour(r.upper).getTime() }));
}
