import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { attemptsOf, createTestEnv, sleep, startPartnerServer, waitFor, type PartnerServer, type TestEnv } from './harness';

jest.setTimeout(90_000);

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');
const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * A worker killed (SIGKILL) after the partner acknowledged a push and before its record was
 * committed: the record is in the worker's journal, written by the next worker on this machine
 * before it takes jobs, and the job run again pushes nothing twice.
 */
describe('callback-worker killed between a push and its record', () => {
  let t: TestEnv;
  let partner: PartnerServer;
  const children = new Set<ChildProcess>();

  const startProcess = (): ChildProcess => {
    // LOG_LEVEL warn: the journal's line about what an earlier run left is part of what is checked.
    const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: { ...process.env, ...t.env({ LOG_LEVEL: 'warn', CALLBACK_LOCK_MS: '3000', CALLBACK_STALLED_INTERVAL_MS: '1000' }) }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const output = (child: ChildProcess): string[] => {
    const lines: string[] = [];
    child.stdout!.on('data', (d: Buffer) => lines.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
    return lines;
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} not found: build the app first`);
    t = await createTestEnv();
    partner = await startPartnerServer();
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await partner?.close();
    await t?.close();
  });

  it('records the acknowledged pushes at the next start and pushes none of them again', async () => {
    const partnerId = await t.createPartner({ status_url: partner.url('/dlr') });
    const ids = await t.insertMessages(partnerId, 5);
    const lock = new Client({ connectionString: t.db.url });
    await lock.connect();
    const first = startProcess();
    try {
      // The records wait behind this lock: pushed, acknowledged, not committed.
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE callback_attempt IN EXCLUSIVE MODE');
      await t.enqueueDlr(partnerId, ids);
      await waitFor('every push', () => partner.received.length >= ids.length || null, 30_000);
      await waitFor(
        'the record waiting for the lock',
        async () => (await lock.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows.length > 0 || null,
        10_000,
      );
      await sleep(300); // the journal's flush (a few ms) is done
      await new Promise((resolve) => {
        first.once('exit', resolve);
        first.kill('SIGKILL');
      });
      // Every statement the dead process sent ends here, waiting or still on its way to the lock
      // (the test's own pool reconnects).
      await sleep(500);
      // pg_terminate_backend with a timeout waits until each backend is gone: a backend that had
      // only been signalled could still be granted the lock by the ROLLBACK and commit its insert.
      await waitFor(
        'every other backend gone',
        async () => {
          // Inside a transaction pg_stat_activity is a snapshot taken once: clear it each time.
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
    expect(await Promise.all(ids.map((messageId) => attemptsOf(t.pool, { messageId })))).toEqual(ids.map(() => []));

    const second = startProcess();
    const lines = output(second);
    await waitFor(
      'every attempt recorded',
      async () => ((await Promise.all(ids.map((messageId) => attemptsOf(t.pool, { messageId })))).every((a) => a.length === 1) ? true : null),
      30_000,
    );
    // The killed worker's jobs run again once their lock expires: they find the reports delivered.
    await sleep(6000);
    expect(partner.received.map((r) => r.query.get('transactionId')).sort()).toEqual([...ids].sort());
    expect(lines.join('')).toMatch(/5 acknowledged push\(es\) of an earlier run not recorded yet/);
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
  });
});
