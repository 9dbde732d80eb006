import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { bullPriority, dispatchBatches, dispatchJobId, dlrJobId, isDeliveryReportBatch, parseJob, QUEUES, smscChangedChannel, type DeliveryReport } from '@smsgw/contracts';
import { MessageIdAllocator } from '@smsgw/db';
import { createTestDatabase, type TestDatabase } from '@smsgw/db/dist/testing';
export { TcpProxy } from '@smsgw/db/dist/testing';
import { analyzeText, binarySegmentCount } from '@smsgw/sms';
import { startSimulator, type RunningSimulator, type SimulatorConfig } from '@smsgw/smsc-simulator/dist/index';
import { loadConnectorConfig } from '../src/config';
import { type RunningConnector, startConnector } from '../src/connector';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Settings that make retries, reconnects and timeouts take milliseconds instead of seconds. */
export const FAST_CONNECTOR_ENV: Record<string, string> = {
  CONNECTOR_HTTP_PORT: '0',
  CONNECTOR_HTTP_HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  CONNECTOR_CONCURRENCY: '10',
  CONNECTOR_RETRY_BASE_MS: '100',
  CONNECTOR_RETRY_MAX_MS: '800',
  CONNECTOR_RECONNECT_BASE_MS: '100',
  CONNECTOR_RECONNECT_MAX_MS: '400',
  CONNECTOR_SUBMIT_TIMEOUT_MS: '2000',
  CONNECTOR_THROTTLE_PAUSE_MS: '200',
  CONNECTOR_SHUTDOWN_TIMEOUT_MS: '3000',
  SIM_TEST_DLR_DELAY_MS: '150',
  MO_REASSEMBLY_TIMEOUT_MS: '600',
  RECEIPT_WAIT_GRACE_MS: '300',
  RECEIPT_SWEEP_INTERVAL_MS: '200',
};

export interface PartnerSettings {
  status_url: string | null;
  mo_url: string | null;
  intermediate_reports: boolean;
  test_mode: boolean;
  test_real_delivery: boolean;
}

export interface MessageFields {
  msisdn: string;
  text: string;
  sender: string;
  flash: boolean;
  priority: 0 | 1 | 2;
  /** Default: an hour from now. */
  validUntil: Date;
  test: boolean;
  /** 8-bit data as the SMPP server stores it (text its hex, encoding its data_coding); default: a text. */
  binary?: { data: Buffer; encoding?: number; udhi?: boolean };
}

export interface ConnectionSettings {
  name: string;
  host: string;
  port: number;
  system_id: string;
  password: string;
  bind_mode: 'transceiver' | 'transmitter_receiver';
  tps: number;
  window: number;
  routes: string[];
  priority: number;
  enabled: boolean;
}

export interface MessageRow {
  id: string;
  status: number;
  ext_status: number | null;
  smsc_connection_id: number | null;
  submitted_at: Date | null;
  done_at: Date | null;
  msisdn: string;
}

/**
 * One test environment: a migrated database of its own, a Redis key prefix of its own, an SMSC
 * simulator on random ports, and (after `startConnector`) the connector under test.
 */
export class TestEnv {
  connector: RunningConnector | null = null;
  readonly dispatchQueue: Queue;
  /** Ids as production draws them: the hour's, in this week's partition (as receipts look for them). */
  private readonly messageIds: MessageIdAllocator;
  private partnerCount = 0;

