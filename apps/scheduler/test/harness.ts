import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { analyzeText } from '@smsgw/sms';
import { bullJobKey, dispatchJobOptions, QUEUES, type QueueName } from '@smsgw/contracts';
import { messageIdFloor } from '@smsgw/db';
import { createTestDatabase, type TestDatabase } from '@smsgw/db/dist/testing';
import { startScheduler, type RunningScheduler } from '../src/bootstrap';
import type { Clock } from '../src/clock';
import { loadSchedulerConfig, type SchedulerConfig } from '../src/config';
import { OutboxSweep } from '../src/outbox/outbox-sweep.service';
import { ReleaseService } from '../src/release/release.service';
import { StatsRollup } from '../src/stats/stats-rollup.service';
import { TableAnalyze } from '../src/stats/table-analyze.service';
import { Partitions } from '../src/store/partitions.service';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A clock the test moves. */
export class ManualClock implements Clock {
  constructor(private t: Date) {}
  now(): Date {
    return this.t;
  }
  set(t: Date | string): void {
    this.t = new Date(t);
  }
}

/** A scheduler in this process, with its services at hand. */
export interface TestScheduler extends RunningScheduler {
  config: SchedulerConfig;
  release: ReleaseService;
  sweep: OutboxSweep;
  rollup: StatsRollup;
  analyze: TableAnalyze;
  partitions: Partitions;
}

export interface PartnerSettings {
  status_url: string | null;
  mo_url: string | null;
  intermediate_reports: boolean;
  time_zone: string;
  test_mode: boolean;
}

export interface MessageFields {
  msisdn: string;
  text: string;
  sender: string;
  priority: 0 | 1 | 2;
  status: number;
  test: boolean;
  releaseAt: Date | null;
  releasedAt: Date | null;
  windowStart: number | null;
  windowEnd: number | null;
  windowZone: string | null;
  validUntil: Date;
  createdAt: Date;
  smscConnectionId: number | null;
  submittedAt: Date | null;
}

export interface MessageRow {
  id: string;
  status: number;
  ext_status: number | null;
  release_at: Date | null;
  released_at: Date | null;
  done_at: Date | null;
}

let envCounter = 0;

const FLUSH_PREFIX_LUA = `
local cursor, n = '0', 0
repeat
  local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do n = n + redis.call('DEL', k) end
until cursor == '0'
return n`;

/**
 * One test environment: a migrated database and a Redis key prefix of its own (both removed by
 * close()), producer-side queues to look at, and schedulers started on it.
 */
export class TestEnv {
  readonly queues: Record<'dispatch' | 'dlr' | 'mo', Queue>;
  private nextId: number;
  private partners = 0;
  private readonly schedulers = new Set<TestScheduler>();

