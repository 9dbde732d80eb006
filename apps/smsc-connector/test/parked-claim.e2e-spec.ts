import { ReceiptService } from '../src/receipts/receipt.service';
import { eventually, TestEnv } from './harness';

jest.setTimeout(30_000);

/**
 * A parked receipt reached by two paths at once (its segment being recorded, the receipt itself
 * looking again, the content sweep): applied once. The second application looked like the SMSC
 * repeating the receipt and reported the message again.
 */
describe('a parked receipt applied by two paths at once', () => {
  let env: TestEnv;
  let partner: number;
  let connection: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    connection = await env.addConnection({ name: 'parked' });
    partner = await env.createPartner({ status_url: 'http://partner.example/dlr' });
  });
  afterAll(() => env.close());

  const waitingForLocks = async (): Promise<number> =>
    (await env.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]!.n;

  it('finishes the message once and reports it once', async () => {
    const connector = await env.startConnector();
    const receipts = connector.app.get(ReceiptService);
    const numbers = ['79161230001', '79161230002', '79161230003'];
    // No receipt from the SMSC: the test parks one itself.
    env.sim.control.setRules(numbers.map((suffix) => ({ suffix, stat: 'NONE' as const, err: 0 })));
    const ids = await env.send(partner, numbers.map((msisdn) => ({ msisdn })));
    let parts: Array<{ message_id: string; smsc_message_id: string }> = [];
    await eventually(async () => {
      parts = (await env.pool.query<{ message_id: string; smsc_message_id: string }>('SELECT message_id::text, smsc_message_id FROM message_part WHERE message_id = ANY($1::bigint[]) AND smsc_message_id IS NOT NULL', [ids])).rows;
      expect(parts).toHaveLength(ids.length);
    }, 10_000);
    for (const p of parts) {
      await env.pool.query(`INSERT INTO unmatched_receipt (smsc_connection_id, smsc_message_id, stat, err) VALUES ($1, $2, 'DELIVRD', '000')`, [connection, p.smsc_message_id]);
    }
    // Two lookups in flight together, each finding the parked rows before either applies them: the
    // messages are held by this transaction until both wait for them.
    const lock = await env.pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM message WHERE id = ANY($1::bigint[]) FOR UPDATE', [ids]);
      const first = Promise.all(parts.map((p) => receipts.applyParked(connection, p.smsc_message_id, p.message_id, 1)));
      await eventually(async () => expect((await waitingForLocks()) >= 1).toBe(true), 5000);
      // Enough at once for a second run beside the one in progress (Batcher's parallelFrom).
      const second = Promise.all(parts.flatMap((p) => Array.from({ length: 10 }, () => receipts.applyParked(connection, p.smsc_message_id, p.message_id, 1))));
      await eventually(async () => expect((await waitingForLocks()) >= 2).toBe(true), 5000);
      await lock.query('ROLLBACK');
      await Promise.all([first, second]);
    } finally {
      lock.release();
    }
    expect((await env.messages(ids)).map((m) => m.status)).toEqual(ids.map(() => 2));
    const reported = (await env.queuedReports()).map((r) => r.data.messageId).filter((id) => ids.includes(id));
    expect(reported.sort()).toEqual([...ids].sort());
    expect((await env.pool.query('SELECT 1 FROM unmatched_receipt')).rows).toEqual([]);
    await env.stopConnector();
  });
});
