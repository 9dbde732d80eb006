import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { acknowledgedCount, createTestEnv, startPartnerServer, waitFor, type PartnerServer, type TestEnv } from './harness';

// The worker as its own process, killed or stopped in the middle of deliveries: every report is
// still delivered (PROTOCOL §5: at-least-once, re-sent after a crash of any component).
jest.setTimeout(40_000);

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');

describe('callback-worker: crash and restart', () => {
  let t: TestEnv;
  let partner: PartnerServer;
  const children = new Set<ChildProcess>();

  const start = (): ChildProcess => {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        ...t.env({ CALLBACK_PARTNER_CONCURRENCY: '8', CALLBACK_TIMEOUT_MS: '2000', CALLBACK_LOCK_MS: '2000', CALLBACK_STALLED_INTERVAL_MS: '500' }),
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  // Nest re-raises the signal after its shutdown hooks ran, so a graceful stop ends "by SIGTERM".
  const exited = (child: ChildProcess) =>
    new Promise<string>((resolve) => {
      const result = () => (child.exitCode !== null ? `exit ${child.exitCode}` : `signal ${child.signalCode}`);
      if (child.exitCode !== null || child.signalCode !== null) resolve(result());
      else child.once('exit', () => resolve(result()));
    });
  const delivered = (ids: string[]) => acknowledgedCount(t.pool, ids);

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} not found: build the app first (npx turbo run build --filter=@smsgw/callback-worker...)`);
    t = await createTestEnv();
    partner = await startPartnerServer(() => ({ status: 200, delayMs: 700 }));
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await partner?.close();
    await t?.close();
  });

  it('delivers every report after the worker is killed mid-delivery and started again', async () => {
    const partnerId = await t.createPartner({ status_url: partner.url('/dlr') });
    const ids = await t.insertMessages(partnerId, 30);
    await t.enqueueDlr(partnerId, ids);

    const first = start();
    await waitFor('requests in flight', () => partner.inFlight >= 8, 15_000);
    const inFlight = partner.received.map((r) => r.query.get('transactionId'));
    first.kill('SIGKILL');
    expect(await exited(first)).toBe('signal SIGKILL');
    // Those requests are answered to nobody: their jobs are left active in Redis, locked by a dead worker.
    expect(await delivered(inFlight as string[])).toBe(0);

    const second = start();
    await waitFor('every report delivered', async () => (await delivered(ids)) === ids.length, 30_000, 200);
    const seen = new Set(partner.received.map((r) => r.query.get('transactionId')));
    expect([...seen].sort()).toEqual([...ids].sort());
    second.kill('SIGTERM');
    expect(await exited(second)).toBe('signal SIGTERM');
  });

  it('finishes the requests in flight on SIGTERM, and the next instance does the rest', async () => {
    const partnerId = await t.createPartner({ status_url: partner.url('/dlr2') });
    const ids = await t.insertMessages(partnerId, 30);
    await t.enqueueDlr(partnerId, ids);
    const at = partner.received.length;

    const first = start();
    await waitFor('requests in flight', () => partner.inFlight >= 8, 15_000);
    first.kill('SIGTERM');
    expect(await exited(first)).toBe('signal SIGTERM');
    const sent = partner.received.slice(at).map((r) => r.query.get('transactionId') as string);
    // Every request it made was answered and recorded before it exited.
    expect(await delivered(sent)).toBe(sent.length);

    start();
    await waitFor('every report delivered', async () => (await delivered(ids)) === ids.length, 20_000, 200);
    // Nothing was sent twice: the stop was graceful.
    expect(partner.received.slice(at).length).toBe(ids.length);
  });
});
