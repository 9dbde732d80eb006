import { randomBytes } from 'node:crypto';
import type { RunningConnector } from '@smsgw/smsc-connector/dist/connector';
import type { RunningSimulator } from '@smsgw/smsc-simulator/dist/index';
import { createTestEnv, sleep, startPartnerServer, startSmscPath, waitFor, type PartnerServer, type TestEnv, type Worker } from './harness';

// MO that arrive right after one another reach the partner at once, every time. Through the real
// SMSC simulator and SMPP connector: two or three MO for one partner (one of them concatenated, in
// two segments) 0–50 ms apart, many rounds, each MO at the partner's server within 1 s of being
// sent by the SMSC. Once the connector queued an MO's callback job before the row was committed,
// the worker could run the job first, find no MO and drop it, and the MO waited for the minute's
// sweep; and an MO whose job found another push under way waited up to a second more.
jest.setTimeout(180_000);

const SERVICE_NUMBER = '4570';
const ROUNDS = 50;
const LIMIT_MS = 1_000;

describe.each([1, 2])('MO in quick succession with %i callback worker(s)', (workerCount) => {
  let t: TestEnv;
  let sim: RunningSimulator;
  let connector: RunningConnector;
  let partner: PartnerServer;
  const workers: Worker[] = [];

  beforeAll(async () => {
    t = await createTestEnv();
    partner = await startPartnerServer(() => ({ status: 200, body: '' }));
    const partnerId = await t.createPartner({ mo_url: partner.url('/mo'), login: `mo_quick_${randomBytes(2).toString('hex')}` });
    ({ sim, connector } = await startSmscPath(t, partnerId, SERVICE_NUMBER));
    // The sweep that re-queues MO whose job vanished stays far away: only the normal path counts.
    for (let i = 0; i < workerCount; i++) workers.push(await t.startWorker({ CALLBACK_SWEEP_MS: '600000' }));
  });

  afterAll(async () => {
    await connector?.close();
    await t?.close();
    await sim?.close({ unbind: false });
    await partner?.close();
  });

  it(`${ROUNDS} rounds of two or three MO 0–50 ms apart: each at the partner within ${LIMIT_MS} ms`, async () => {
    const sent = new Map<string, number>();
    const late: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const texts = [`r${round} single`, `r${round} concatenated ${'x'.repeat(170)}`];
      if (round % 2 === 1) texts.push(`r${round} third`);
      for (const [i, text] of texts.entries()) {
        if (i > 0) await sleep(Math.floor(Math.random() * 51));
        sent.set(text, Date.now());
        sim.control.injectMo({ from: `7903555${String(round % 10).padStart(4, '0')}`, to: SERVICE_NUMBER, text });
      }
      await waitFor(
        `round ${round} at the partner`,
        () => texts.every((x) => partner.received.some((r) => r.query.get('message') === x)),
        LIMIT_MS * 10,
        10,
      ).catch(() => undefined);
      for (const text of texts) {
        const got = partner.received.find((r) => r.query.get('message') === text);
        const took = got ? got.at - sent.get(text)! : Infinity;
        if (took > LIMIT_MS) late.push(`round ${round}: "${text.slice(0, 20)}…" after ${took} ms`);
      }
    }
    expect(late).toEqual([]);
    // Each MO pushed once.
    const pushed = partner.received.filter((r) => r.path === '/mo').map((r) => r.query.get('messageId'));
    expect(new Set(pushed).size).toBe(pushed.length);
    expect(pushed.length).toBe(sent.size);
  });
});
