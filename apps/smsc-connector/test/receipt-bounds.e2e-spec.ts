import { messageIdFloor } from '@smsgw/db';
import { normalizeSmscId, type ReceiptInfo } from '@smsgw/sms';
import { RECEIPT_LATE_MS, RECEIPT_RECENT_MS, ReceiptService } from '../src/receipts/receipt.service';
import { eventually, TestEnv } from './harness';

jest.setTimeout(30_000);

let numberCounter = 0;
// Numbers ending in 1: never one of the simulator's magic test suffixes.
const nextNumber = (): string => `7904${String(++numberCounter).padStart(6, '0')}1`;

/**
 * A receipt is looked for first among the messages of the last RECEIPT_RECENT_MS (by id: the
 * newest partitions), then, parked, of RECEIPT_LATE_MS, then without bound; whichever finds its
 * segment, it is applied once and nothing stays parked.
 */
describe('receipts for messages of any age', () => {
  let env: TestEnv;
  let partner: number;
  let connection: number;
  let receipts: ReceiptService;
  let smscCounter = 0;

  beforeAll(async () => {
    env = await TestEnv.create();
    connection = await env.addConnection({ name: 'bounds' });
    // The pass over parked receipts soon after they are parked.
    await env.startConnector({ RECEIPT_MATCH_GRACE_MS: '300', RECEIPT_MATCH_INTERVAL_MS: '200' });
    partner = await env.createPartner({ status_url: 'http://partner.example/dlr' });
    receipts = env.connector!.app.get(ReceiptService);
  });
  afterAll(() => env.close());

  /** A one-segment message handed over to the SMSC, with `id` (default: as the ingress draws it); its SMSC id and number. */
  async function handedOver(id?: string): Promise<{ id: string; smscMessageId: string; msisdn: string }> {
    const msisdn = nextNumber();
    if (id === undefined) {
      id = await env.storeMessage(partner, { msisdn });
    } else {
      await env.pool.query(
        `INSERT INTO message (id, partner_id, sender, msisdn, text, encoding, segments, valid_until)
         VALUES ($1, $2, 'TEST', $3, 'hello', 0, 1, now() + interval '1 hour')`,
        [id, partner, msisdn],
      );
    }
    const smscMessageId = `b0${String(++smscCounter).padStart(6, '0')}`;
    await env.pool.query('UPDATE message SET status = 0, smsc_connection_id = $2, submitted_at = now() WHERE id = $1', [id, connection]);
    await env.pool.query('INSERT INTO message_part (message_id, seq, smsc_connection_id, smsc_message_id, submitted_at) VALUES ($1, 1, $2, $3, now())', [
      id,
      connection,
      normalizeSmscId(smscMessageId),
    ]);
    return { id, smscMessageId, msisdn };
  }

  const delivered = (m: { smscMessageId: string; msisdn: string }, withNumber = true): ReceiptInfo => ({
    smscMessageId: m.smscMessageId,
    stat: 'DELIVRD',
    err: '000',
    ...(withNumber ? { msisdn: m.msisdn } : {}),
  });

  const partitionOf = async (id: string): Promise<string> =>
    (await env.pool.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM message WHERE id = $1', [id])).rows[0]!.p;

  const parkedCount = async (): Promise<number> => (await env.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM unmatched_receipt')).rows[0]!.n;

  const expectReported = (ids: string[]): Promise<void> =>
    eventually(async () => {
      const jobs = new Set((await env.queuedReports()).map((j) => j.id));
      expect(ids.filter((id) => !jobs.has(`d${id}-2`))).toEqual([]);
    });

  it('matches a receipt for a message of this week (its partition) at once', async () => {
    const m = await handedOver();
    expect(await partitionOf(m.id)).toMatch(/^message_p\d{8}$/);
    await receipts.onReceipt(connection, 'bounds', delivered(m));
    expect((await env.message(m.id)).status).toBe(2);
    expect(await parkedCount()).toBe(0);
    await expectReported([m.id]);
  });

  it('matches a receipt for a message older than the first lookup looks at when it is parked', async () => {
    // Ten days old: past RECEIPT_RECENT_MS, within RECEIPT_LATE_MS.
    expect(RECEIPT_RECENT_MS).toBeLessThan(10 * 86_400_000);
    expect(RECEIPT_LATE_MS).toBeGreaterThan(10 * 86_400_000);
    const m = await handedOver(String(BigInt(messageIdFloor(Date.now() - 10 * 86_400_000)) + 7n));
    await receipts.onReceipt(connection, 'bounds', delivered(m));
    expect((await env.message(m.id)).status).toBe(2);
    expect(await parkedCount()).toBe(0);
    await expectReported([m.id]);
  });

  it('matches a receipt for a message of before the partitioning (a small id) by the pass over parked receipts', async () => {
    const m = await handedOver('42');
    expect(await partitionOf(m.id)).toBe('message_before');
    await receipts.onReceipt(connection, 'bounds', delivered(m));
    // Parked: only the pass looks at every partition, a grace after the receipt came.
    const [row] = await env.waitFor([m.id], (r) => r.status === 2, 10_000);
    expect(row!.status).toBe(2);
    expect(await parkedCount()).toBe(0);
    await expectReported([m.id]);
  });

  it('matches at once a receipt without the subscriber (which that pass does not look at) for a message of before the partitioning', async () => {
    const m = await handedOver('43');
    await receipts.onReceipt(connection, 'bounds', delivered(m, false));
    expect((await env.message(m.id)).status).toBe(2);
    expect(await parkedCount()).toBe(0);
    await expectReported([m.id]);
  });

  it('loses none of a batch of receipts for messages of every age', async () => {
    const week = await Promise.all([handedOver(), handedOver(), handedOver()]);
    const tenDays = await handedOver(String(BigInt(messageIdFloor(Date.now() - 10 * 86_400_000)) + 11n));
    const old = await Promise.all([handedOver('44'), handedOver('45')]);
    const all = [...week, tenDays, ...old];
    // Concurrent: they share the receipt statements.
    await Promise.all(all.map((m, i) => receipts.onReceipt(connection, 'bounds', delivered(m, i !== all.length - 1))));
    const rows = await env.waitFor(
      all.map((m) => m.id),
      (r) => r.status === 2,
      10_000,
    );
    expect(rows.map((r) => r.status)).toEqual(all.map(() => 2));
    const { rows: parts } = await env.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM message_part WHERE message_id = ANY($1::bigint[]) AND status = 2', [all.map((m) => m.id)]);
    expect(parts[0]!.n).toBe(all.length);
    expect(await parkedCount()).toBe(0);
    await expectReported(all.map((m) => m.id));
  });
});
