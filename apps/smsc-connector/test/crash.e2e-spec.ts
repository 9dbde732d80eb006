import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '@smsgw/db/dist/testing';
import path from 'node:path';
import { Client } from 'pg';
import { eventually, FAST_CONNECTOR_ENV, getJson, REDIS_URL, sleep, TestEnv } from './harness';

// The connector as a process of its own, killed (SIGKILL) while a message's submit_sm has been
// taken by the SMSC and its answer not yet recorded: the state a crash leaves. The next
// connector either matches the receipt that comes for it by content (nothing is sent again), or,
// no receipt coming, sends the segment again and counts it; the message ends final either way.
jest.setTimeout(60_000);

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');

let numberCounter = 0;
const nextNumber = (): string => `7905${String(++numberCounter).padStart(6, '0')}1`;

interface ConnectorProcess {
  child: ChildProcess;
  port: number;
  output: string[];
}

/** The value of one series in a /metrics text, 0 when it is not there. */
function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('a connector killed between a submit_sm and recording its answer', () => {
  let env: TestEnv;
  let partner: number;
  const children = new Set<ChildProcess>();
  const outputs: string[][] = [];

  const start = async (settings: Record<string, string>): Promise<ConnectorProcess> => {
    const port = await freePort();
    const output: string[] = [];
    outputs.push(output);
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        ...FAST_CONNECTOR_ENV,
        DATABASE_URL: env.db.url,
        REDIS_URL,
        REDIS_PREFIX: env.prefix,
        CONNECTOR_HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
        CONNECTOR_STALLED_INTERVAL_MS: '500',
        RECEIPT_MATCH_INTERVAL_MS: '200',
        ...settings,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    children.add(child);
    child.on('exit', () => children.delete(child));
    await eventually(async () => {
      const { body } = await getJson<{ connections: Array<{ bound: boolean }> }>(port, '/connections');
      expect(body.connections.every((c) => c.bound)).toBe(true);
    }, 20_000);
    return { child, port, output };
  };

  const kill = (c: ConnectorProcess): Promise<void> =>
    new Promise((resolve) => {
      c.child.once('exit', () => resolve());
      c.child.kill('SIGKILL');
    });

  const metrics = async (c: ConnectorProcess): Promise<string> => (await getJson<string>(c.port, '/metrics')).body;

  /**
   * Sends one message through connector `first` and kills it once the SMSC has taken the
   * submit_sm, before the answer is recorded: message_part is locked meanwhile, so the record
   * waits, and the statement left behind by the dead process is ended before the lock goes.
   */
  const sendAndCrash = async (first: ConnectorProcess, msisdn: string, text: string): Promise<string> => {
    const lock = new Client({ connectionString: env.db.url });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE message_part IN EXCLUSIVE MODE');
      const [id] = await env.send(partner, [{ msisdn, text }]);
      await eventually(() => expect(env.sim.control.getSubmits(10, msisdn)).toHaveLength(1), 30_000);
      // The connector got the answer: its INSERT waits for the lock.
      await eventually(async () => {
        // Inside a transaction pg_stat_activity is a snapshot taken once: clear it each time.
        await lock.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await lock.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO message_part%'`);
        expect(rows).toHaveLength(1);
      }, 30_000);
      await kill(first);
      // With a timeout, pg_terminate_backend returns once the backend is gone: one only signalled
      // could still be granted the lock by the ROLLBACK and commit its insert.
      await lock.query(
        `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'INSERT INTO message_part%'`,
      );
      await lock.query('ROLLBACK');
      return id!;
    } finally {
      await lock.end();
    }
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} not found: build the app first (npx turbo run build --filter=@smsgw/smsc-connector)`);
    env = await TestEnv.create();
    await env.addConnection({ name: 'crash' });
    partner = await env.createPartner({ status_url: 'http://127.0.0.1:9/dlr' });
  });

  afterEach(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await env?.close();
  });

  const failed = (): string => outputs.flat().join('').slice(-4000);

  it.each([
    ['by the periodic sweep of parked receipts', { RECEIPT_MATCH_GRACE_MS: '300' }],
    ['when the job of the message runs again', { RECEIPT_MATCH_GRACE_MS: '600000' }],
  ])('its receipt, come to the next connector, is matched by content %s: final once, reported once, nothing sent again', async (_how, settings) => {
    const msisdn = nextNumber();
    // The receipt comes a second after the submit: to the next connector, the first is dead by then.
    env.sim.control.setRules([{ suffix: msisdn, stat: 'DELIVRD', err: 0, delayMs: 1000 }]);
    // A long job lock: the job runs again only seconds after the kill, once the receipt is parked.
    const first = await start({ CONNECTOR_JOB_LOCK_MS: '8000' });
    const id = await sendAndCrash(first, msisdn, 'Your code is 4821, valid for 5 minutes');

    // What the crash left: claimed (0), the segment not recorded.
    expect(await env.message(id)).toMatchObject({ status: 0 });
    expect((await env.pool.query('SELECT 1 FROM message_part WHERE message_id = $1', [id])).rows).toEqual([]);

    const second = await start(settings);
    try {
      await env.waitFor([id], (m) => m.status === 2, 20_000);
      // The job ran (and found nothing to send) or was done by the sweep first: either way once.
      await sleep(500);
      expect(env.submitsPerNumber([msisdn])).toEqual([1]);
      const [submit] = env.sim.control.getSubmits(10, msisdn);
      const { rows: parts } = await env.pool.query('SELECT seq, status, smsc_message_id FROM message_part WHERE message_id = $1', [id]);
      expect(parts).toEqual([{ seq: 1, status: 2, smsc_message_id: submit!.messageId }]);
      expect((await env.pool.query('SELECT 1 FROM unmatched_receipt')).rows).toEqual([]);
      // The report is queued after the final status is committed: wait for it.
      await eventually(async () => {
        const reports = (await env.queuedReports()).filter((r) => r.data.messageId === id);
        expect(reports.map((r) => r.data.status)).toEqual([2]);
      });
      const text = await metrics(second);
      expect(metric(text, 'smsgw_receipt_content_match_total{outcome="matched"}')).toBe(1);
      expect(metric(text, 'smsgw_mt_resubmitted_total{reason="crash"}')).toBe(0);
    } catch (e) {
      process.stderr.write(failed());
      throw e;
    }
  });

  it('no receipt coming for it: the segment is sent again once, counted, and the copy’s receipt makes the message final', async () => {
    const msisdn = nextNumber();
    // The SMSC never reports on the first copy.
    env.sim.control.setRules([{ suffix: msisdn, stat: 'NONE', err: 0 }]);
    const first = await start({ CONNECTOR_JOB_LOCK_MS: '2000' });
    const id = await sendAndCrash(first, msisdn, 'Your parcel is on its way');
    env.sim.control.setRules([{ suffix: msisdn, stat: 'DELIVRD', err: 0, delayMs: 100 }]);

    const second = await start({ RECEIPT_MATCH_GRACE_MS: '300' });
    try {
      await env.waitFor([id], (m) => m.status === 2, 20_000);
      expect(env.submitsPerNumber([msisdn])).toEqual([2]);
      const copy = env.sim.control.getSubmits(10, msisdn).find((s) => s.receipt !== null);
      const { rows: parts } = await env.pool.query('SELECT seq, status, smsc_message_id FROM message_part WHERE message_id = $1', [id]);
      expect(parts).toEqual([{ seq: 1, status: 2, smsc_message_id: copy!.messageId }]);
      // The report is queued after the final status is committed: wait for it.
      await eventually(async () => {
        const reports = (await env.queuedReports()).filter((r) => r.data.messageId === id);
        expect(reports.map((r) => r.data.status)).toEqual([2]);
      });
      const text = await metrics(second);
      expect(metric(text, 'smsgw_mt_resubmitted_total{reason="crash"}')).toBe(1);
      expect(metric(text, 'smsgw_receipt_content_match_total{outcome="matched"}')).toBe(0);
    } catch (e) {
      process.stderr.write(failed());
      throw e;
    }
  });
});

describe('a submit_sm the SMSC takes but answers too late', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    await env.addConnection({ name: 'slow' });
    await env.startConnector({ RECEIPT_MATCH_GRACE_MS: '300', RECEIPT_MATCH_INTERVAL_MS: '200' });
    partner = await env.createPartner({ status_url: 'http://127.0.0.1:9/dlr' });
  });
  afterAll(() => env.close());

  it('is sent again on the retry and counted as unanswered; the copy’s receipt decides, the first one’s is set aside', async () => {
    const msisdn = nextNumber();
    const before = metric((await getJson<string>(env.connector!.httpPort, '/metrics')).body, 'smsgw_mt_resubmitted_total{reason="unanswered"}');
    // Answered after the connector's 2 s submit timeout, and taken all the same (as SMSCs do).
    env.sim.control.updateSettings({ responseDelayMs: 2500 });
    env.sim.control.setRules([{ suffix: msisdn, stat: 'DELIVRD', err: 0, delayMs: 1500 }]);
    const [id] = await env.send(partner, [{ msisdn, text: 'Slow answer' }]);
    await sleep(500);
    env.sim.control.updateSettings({ responseDelayMs: 0 });

    await env.waitFor([id!], (m) => m.status === 2, 15_000);
    expect(env.submitsPerNumber([msisdn])).toEqual([2]);
    // The first copy's receipt matched no segment: parked, then looked at by content and set aside.
    await eventually(async () => {
      const { rows } = await env.pool.query('SELECT content_checked_at FROM unmatched_receipt WHERE msisdn = $1', [msisdn]);
      expect(rows).toHaveLength(1);
      expect(rows[0].content_checked_at).not.toBeNull();
    }, 10_000);
    const text = (await getJson<string>(env.connector!.httpPort, '/metrics')).body;
    expect(metric(text, 'smsgw_mt_resubmitted_total{reason="unanswered"}') - before).toBe(1);
    await eventually(async () => expect((await env.queuedReports()).filter((r) => r.data.messageId === id).map((r) => r.data.status)).toEqual([2]));
  });
});
