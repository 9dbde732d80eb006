import { metricsRegistry } from '@smsgw/common';
import { eventually, sleep, TcpProxy, TestEnv } from './harness';

jest.setTimeout(90_000);

const PG_PORT = (url: string): number => Number(new URL(url).port || 5432);

interface MoRow {
  msisdn: string;
  text: string;
  segments: number;
  complete: boolean;
}

/**
 * Receipts and MO while PostgreSQL is away: the connector reaches it through a relay that the test
 * cuts, and the simulator tries each receipt and each MO once only. Every deliver_sm must still be
 * acknowledged, and applied once the database is back, none twice.
 */
describe('inbound journal: receipts and MO survive a database outage', () => {
  let env: TestEnv;
  let proxy: TcpProxy;
  let partner: number;
  let subscriber = 0;
  const nextMsisdn = (): string => `7916${String(++subscriber).padStart(7, '0')}`;
  const longText = 'A subscriber writes back at length while the database is away, in two parts. '.repeat(3).trim();

  beforeAll(async () => {
    env = await TestEnv.create({ dlrDelayMs: 1200, receiptMaxAttempts: 1 });
    proxy = await TcpProxy.start(PG_PORT(env.db.url));
    await env.addConnection({ name: 'journal' });
    partner = await env.createPartner({ status_url: 'http://partner.example/dlr', mo_url: 'http://partner.example/mo' });
    await env.addServiceNumber('4455', partner);
  });
  afterAll(async () => {
    await env.close();
    await proxy.close();
  });

  async function mos(msisdns: string[]): Promise<MoRow[]> {
    const { rows } = await env.pool.query<MoRow>('SELECT msisdn, text, segments, complete FROM mo_message WHERE msisdn = ANY($1::text[]) ORDER BY id', [msisdns]);
    return rows;
  }

  /** Sends `n` messages and waits until the SMSC took each one (its segment recorded), so that only receipts are left. */
  async function sendAndWaitForSubmits(n: number): Promise<string[]> {
    const ids = await env.send(
      partner,
      Array.from({ length: n }, () => ({ msisdn: nextMsisdn() })),
    );
    await eventually(async () => {
      const { rows } = await env.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM message_part WHERE message_id = ANY($1::bigint[])', [ids]);
      expect(rows[0]!.n).toBe(n);
    }, 15_000);
    return ids;
  }

  it('acknowledges every receipt and MO during the outage and applies each once when the database returns', async () => {
    await env.startConnector({ DATABASE_URL: proxy.url(env.db.url) });
    const before = env.sim.control.getCounters();
    const ids = await sendAndWaitForSubmits(40);

    proxy.down();
    const moFrom = [nextMsisdn(), nextMsisdn(), nextMsisdn()];
    env.sim.control.injectMo({ from: moFrom[0]!, to: '4455', text: 'YES' });
    env.sim.control.injectMo({ from: moFrom[1]!, to: '4455', text: 'NO' });
    env.sim.control.injectMo({ from: moFrom[2]!, to: '4455', text: longText, concat: 'udh8' });
    // Every receipt comes (1.2 s after its submit) while the database is away.
    await eventually(() => {
      const c = env.sim.control.getCounters();
      expect(c.receipts.acked - before.receipts.acked).toBe(40);
      expect(c.mo.acked - before.mo.acked).toBe(4);
    }, 10_000);
    const during = env.sim.control.getCounters();
    expect(during.receipts.failed).toBe(before.receipts.failed);
    expect(during.mo.failed).toBe(before.mo.failed);
    expect((await env.messages(ids)).every((m) => m.status === 0)).toBe(true); // nothing applied yet
    const pending = (await metricsRegistry.getSingleMetric('smsgw_journal_pending')?.get())?.values[0]?.value;
    expect(pending).toBe(44);

    await sleep(1500);
    proxy.up();
    await env.waitFor(ids, undefined, 20_000);
    await eventually(async () => expect(await mos(moFrom)).toHaveLength(3), 10_000);
    const stored = await mos(moFrom);
    expect(stored.map((m) => [m.msisdn, m.segments, m.complete])).toEqual([
      [moFrom[0], 1, true],
      [moFrom[1], 1, true],
      [moFrom[2], 2, true],
    ]);
    expect(stored[2]!.text).toBe(longText);
    // One report per message, one MO callback per MO.
    const reports = (await env.queuedReports()).filter((r) => ids.includes(r.data.messageId));
    expect(reports.map((r) => r.data.messageId).sort()).toEqual([...ids].sort());
    await env.stopConnector();
  });

  it('keeps what it could not apply across a restart and applies it once, in the next process', async () => {
    await env.startConnector({ DATABASE_URL: proxy.url(env.db.url), CONNECTOR_SHUTDOWN_TIMEOUT_MS: '1000' });
    const before = env.sim.control.getCounters();
    const ids = await sendAndWaitForSubmits(20);
    proxy.down();
    const from = nextMsisdn();
    env.sim.control.injectMo({ from, to: '4455', text: 'after the restart' });
    await eventually(() => {
      const c = env.sim.control.getCounters();
      expect(c.receipts.acked - before.receipts.acked).toBe(20);
      expect(c.mo.acked - before.mo.acked).toBe(1);
    }, 10_000);
    // Stopped while the database is still away: the records stay in the journal.
    await env.stopConnector();
    proxy.up();
    expect((await env.messages(ids)).every((m) => m.status === 0)).toBe(true);

    await env.startConnector();
    await env.waitFor(ids, undefined, 20_000);
    await eventually(async () => expect(await mos([from])).toHaveLength(1), 10_000);
    // A second restart applies nothing again.
    await env.stopConnector();
    await env.startConnector();
    await sleep(1000);
    expect(await mos([from])).toHaveLength(1);
    const reports = (await env.queuedReports()).filter((r) => ids.includes(r.data.messageId));
    expect(reports).toHaveLength(20);
    await env.stopConnector();
  });

  it('records from the journal a segment the SMSC accepted while the database was away, and sends nothing twice', async () => {
    await env.startConnector({ DATABASE_URL: proxy.url(env.db.url) });
    const appended = async (): Promise<number> => (await metricsRegistry.getSingleMetric('smsgw_journal_appended_total')!.get()).values.reduce((a, v) => a + v.value, 0);
    const appendedBefore = await appended();
    env.sim.control.updateSettings({ responseDelayMs: 800 });
    const numbers = Array.from({ length: 10 }, () => nextMsisdn());
    const ids = await env.send(partner, numbers.map((msisdn) => ({ msisdn })));
    // Claimed (status 0) means submit_sm is on its way; its answer comes 800 ms later.
    await eventually(async () => expect((await env.messages(ids)).every((m) => m.status === 0)).toBe(true), 10_000);
    proxy.down();
    await eventually(() => expect(env.submitsPerNumber(numbers)).toEqual(numbers.map(() => 1)), 10_000);
    await sleep(2500); // the receipts come (1.2 s after each answer) while the database is still away
    proxy.up();
    env.sim.control.updateSettings({ responseDelayMs: 0 });
    await env.waitFor(ids, undefined, 20_000);
    expect(env.submitsPerNumber(numbers)).toEqual(numbers.map(() => 1));
    const { rows } = await env.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM unmatched_receipt');
    expect(rows[0]!.n).toBe(0);
    // Ten receipts and ten segment records went through the journal.
    expect((await appended()) - appendedBefore).toBe(20);
    // One report per message: the segment's record and its receipt, applied together, each find
    // the other's row, and only one of them may finish the message.
    await sleep(500);
    const reports = (await env.queuedReports()).filter((r) => ids.includes(r.data.messageId)).map((r) => r.data.messageId);
    expect(reports.sort()).toEqual([...ids].sort());
    await env.stopConnector();
  });
});
