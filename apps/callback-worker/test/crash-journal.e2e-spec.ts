import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TcpProxy } from '@smsgw/db/dist/testing';
import { Client } from 'pg';
import { attemptsOf, createTestEnv, REDIS_URL, sleep, startPartnerServer, waitFor, type PartnerServer, type TestEnv } from './harness';

jest.setTimeout(90_000);

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');
const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * A worker killed (SIGKILL) after the partner answered pushes and before their records were
 * committed: the records are in the worker's journals, written by the next worker on this machine
 * before it takes jobs, and the jobs run again push nothing twice. Delivery reports and MO (whose
 * acknowledgement carries the partner's reply).
 */
describe('callback-worker killed between a push and its record', () => {
  let t: TestEnv;
  let partner: PartnerServer;
  const children = new Set<ChildProcess>();

  const startProcess = (overrides: Record<string, string> = {}): { child: ChildProcess; lines: string[] } => {
    // LOG_LEVEL warn: the journal's line about what an earlier run left is part of what is checked.
    const env = { ...process.env, ...t.env({ LOG_LEVEL: 'warn', CALLBACK_LOCK_MS: '3000', CALLBACK_STALLED_INTERVAL_MS: '1000', ...overrides }) };
    const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    const lines: string[] = [];
    child.stdout!.on('data', (d: Buffer) => lines.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
    return { child, lines };
  };

  const kill9 = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  /**
   * Starts a worker while `table` is locked, runs `push` (which queues the jobs and waits for the
   * partner to have every push), kills the worker once its record waits for the lock, and lets go
   * of the lock only when the dead process's backends are gone.
   */
  const killWhileRecordsWait = async (table: string, push: () => Promise<void>): Promise<void> => {
    const lock = new Client({ connectionString: t.db.url });
    await lock.connect();
    const { child } = startProcess();
    try {
      await lock.query('BEGIN');
      await lock.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
      await push();
      // Inside a transaction pg_stat_activity is a snapshot taken once: cleared before each look.
      await waitFor(
        'the record waiting for the lock',
        async () => {
          await lock.query('SELECT pg_stat_clear_snapshot()');
          return (await lock.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows.length > 0 || null;
        },
        10_000,
      );
      await sleep(300); // the journal's flush (a few ms) is done
      await kill9(child);
      // Every statement the dead process sent ends here, waiting or still on its way to the lock.
      await sleep(500);
      // pg_terminate_backend with a timeout waits until each backend is gone: a backend that had
      // only been signalled could still be granted the lock by the ROLLBACK and commit its insert.
      await waitFor(
        'every other backend gone',
        async () => {
          await lock.query('SELECT pg_stat_clear_snapshot()');
          const { rows } = await lock.query(
            `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
          );
          return rows.length === 0 || null;
        },
        20_000,
      );
      await lock.query('ROLLBACK');
    } finally {
      await lock.end();
    }
  };

  const stop = async (child: ChildProcess): Promise<void> => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} not found: build the app first`);
    t = await createTestEnv();
    partner = await startPartnerServer((r) => (r.path === '/mo' ? { status: 200, body: 'Thanks!', contentType: 'text/plain' } : { status: 200, body: 'OK' }));
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await partner?.close();
    await t?.close();
  });

  it('delivery reports: records the acknowledged pushes at the next start and pushes none of them again', async () => {
    const partnerId = await t.createPartner({ status_url: partner.url('/dlr') });
    const ids = await t.insertMessages(partnerId, 5);
    const pushed = () => partner.received.filter((r) => r.path === '/dlr');
    await killWhileRecordsWait('callback_attempt', async () => {
      await t.enqueueDlr(partnerId, ids);
      await waitFor('every push', () => pushed().length >= ids.length || null, 30_000);
    });
    expect(await Promise.all(ids.map((messageId) => attemptsOf(t.pool, { messageId })))).toEqual(ids.map(() => []));

    const second = startProcess();
    await waitFor(
      'every attempt recorded',
      async () => ((await Promise.all(ids.map((messageId) => attemptsOf(t.pool, { messageId })))).every((a) => a.length === 1) ? true : null),
      30_000,
    );
    // The killed worker's jobs run again once their lock expires: they find the reports delivered.
    await sleep(6000);
    expect(pushed().map((r) => r.query.get('transactionId')).sort()).toEqual([...ids].sort());
    expect(second.lines.join('')).toMatch(/5 acknowledged push\(es\) of an earlier run not recorded yet/);
    await stop(second.child);
  });

  it('delivery reports: a push the partner answered is recorded at once, not after its partner slot goes back to Redis', async () => {
    // The worker's Redis link stops carrying its requests the moment the partner gets the first
    // push: the slot's release (a Redis call) never ends, and a kill follows. Each report the
    // partner acknowledged must be recorded regardless, and not pushed again.
    const proxy = await TcpProxy.start(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname);
    const stalled = await startPartnerServer((r) => {
      if (r.path === '/dlr') proxy.dropFromClients();
      return { status: 200, body: 'OK' };
    });
    try {
      const partnerId = await t.createPartner({ status_url: stalled.url('/dlr') });
      const ids = await t.insertMessages(partnerId, 5);
      const pushed = () => stalled.received.filter((r) => r.path === '/dlr').map((r) => r.query.get('transactionId'));
      const { child } = startProcess({ REDIS_URL: proxy.url(REDIS_URL) });
      await t.enqueueDlr(partnerId, ids);
      await waitFor('a push', () => pushed().length > 0 || null, 30_000);
      await sleep(500); // the answers read, the records written, the releases hanging
      await kill9(child);
      proxy.down();
      // The records of the acknowledged pushes were committed (PostgreSQL needs no Redis) although
      // the releases never ended.
      const answered = pushed();
      expect(answered.length).toBeGreaterThan(0);
      for (const messageId of answered) expect(await attemptsOf(t.pool, { messageId: messageId! })).toHaveLength(1);

      const second = startProcess();
      try {
        await waitFor(
          'every attempt recorded',
          async () => ((await Promise.all(ids.map((messageId) => attemptsOf(t.pool, { messageId })))).every((a) => a.length === 1) ? true : null),
          30_000,
        );
        // The killed worker's jobs run again once their lock expires: each report pushed once.
        await sleep(6000);
        expect(pushed().sort()).toEqual([...ids].sort());
      } finally {
        await stop(second.child);
      }
    } finally {
      proxy.down();
      await proxy.close();
      await stalled.close();
    }
  });

  it('MO: commits the acknowledgements at the next start, with their replies, and pushes none of them again', async () => {
    const partnerId = await t.createPartner({ mo_url: partner.url('/mo') });
    // Order per subscriber: the three MO (three subscribers) are pushed at once, not each after the previous one's acknowledgement.
    await t.updatePartner(partnerId, `mo_order = 'subscriber'`);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await t.insertMo(partnerId, { msisdn: `7903111000${i}` }));
    const pushed = () => partner.received.filter((r) => r.path === '/mo');
    await killWhileRecordsWait('mo_message', async () => {
      await t.enqueueMo(partnerId, ids);
      await waitFor('every push', () => pushed().length >= ids.length || null, 30_000);
    });
    const acked = async () => (await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM mo_message WHERE id = ANY($1::bigint[]) AND callback_done_at IS NOT NULL', [ids])).rows[0]!.n;
    expect(await acked()).toBe(0);

    const second = startProcess();
    await waitFor('every MO acknowledged', async () => ((await acked()) === ids.length ? true : null), 30_000);
    await sleep(6000);
    expect(pushed().map((r) => r.query.get('messageId')).sort()).toEqual([...ids].sort());
    const replies = await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM message WHERE partner_id = $1 AND text = 'Thanks!'`, [partnerId]);
    expect(replies.rows[0]!.n).toBe(ids.length);
    expect(second.lines.join('')).toMatch(/3 MO acknowledged by their partner in an earlier run not recorded yet/);
    await stop(second.child);
  });
});
