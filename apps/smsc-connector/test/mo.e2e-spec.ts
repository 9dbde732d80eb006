import { connectorMetrics } from '../src/metrics';
import { eventually, sleep, TestEnv } from './harness';

jest.setTimeout(30_000);

interface MoRow {
  id: string;
  partner_id: number | null;
  msisdn: string;
  service_number: string;
  text: string;
  segments: number;
  complete: boolean;
  smsc_connection_id: number | null;
}

let subscriberCounter = 0;
const nextSubscriber = (): string => `7905${String(++subscriberCounter).padStart(6, '0')}1`;

async function mosFrom(env: TestEnv, msisdn: string, count = 1): Promise<MoRow[]> {
  let rows: MoRow[] = [];
  await eventually(async () => {
    rows = (
      await env.pool.query<MoRow>(
        'SELECT id::text, partner_id, msisdn, service_number, text, segments, complete, smsc_connection_id FROM mo_message WHERE msisdn = $1 ORDER BY id',
        [msisdn],
      )
    ).rows;
    expect(rows).toHaveLength(count);
  }, 5000);
  return rows;
}

const unownedCount = async (): Promise<number> => (await connectorMetrics.moUnowned.get()).values[0]?.value ?? 0;

describe('MO (subscribers\' messages)', () => {
  let env: TestEnv;
  let owner: number;
  let silent: number;
  let connection: number;
  const longGsm = 'Reply from the subscriber, long enough to need three segments. '.repeat(6).trim();
  const longCyrillic = 'Ответ абонента, которому нужно несколько сегментов. '.repeat(3).trim();

  beforeAll(async () => {
    env = await TestEnv.create();
    connection = await env.addConnection({ name: 'mo' });
    await env.startConnector();
    owner = await env.createPartner({ mo_url: 'http://partner.example/mo' });
    silent = await env.createPartner();
    await env.addServiceNumber('4444', owner);
    await env.addServiceNumber('79990001122', owner);
    await env.addServiceNumber('5555', silent);
  });
  afterAll(() => env.close());

  it('stores a single MO for the owner of the service number and queues its callback', async () => {
    const from = nextSubscriber();
    env.sim.control.injectMo({ from: `+${from}`, to: '4444', text: 'STOP @ once' });
    const [mo] = await mosFrom(env, from);
    expect(mo).toEqual({
      id: expect.any(String),
      partner_id: owner,
      msisdn: from,
      service_number: '4444',
      text: 'STOP @ once',
      segments: 1,
      complete: true,
      smsc_connection_id: connection,
    });
    await eventually(async () => {
      const job = (await env.queuedJobs('callback.mo')).find((j) => j.id === `mo${mo!.id}`);
      expect(job?.data).toEqual({ moId: mo!.id, partnerId: owner });
    });
  });

  it('finds the owner of a long number sent with its plus', async () => {
    const from = nextSubscriber();
    env.sim.control.injectMo({ from, to: '+79990001122', text: 'hi' });
    const [mo] = await mosFrom(env, from);
    expect(mo).toMatchObject({ partner_id: owner, service_number: '79990001122', text: 'hi' });
  });

  it.each([
    ['8-bit UDH', 'udh8' as const, false],
    ['16-bit UDH', 'udh16' as const, false],
    ['SAR TLVs', 'sar' as const, false],
    ['8-bit UDH, segments out of order', 'udh8' as const, true],
    ['SAR TLVs, segments out of order', 'sar' as const, true],
  ])('reassembles a concatenated MO (%s)', async (_label, concat, outOfOrder) => {
    const from = nextSubscriber();
    const sent = env.sim.control.injectMo({ from, to: '4444', text: longGsm, concat, outOfOrder });
    expect(sent.segments).toBe(3);
    const [mo] = await mosFrom(env, from);
    expect(mo).toMatchObject({ partner_id: owner, text: longGsm, segments: 3, complete: true });
    await eventually(async () => expect((await env.queuedJobs('callback.mo')).map((j) => j.id)).toContain(`mo${mo!.id}`));
  });

  it('reassembles a concatenated UCS-2 MO', async () => {
    const from = nextSubscriber();
    const sent = env.sim.control.injectMo({ from, to: '4444', text: longCyrillic, concat: 'udh16', outOfOrder: true });
    expect(sent.segments).toBeGreaterThan(1);
    const [mo] = await mosFrom(env, from);
    expect(mo).toMatchObject({ text: longCyrillic, segments: sent.segments, complete: true });
  });

  it('keeps two concatenated MO from one subscriber apart', async () => {
    const from = nextSubscriber();
    env.sim.control.injectMo({ from, to: '4444', text: longGsm, concat: 'udh8' });
    env.sim.control.injectMo({ from, to: '4444', text: longCyrillic, concat: 'udh8' });
    const rows = await mosFrom(env, from, 2);
    expect(rows.map((r) => r.text).sort()).toEqual([longGsm, longCyrillic].sort());
  });

  it('stores an incomplete MO as received after the reassembly timeout', async () => {
    const from = nextSubscriber();
    env.sim.control.injectMo({ from, to: '4444', text: longGsm, concat: 'sar', dropSegment: 2 });
    await sleep(200);
    const { rows: early } = await env.pool.query('SELECT 1 FROM mo_message WHERE msisdn = $1', [from]);
    expect(early).toEqual([]);
    const [mo] = await mosFrom(env, from);
    expect(mo).toMatchObject({ partner_id: owner, segments: 2, complete: false });
    expect(longGsm.startsWith(mo!.text.slice(0, 153))).toBe(true);
    expect(longGsm.endsWith(mo!.text.slice(153))).toBe(true);
  });

  it('stores an MO to a number nobody owns with partner_id null, counts it, and queues no callback', async () => {
    const before = await unownedCount();
    const from = nextSubscriber();
    env.sim.control.injectMo({ from, to: '1234', text: 'who is this?' });
    const [mo] = await mosFrom(env, from);
    expect(mo).toMatchObject({ partner_id: null, service_number: '1234', text: 'who is this?', complete: true });
    expect(await unownedCount()).toBe(before + 1);
    expect((await env.queuedJobs('callback.mo')).map((j) => j.id)).not.toContain(`mo${mo!.id}`);
  });

  it('stores an MO for an owner without an MO URL, with no callback', async () => {
    const from = nextSubscriber();
    env.sim.control.injectMo({ from, to: '5555', text: 'quiet' });
    const [mo] = await mosFrom(env, from);
    expect(mo).toMatchObject({ partner_id: silent, text: 'quiet' });
    await sleep(100);
    expect((await env.queuedJobs('callback.mo')).map((j) => j.id)).not.toContain(`mo${mo!.id}`);
  });

  it('acknowledges every segment', async () => {
    await eventually(() => {
      const { mo } = env.sim.control.getCounters();
      expect(mo.acked).toBe(mo.segments);
      expect(mo.failed).toBe(0);
    });
  });
});

describe('MO segments held at shutdown', () => {
  let env: TestEnv;
  let owner: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    await env.addConnection({ name: 'mo-shutdown' });
    await env.startConnector({ MO_REASSEMBLY_TIMEOUT_MS: '60000' });
    owner = await env.createPartner({ mo_url: 'http://partner.example/mo' });
    await env.addServiceNumber('4444', owner);
  });
  afterAll(() => env.close());

  it('are stored as an incomplete MO when the connector stops', async () => {
    const from = nextSubscriber();
    env.sim.control.injectMo({ from, to: '4444', text: 'x'.repeat(400), concat: 'udh8', dropSegment: 3 });
    await eventually(() => expect(env.sim.control.getCounters().mo.acked).toBe(2));
    await env.stopConnector();
    const [mo] = await mosFrom(env, from);
    expect(mo).toMatchObject({ partner_id: owner, text: 'x'.repeat(306), segments: 2, complete: false });
  });
});