  private constructor(
    readonly db: TestDatabase,
    readonly pool: Pool,
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    const q = (name: string) => new Queue(name, { prefix, connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }) });
    this.queues = { dispatch: q(QUEUES.MT_DISPATCH), dlr: q(QUEUES.CALLBACK_DLR), mo: q(QUEUES.CALLBACK_MO) };
    // Ids of this hour, as the ingress draws them: stored in this week's partition, like production rows.
    this.nextId = Number(messageIdFloor(Date.now())) + 5_000_000 + 100_000 * ++envCounter;
  }

  static async create(): Promise<TestEnv> {
    const db = await createTestDatabase();
    const pool = new Pool({ connectionString: db.url, max: 6 });
    pool.on('error', () => undefined); // the database is dropped at the end
    return new TestEnv(db, pool, new Redis(REDIS_URL), `tsch${process.pid}_${randomBytes(3).toString('hex')}`);
  }

  /** Settings of a scheduler of this environment: no task runs by itself unless `SCHEDULER_TASKS` says so. */
  env(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.db.url,
      REDIS_URL,
      REDIS_PREFIX: this.prefix,
      SCHEDULER_HTTP_PORT: '0',
      SCHEDULER_HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      SCHEDULER_TASKS: 'none',
      ...overrides,
    };
  }

  async startScheduler(overrides: Record<string, string> = {}, clock?: Clock): Promise<TestScheduler> {
    const config = loadSchedulerConfig(this.env(overrides));
    const running = await startScheduler(config, { clock });
    const s: TestScheduler = {
      ...running,
      config,
      release: running.app.get(ReleaseService),
      sweep: running.app.get(OutboxSweep),
      rollup: running.app.get(StatsRollup),
      analyze: running.app.get(TableAnalyze),
      partitions: running.app.get(Partitions),
      close: async () => {
        this.schedulers.delete(s);
        await running.close();
      },
    };
    this.schedulers.add(s);
    return s;
  }

  async createPartner(settings: Partial<PartnerSettings> = {}): Promise<number> {
    const s: PartnerSettings = { status_url: null, mo_url: null, intermediate_reports: false, time_zone: 'UTC', test_mode: false, ...settings };
    const { rows } = await this.pool.query<{ id: number }>(
      `INSERT INTO partner (login, api_password_hash, status_url, mo_url, intermediate_reports, time_zone, test_mode)
       VALUES ($1, 'x', $2, $3, $4, $5, $6) RETURNING id`,
      [`s${++this.partners}_${randomBytes(2).toString('hex')}`, s.status_url, s.mo_url, s.intermediate_reports, s.time_zone, s.test_mode],
    );
    return rows[0]!.id;
  }

  /** Stores messages the way the ingress does (one INSERT for all), without queuing them. */
  async store(partnerId: number, count: number, fields: Partial<MessageFields> = {}): Promise<string[]> {
    return this.storeWithIds(Array.from({ length: count }, () => String(this.nextId++)), partnerId, fields);
  }

  /** As store, with the ids given (a message of another partition than this hour's). */
  async storeWithIds(ids: string[], partnerId: number, fields: Partial<MessageFields> = {}): Promise<string[]> {
    const f: MessageFields = {
      msisdn: '79030000001',
      text: 'hello',
      sender: 'TEST',
      priority: 1,
      status: 1,
      test: false,
      releaseAt: null,
      releasedAt: null,
      windowStart: null,
      windowEnd: null,
      windowZone: null,
      validUntil: new Date(Date.now() + 3_600_000),
      createdAt: new Date(),
      smscConnectionId: null,
      submittedAt: null,
      ...fields,
    };
    const a = analyzeText(f.text);
    await this.pool.query(
      `INSERT INTO message (id, partner_id, sender, msisdn, text, encoding, segments, priority, status, test, release_at, released_at,
         window_start, window_end, window_zone, valid_until, created_at, smsc_connection_id, submitted_at)
       SELECT id, $2, $3, CASE WHEN $4 = '' THEN (79031000000 + (id % 100000) * 10 + 1)::text ELSE $4 END, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19
       FROM unnest($1::bigint[]) AS id`,
      [
        ids, partnerId, f.sender, f.msisdn, f.text, a.dataCoding, a.segments, f.priority, f.status, f.test, f.releaseAt, f.releasedAt,
        f.windowStart, f.windowEnd, f.windowZone, f.validUntil, f.createdAt, f.smscConnectionId, f.submittedAt,
      ],
    );
    return ids;
  }

  /** Queues `mt.dispatch` jobs exactly as the ingress does. */
  async enqueue(partnerId: number, ids: string[], priority: 0 | 1 | 2 = 1): Promise<void> {
    await this.queues.dispatch.addBulk(ids.map((messageId) => ({ name: QUEUES.MT_DISPATCH, data: { messageId, partnerId, priority }, opts: dispatchJobOptions(messageId, priority) })));
  }

  async messages(ids: string[]): Promise<MessageRow[]> {
    const { rows } = await this.pool.query<MessageRow>(
      'SELECT id::text, status, ext_status, release_at, released_at, done_at FROM message WHERE id = ANY($1::bigint[]) ORDER BY id',
      [ids],
    );
    return rows;
  }

  async message(id: string): Promise<MessageRow> {
    return (await this.messages([id]))[0]!;
  }

  /** Whether a job with this id exists in the queue (any state). */
  async hasJob(queue: QueueName, jobId: string): Promise<boolean> {
    return (await this.redis.exists(bullJobKey(this.prefix, queue, jobId))) === 1;
  }

  /**
   * Each message queued on mt.dispatch (as a single `m<id>` job or inside a batch job), with its
   * job's BullMQ priority.
   */
  async queuedForDispatch(): Promise<Map<string, { data: unknown; priority: number; jobs: number }>> {
    const queued = new Map<string, { data: unknown; priority: number; jobs: number }>();
    for (const j of await this.queues.dispatch.getJobs(['prioritized', 'waiting', 'delayed', 'active'])) {
      if (!j) continue;
      const data = j.data as { messages?: Array<{ messageId: string }>; messageId?: string };
      for (const m of data.messages ?? [data as { messageId: string }]) {
        queued.set(m.messageId, { data: m, priority: j.opts.priority ?? 0, jobs: (queued.get(m.messageId)?.jobs ?? 0) + 1 });
      }
    }
    return queued;
  }

  /** The message as queued on mt.dispatch (alone or in a batch) and its job's priority, or null. */
  async dispatchJobOf(messageId: string): Promise<{ data: unknown; priority: number } | null> {
    const queued = (await this.queuedForDispatch()).get(messageId);
    return queued ? { data: queued.data, priority: queued.priority } : null;
  }

  async job(queue: 'dispatch' | 'dlr' | 'mo', jobId: string): Promise<{ data: unknown; priority: number } | null> {
    const j = await this.queues[queue].getJob(jobId);
    return j ? { data: j.data, priority: j.opts.priority ?? 0 } : null;
  }

  /** Number of jobs of a queue in any state. */
  async jobCount(queue: 'dispatch' | 'dlr' | 'mo'): Promise<number> {
    const c = await this.queues[queue].getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  /**
   * What losing Redis's data does to this deployment: every key of the prefix is gone, at once
   * (one script, as FLUSHALL or a restart without persistence would; deleting key by key while
   * services write would leave half-written jobs no real loss leaves).
   */
  async flushRedis(): Promise<number> {
    return (await this.redis.eval(FLUSH_PREFIX_LUA, 0, `${this.prefix}:*`)) as number;
  }

  async close(): Promise<void> {
    for (const s of [...this.schedulers]) await s.close().catch(() => undefined);
    for (const q of Object.values(this.queues)) {
      const c = await q.getBackend().client.catch(() => null);
      await q.close().catch(() => undefined);
      c?.disconnect();
    }
    await this.pool.end();
    await this.flushRedis();
    await this.redis.quit();
    await this.db.drop();
  }
}

/** Waits until `check` stops throwing. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(50);
    }
  }
}