  private constructor(
    readonly db: TestDatabase,
    readonly pool: Pool,
    readonly redis: Redis,
    readonly prefix: string,
    public sim: RunningSimulator,
  ) {
    this.dispatchQueue = new Queue(QUEUES.MT_DISPATCH, { prefix, connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }) });
    this.messageIds = new MessageIdAllocator(pool);
  }

  static async create(sim: Partial<SimulatorConfig> = {}): Promise<TestEnv> {
    const db = await createTestDatabase();
    const prefix = `tc${process.pid}_${randomBytes(3).toString('hex')}`;
    const simulator = await startTestSimulator(sim);
    const pool = new Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined); // the database is dropped at the end
    return new TestEnv(db, pool, new Redis(REDIS_URL), prefix, simulator);
  }

  async startConnector(env: Record<string, string> = {}): Promise<RunningConnector> {
    const config = loadConnectorConfig({ DATABASE_URL: this.db.url, REDIS_URL, REDIS_PREFIX: this.prefix, ...FAST_CONNECTOR_ENV, ...env });
    this.connector = await startConnector(config);
    return this.connector;
  }

  async stopConnector(): Promise<void> {
    await this.connector?.close();
    this.connector = null;
  }

  /** A connection to this environment's simulator (or elsewhere), announced to running connectors. */
  async addConnection(settings: Partial<ConnectionSettings> = {}): Promise<number> {
    const s: ConnectionSettings = {
      name: `sim-${randomBytes(2).toString('hex')}`,
      host: '127.0.0.1',
      port: this.sim.smppPort,
      system_id: 'smsgw',
      password: 'smsgw',
      bind_mode: 'transceiver',
      tps: 1000,
      window: 50,
      routes: [],
      priority: 0,
      enabled: true,
      ...settings,
    };
    const { rows } = await this.pool.query<{ id: number }>(
      `INSERT INTO smsc_connection (name, host, port, system_id, password, bind_mode, tps, "window", routes, priority, enabled)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
      [s.name, s.host, s.port, s.system_id, s.password, s.bind_mode, s.tps, s.window, s.routes, s.priority, s.enabled],
    );
    await this.redis.publish(smscChangedChannel(this.prefix), String(rows[0]!.id));
    return rows[0]!.id;
  }

  async updateConnection(id: number, sql: string, params: unknown[] = []): Promise<void> {
    await this.pool.query(`UPDATE smsc_connection SET ${sql}, updated_at = now() WHERE id = ${Number(id)}`, params);
    await this.redis.publish(smscChangedChannel(this.prefix), String(id));
  }

  async createPartner(settings: Partial<PartnerSettings> = {}): Promise<number> {
    const s: PartnerSettings = { status_url: null, mo_url: null, intermediate_reports: false, test_mode: false, test_real_delivery: false, ...settings };
    const { rows } = await this.pool.query<{ id: number }>(
      `INSERT INTO partner (login, api_password_hash, status_url, mo_url, intermediate_reports, test_mode, test_real_delivery)
       VALUES ($1, 'x', $2, $3, $4, $5, $6) RETURNING id`,
      [`p${++this.partnerCount}`, s.status_url, s.mo_url, s.intermediate_reports, s.test_mode, s.test_real_delivery],
    );
    return rows[0]!.id;
  }

  async addServiceNumber(number: string, partnerId: number): Promise<void> {
    await this.pool.query('INSERT INTO service_number (number, partner_id) VALUES ($1, $2)', [number, partnerId]);
  }

  /** Stores a message as the ingress would (status 1), without queuing it. */
  async storeMessage(partnerId: number, fields: Partial<MessageFields> = {}): Promise<string> {
    const f: MessageFields = {
      msisdn: '79030000001',
      text: 'hello',
      sender: 'TEST',
      flash: false,
      priority: 1,
      validUntil: new Date(Date.now() + 3_600_000),
      test: false,
      ...fields,
    };
    const b = f.binary;
    const a = b ? { text: b.data.toString('hex'), dataCoding: b.encoding ?? 4, segments: b.udhi ? 1 : binarySegmentCount(b.data.length) } : { text: f.text, ...analyzeText(f.text) };
    const id = (await this.messageIds.take(1))[0]!;
    await this.pool.query(
      `INSERT INTO message (id, partner_id, sender, msisdn, text, encoding, segments, flash, priority, test, valid_until, udhi)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [id, partnerId, f.sender, f.msisdn, a.text, a.dataCoding, a.segments, f.flash, f.priority, f.test, f.validUntil, b?.udhi ?? false],
    );
    return id;
  }

  /** Queues `mt.dispatch` jobs exactly as the ingress does. */
  async enqueue(partnerId: number, ids: string[], priority: 0 | 1 | 2 = 1): Promise<void> {
    await this.dispatchQueue.addBulk(
      ids.map((messageId) => ({
        name: QUEUES.MT_DISPATCH,
        data: { messageId, partnerId, priority },
        opts: { jobId: dispatchJobId(messageId), priority: bullPriority(priority), removeOnComplete: true, removeOnFail: 10_000 },
      })),
    );
  }

  /** Queues one `mt.dispatch` batch job of `ids` as the ingress does after a group commit. */
  async enqueueBatch(partnerId: number, ids: string[], priority: 0 | 1 | 2 = 1): Promise<void> {
    const [job, ...more] = dispatchBatches(ids.map((messageId) => ({ messageId, partnerId, priority })));
    if (!job || more.length > 0) throw new Error(`${ids.length} messages do not make one batch job`);
    await this.dispatchQueue.add(QUEUES.MT_DISPATCH, job.data, job.opts);
  }

  /** Stores and queues one message per entry. */
  async send(partnerId: number, messages: Array<Partial<MessageFields>>): Promise<string[]> {
    // Every row first, then every job at once: on a busy machine the inserts take a while, and a
    // test that races the worker (cancel, shutdown) needs the whole set queued together.
    const ids: string[] = [];
    for (const m of messages) ids.push(await this.storeMessage(partnerId, m));
    await this.dispatchQueue.addBulk(
      ids.map((messageId, i) => {
        const priority = messages[i]!.priority ?? 1;
        return {
          name: QUEUES.MT_DISPATCH,
          data: { messageId, partnerId, priority },
          opts: { jobId: dispatchJobId(messageId), priority: bullPriority(priority), removeOnComplete: true, removeOnFail: 10_000 },
        };
      }),
    );
    return ids;
  }

  /** submit_sm the simulator accepted, per destination number. */
  submitsPerNumber(numbers: string[]): number[] {
    const all = this.sim.control.getSubmits(100_000);
    return numbers.map((n) => all.filter((s) => s.destinationAddr === n).length);
  }

  async messages(ids: string[]): Promise<MessageRow[]> {
    const { rows } = await this.pool.query<MessageRow>(
      `SELECT id::text, status, ext_status, smsc_connection_id, submitted_at, done_at, msisdn FROM message WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );
    return rows;
  }

  async message(id: string): Promise<MessageRow> {
    return (await this.messages([id]))[0]!;
  }

  /** Waits until every message satisfies `done` (default: a final status 2 or 5). */
  async waitFor(ids: string[], done: (m: MessageRow) => boolean = isFinal, timeoutMs = 15_000): Promise<MessageRow[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.messages(ids);
      if (rows.length === ids.length && rows.every(done)) return rows;
      if (Date.now() > deadline) {
        const pending = rows.filter((r) => !done(r)).map((r) => `${r.id}:${r.status}/${r.ext_status ?? '-'}`);
        throw new Error(`${pending.length} of ${ids.length} message(s) not done within ${timeoutMs} ms: ${pending.slice(0, 10).join(' ')}`);
      }
      await sleep(50);
    }
  }

  /** Jobs waiting in a queue of this environment (callback.dlr, callback.mo, ...). */
  async queuedJobs(queue: string): Promise<Array<{ id: string; data: Record<string, unknown> }>> {
    const q = new Queue(queue, { prefix: this.prefix, connection: this.redis });
    try {
      const jobs = await q.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
      return jobs.filter((j) => j !== undefined).map((j) => ({ id: String(j.id), data: j.data as Record<string, unknown> }));
    } finally {
      await q.close();
    }
  }

  /**
   * The delivery reports queued in `callback.dlr`, single or in batch jobs, each under the id its
   * single job has (`d<id>-<status>`).
   */
  async queuedReports(): Promise<Array<{ id: string; data: DeliveryReport }>> {
    return (await this.queuedJobs(QUEUES.CALLBACK_DLR)).flatMap((j) => {
      const data = parseJob(QUEUES.CALLBACK_DLR, j.data);
      return (isDeliveryReportBatch(data) ? data.reports : [data]).map((r) => ({ id: dlrJobId(r.messageId, r.status), data: r }));
    });
  }

  /** Deletes a job as Redis losing it would (false: no such job). */
  async removeJob(queue: string, jobId: string): Promise<boolean> {
    const q = new Queue(queue, { prefix: this.prefix, connection: this.redis });
    try {
      const job = await q.getJob(jobId);
      if (!job) return false;
      await job.remove();
      return true;
    } finally {
      await q.close();
    }
  }

  /** Restarts the simulator on the same SMPP port (all its memory is lost, like a real restart). */
  async restartSimulator(options: { unbind: boolean; downMs: number; sim?: Partial<SimulatorConfig> }): Promise<void> {
    const port = this.sim.smppPort;
    await this.sim.close({ unbind: options.unbind });
    await sleep(options.downMs);
    this.sim = await startTestSimulator({ smppPort: port, ...options.sim });
  }

  async close(): Promise<void> {
    await this.stopConnector().catch(() => undefined);
    const connection = await this.dispatchQueue.getBackend().client.catch(() => null);
    await this.dispatchQueue.close();
    connection?.disconnect();
    await this.sim.close({ unbind: false });
    await this.pool.end();
    const keys = await this.redis.keys(`${this.prefix}:*`);
    if (keys.length > 0) await this.redis.del(...keys);
    await this.redis.quit();
    await this.db.drop();
  }
}

export function isFinal(m: MessageRow): boolean {
  return m.status === 2 || m.status === 5;
}

export function startTestSimulator(overrides: Partial<SimulatorConfig> = {}): Promise<RunningSimulator> {
  return startSimulator({
    smppHost: '127.0.0.1',
    httpHost: '127.0.0.1',
    accounts: [
      { systemId: 'smsgw', password: 'smsgw' },
      { systemId: 'second', password: 'second' },
    ],
    dlrDelayMs: 30,
    ...overrides,
  });
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

/** GET on the connector's HTTP port. */
export async function getJson<T>(port: number, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await res.text();
  return { status: res.status, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
}

