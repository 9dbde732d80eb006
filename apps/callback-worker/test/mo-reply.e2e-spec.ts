import { randomBytes } from 'node:crypto';
import type { RunningConnector } from '@smsgw/smsc-connector/dist/connector';
import type { RunningSimulator } from '@smsgw/smsc-simulator/dist/index';
import { attemptsOf, createTestEnv, startPartnerServer, startSmscPath, waitFor, type PartnerServer, type TestEnv } from './harness';

// PROTOCOL §6 end to end: a subscriber's SMS reaches the SMSC simulator's MO injection, the SMPP
// connector stores it and queues `callback.mo`, this worker pushes it to the partner, the partner
// answers 200 with two CRLF lines, and the two reply messages go the normal MT way: their own ids
// in `message`, `mt.dispatch`, the connector submits them over SMPP from the service number to
// the subscriber, the simulator's receipts make them status 2, and their delivery reports are
// pushed to the partner like any other.
// Generous waits: five components share the CPU here, and a busy machine slows each hop.
jest.setTimeout(90_000);

const SERVICE_NUMBER = '4565';
const SUBSCRIBER = '79035550001';

describe('callback-worker: an MO reply reaches the SMSC', () => {
  let t: TestEnv;
  let sim: RunningSimulator;
  let connector: RunningConnector;
  let partner: PartnerServer;
  let partnerId: number;

  beforeAll(async () => {
    t = await createTestEnv();
    partner = await startPartnerServer((r) =>
      r.path === '/mo' ? { status: 200, body: 'Thanks!\r\nВаш код: 4711\r\n', contentType: 'text/plain; charset=utf-8' } : { status: 200, body: 'OK' },
    );
    partnerId = await t.createPartner({ mo_url: partner.url('/mo'), status_url: partner.url('/dlr'), login: `reply_${randomBytes(2).toString('hex')}` });
    ({ sim, connector } = await startSmscPath(t, partnerId, SERVICE_NUMBER, {
      CONNECTOR_RETRY_BASE_MS: '100',
      CONNECTOR_RETRY_MAX_MS: '800',
      CONNECTOR_SUBMIT_TIMEOUT_MS: '2000',
    }));
    await t.startWorker();
  });

  afterAll(async () => {
    await connector?.close();
    await t?.close();
    await sim?.close({ unbind: false });
    await partner?.close();
  });

  it('sends each CRLF line of the 200 answer as its own message, from the service number, through the SMSC', async () => {
    sim.control.injectMo({ from: SUBSCRIBER, to: SERVICE_NUMBER, text: 'What is my code?' });

    // The partner got the MO, as PROTOCOL §6 says.
    const push = await waitFor('the MO push', () => partner.received.find((r) => r.path === '/mo'), 30_000);
    expect(Object.fromEntries(push.query)).toMatchObject({ clientId: SUBSCRIBER, message: 'What is my code?', shortNumber: SERVICE_NUMBER, sum_sms: '1', mtSent: '0' });
    const moId = push.query.get('messageId')!;

    // Two submit_sm at the SMSC: from the service number, to the subscriber, one per line.
    const submits = await waitFor('two submits at the SMSC', () => {
      const s = sim.control.getSubmits(100, SUBSCRIBER);
      return s.length >= 2 ? s : null;
    }, 30_000);
    expect(submits).toHaveLength(2);
    expect(submits.map((s) => [s.sourceAddr, s.destinationAddr, s.text])).toEqual(
      expect.arrayContaining([
        [SERVICE_NUMBER, SUBSCRIBER, 'Thanks!'],
        [SERVICE_NUMBER, SUBSCRIBER, 'Ваш код: 4711'],
      ]),
    );
    expect(submits.find((s) => s.text === 'Ваш код: 4711')!.dataCoding).toBe(8);

    // Their own message ids, final status 2 from the simulator's receipts.
    const replies = await waitFor('both replies delivered (status 2)', async () => {
      const { rows } = await t.pool.query<{ id: string; text: string; sender: string; msisdn: string; status: number; smsc_connection_id: number | null }>(
        'SELECT id::text, text, sender, msisdn, status, smsc_connection_id FROM message WHERE partner_id = $1 ORDER BY id',
        [partnerId],
      );
      return rows.length === 2 && rows.every((r) => r.status === 2) ? rows : null;
    }, 30_000);
    expect(replies.map((r) => [r.text, r.sender, r.msisdn])).toEqual([
      ['Thanks!', SERVICE_NUMBER, SUBSCRIBER],
      ['Ваш код: 4711', SERVICE_NUMBER, SUBSCRIBER],
    ]);
    expect(new Set(replies.map((r) => r.id)).size).toBe(2);
    expect(replies.every((r) => r.smsc_connection_id !== null)).toBe(true);

    // The MO is acknowledged once, and the replies get delivery reports like any message.
    const { rows: mo } = await t.pool.query<{ callback_done_at: Date | null }>('SELECT callback_done_at FROM mo_message WHERE id = $1', [moId]);
    expect(mo[0]?.callback_done_at).not.toBeNull();
    expect((await attemptsOf(t.pool, { moId })).map((a) => a.http_status)).toEqual([200]);
    const dlrs = await waitFor('delivery reports of both replies', () => {
      const d = partner.received.filter((r) => r.path === '/dlr');
      return d.length >= 2 ? d : null;
    }, 30_000);
    expect(dlrs.map((d) => [d.query.get('transactionId'), d.query.get('status')]).sort()).toEqual(replies.map((r) => [r.id, '2']).sort());
    expect(partner.received.filter((r) => r.path === '/mo')).toHaveLength(1);
  });
});
