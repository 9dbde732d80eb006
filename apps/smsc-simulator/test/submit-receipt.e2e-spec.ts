import { encodeGsm7Unpacked, encodeUcs2 } from '@smsgw/sms';
import type { RunningSimulator } from '../src/simulator';
import type { SubmitRecord } from '../src/submits/submit-record';
import { api, eventually, messageText, sleep, startTestSimulator, TestEsme, type ReceivedDeliver } from './harness';

const RECEIPT_TEXT = /^id:(\S+) sub:001 dlvrd:(\d{3}) submit date:(\d{10}) done date:(\d{10}) stat:(\w+) err:(\d{3}) text:(.*)$/;

function receiptFields(d: ReceivedDeliver): { id: string; dlvrd: string; stat: string; err: string; text: string } {
  const m = RECEIPT_TEXT.exec(messageText(d.pdu));
  if (!m) throw new Error(`not a receipt text: ${messageText(d.pdu)}`);
  return { id: m[1], dlvrd: m[2], stat: m[5], err: m[6], text: m[7] };
}

describe('submit_sm and delivery receipts', () => {
  let sim: RunningSimulator;
  const esmes: TestEsme[] = [];
  const bound = async (...args: Parameters<typeof TestEsme.bound>): Promise<TestEsme> => {
    const e = await TestEsme.bound(...args);
    esmes.push(e);
    return e;
  };
  const submit = (e: TestEsme, destination: string, text = 'Hello world', extra: Record<string, unknown> = {}) =>
    e.submit({ destination_addr: destination, dest_addr_ton: 1, dest_addr_npi: 1, registered_delivery: 1, short_message: encodeGsm7Unpacked(text), ...extra });

  beforeAll(async () => {
    sim = await startTestSimulator();
  });
  afterEach(async () => {
    await Promise.all(esmes.splice(0).map((e) => e.close()));
    sim.control.reset();
    const { dlrDelayMs, outcomes, tps, window, responseDelayMs, idFormat } = sim.config;
    sim.control.updateSettings({ dlrDelayMs, outcomes, tps, window, responseDelayMs, idFormat });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers with a message id and sends the standard receipt with receipted_message_id and message_state', async () => {
    const e = await bound(sim.smppPort);
    const resp = await submit(e, '79001234567', 'Hello from the test, a long one');
    expect(resp.command_status).toBe(0);
    expect(resp.message_id).toMatch(/^[0-9a-f]+$/);

    const [receipt] = await e.waitForDelivers(1);
    const pdu = receipt.pdu;
    expect(pdu.esm_class).toBe(0x04);
    expect(pdu.source_addr).toBe('79001234567');
    expect(pdu.destination_addr).toBe('TestSender');
    expect(pdu.receipted_message_id).toBe(resp.message_id);
    expect(pdu.message_state).toBe(2);
    expect(receiptFields(receipt)).toEqual({ id: resp.message_id, dlvrd: '001', stat: 'DELIVRD', err: '000', text: 'Hello from the test,' });

    await eventually(async () => {
      const { body } = await api<{ receipts: Record<string, number> }>(sim, 'GET', '/counters');
      expect(body.receipts).toMatchObject({ sent: 1, acked: 1, pending: 0 });
    });
  });

  it('sends no receipt when registered_delivery does not ask for one', async () => {
    const e = await bound(sim.smppPort);
    expect((await submit(e, '79001234567', 'no receipt', { registered_delivery: 0 })).command_status).toBe(0);
    await sleep(150);
    expect(e.delivers).toHaveLength(0);
  });

  it('uses hex in the response and decimal in the receipt text with idFormat mixed', async () => {
    sim.control.updateSettings({ idFormat: 'mixed' });
    const e = await bound(sim.smppPort);
    const resp = await submit(e, '79001234567');
    const [receipt] = await e.waitForDelivers(1);
    expect(receipt.pdu.receipted_message_id).toBe(resp.message_id);
    expect(receiptFields(receipt).id).toBe(BigInt(`0x${resp.message_id}`).toString(10));
  });

  it('follows the magic numbers: 0005 undelivered err 001, 0002 expired, 0000 no final receipt', async () => {
    const e = await bound(sim.smppPort);
    const undeliv = await submit(e, '79001230005');
    const expired = await submit(e, '79001230002');
    const never = await submit(e, '79001230000');
    expect([undeliv, expired, never].map((r) => r.command_status)).toEqual([0, 0, 0]);

    const receipts = await e.waitForDelivers(2);
    const byId = new Map(receipts.map((r) => [r.pdu.receipted_message_id, r]));
    const u = byId.get(undeliv.message_id) as ReceivedDeliver;
    expect(receiptFields(u)).toMatchObject({ stat: 'UNDELIV', err: '001', dlvrd: '000' });
    expect(u.pdu.message_state).toBe(5);
    const x = byId.get(expired.message_id) as ReceivedDeliver;
    expect(receiptFields(x).stat).toBe('EXPIRED');
    expect(x.pdu.message_state).toBe(3);

    await sleep(200);
    expect(e.delivers.some((d) => d.pdu.receipted_message_id === never.message_id)).toBe(false);
  });

  it('applies runtime rules before the magic numbers, with their own delay', async () => {
    const set = await api(sim, 'POST', '/rules', {
      rules: [
        { suffix: '0005', stat: 'DELIVRD' },
        { suffix: '777', stat: 'REJECTD', err: 11, delayMs: 300 },
      ],
    });
    expect(set.status).toBe(200);
    const e = await bound(sim.smppPort);
    const overridden = await submit(e, '79001230005');
    const started = Date.now();
    const rejected = await submit(e, '79001230777');
    const receipts = await e.waitForDelivers(2);
    const byId = new Map(receipts.map((r) => [r.pdu.receipted_message_id, r]));
    expect(receiptFields(byId.get(overridden.message_id) as ReceivedDeliver).stat).toBe('DELIVRD');
    const r = byId.get(rejected.message_id) as ReceivedDeliver;
    expect(receiptFields(r)).toMatchObject({ stat: 'REJECTD', err: '011' });
    expect(r.pdu.message_state).toBe(8);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('draws outcomes from the configured mix, the same way for the same seed', async () => {
    const draw = async (): Promise<string[]> => {
      const s = await startTestSimulator({ seed: 42, outcomes: [{ stat: 'DELIVRD', err: 0, weight: 1 }, { stat: 'UNDELIV', err: 5, weight: 1 }] });
      const e = await TestEsme.bound(s.smppPort);
      try {
        for (let i = 0; i < 20; i++) await submit(e, `7900123${String(i).padStart(4, '1')}`);
        const receipts = await e.waitForDelivers(20);
        const records = s.control.getSubmits();
        const stats = records.map((rec) => receiptFields(receipts.find((r) => r.pdu.receipted_message_id === rec.messageId) as ReceivedDeliver).stat);
        return stats;
      } finally {
        await e.close();
        await s.close();
      }
    };
    const first = await draw();
    expect(new Set(first)).toEqual(new Set(['DELIVRD', 'UNDELIV']));
    expect(await draw()).toEqual(first);
  });

  it('records what was submitted: addresses, coding, UDH, flash, SAR, validity, priority', async () => {
    const e = await bound(sim.smppPort);
    const udh = Buffer.from([0x05, 0x00, 0x03, 0x2a, 0x02, 0x01]);
    const body = encodeUcs2('Привет');
    await e.submit({
      source_addr: '79990001122',
      source_addr_ton: 1,
      source_addr_npi: 1,
      destination_addr: '79001112233',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      esm_class: 0x40,
      data_coding: 0x18,
      priority_flag: 1,
      validity_period: '000001000000000R',
      registered_delivery: 1,
      short_message: Buffer.concat([udh, body]),
    });
    await e.submit({
      destination_addr: '79001112244',
      short_message: encodeGsm7Unpacked('part two'),
      sar_msg_ref_num: 0x1234,
      sar_total_segments: 3,
      sar_segment_seqnum: 2,
      dest_addr_subunit: 1,
    });

    const { body: records } = await api<SubmitRecord[]>(sim, 'GET', '/submits?limit=10');
    expect(records).toHaveLength(2);
    const [ucs2, sar] = records;
    expect(ucs2).toMatchObject({
      sourceAddr: '79990001122',
      sourceAddrTon: 1,
      sourceAddrNpi: 1,
      destinationAddr: '79001112233',
      destAddrTon: 1,
      destAddrNpi: 1,
      esmClass: 0x40,
      dataCoding: 0x18,
      priorityFlag: 1,
      validityPeriod: '000001000000000R',
      registeredDelivery: 1,
      udh: udh.toString('hex'),
      shortMessage: Buffer.concat([udh, body]).toString('hex'),
      text: 'Привет',
      concat: { scheme: 'udh8', reference: 0x2a, total: 2, seq: 1 },
      messageClass: 0,
      flash: true,
      receipt: { stat: 'DELIVRD', err: 0, delayMs: 20 },
    });
    expect(ucs2.messageId).toMatch(/^[0-9a-f]+$/);
    expect(sar).toMatchObject({
      text: 'part two',
      sar: { msgRefNum: 0x1234, totalSegments: 3, segmentSeqnum: 2 },
      concat: { scheme: 'sar', reference: 0x1234, total: 3, seq: 2 },
      destAddrSubunit: 1,
      flash: true,
      receipt: null,
    });
    expect(sar.tlvs).toEqual(expect.arrayContaining([{ tag: '0x020c', value: '1234' }]));

    const filtered = await api<SubmitRecord[]>(sim, 'GET', '/submits?dest=79001112244');
    expect(filtered.body.map((r) => r.destinationAddr)).toEqual(['79001112244']);
  });

  it('answers submits over the TPS limit with ESME_RTHROTTLED and counts them', async () => {
    await api(sim, 'PUT', '/config', { tps: 5 });
    const e = await bound(sim.smppPort);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(e, `7900000${1000 + i}`, 'tps', { registered_delivery: 0 })));
    const statuses = answers.map((a) => a.command_status);
    expect(statuses.filter((s) => s === 0)).toHaveLength(5);
    expect(statuses.filter((s) => s === 0x58)).toHaveLength(7);

    const { body } = await api<{ submits: number; throttled: number }>(sim, 'GET', '/counters');
    expect(body).toMatchObject({ submits: 5, throttled: 7 });

    await sleep(1050);
    expect((await submit(e, '79000002000', 'later', { registered_delivery: 0 })).command_status).toBe(0);
  });

  it('answers submits beyond the window with ESME_RTHROTTLED while answers are delayed', async () => {
    sim.control.updateSettings({ window: 2, responseDelayMs: 300 });
    const e = await bound(sim.smppPort);
    const answers = await Promise.all([1, 2, 3].map((i) => submit(e, `7900000300${i}`, 'window', { registered_delivery: 0 })));
    expect(answers.map((a) => a.command_status).sort()).toEqual([0, 0, 0x58]);
    expect(sim.control.getCounters()).toMatchObject({ throttled: 1, throttledByWindow: 1, submits: 2 });
  });

  it('keeps receipts while no receiver is bound and delivers them when one binds', async () => {
    const tx = await bound(sim.smppPort, 'transmitter');
    const a = await submit(tx, '79001234501');
    const b = await submit(tx, '79001234502');
    await eventually(() => expect(sim.control.getCounters().receipts).toMatchObject({ queued: 2, pending: 2 }));

    const otherSystem = await bound(sim.smppPort, 'receiver', 'other', 'secret');
    await sleep(100);
    expect(otherSystem.delivers).toHaveLength(0);

    const rx = await bound(sim.smppPort, 'receiver');
    const receipts = await rx.waitForDelivers(2);
    expect(receipts.map((r) => r.pdu.receipted_message_id).sort()).toEqual([a.message_id, b.message_id].sort());
    await eventually(() => expect(sim.control.getCounters().receipts).toMatchObject({ queued: 0, pending: 0, acked: 2 }));
  });

  it('spreads receipts over the receivers of a system in turn', async () => {
    const tx = await bound(sim.smppPort, 'transmitter');
    const rx1 = await bound(sim.smppPort, 'receiver');
    const rx2 = await bound(sim.smppPort, 'receiver');
    for (let i = 0; i < 4; i++) await submit(tx, `7900123460${i}`);
    await eventually(() => expect(rx1.delivers.length + rx2.delivers.length).toBe(4));
    expect(rx1.delivers).toHaveLength(2);
    expect(rx2.delivers).toHaveLength(2);
  });

  it('sends a receipt again when the ESME answers deliver_sm with an error', async () => {
    const e = await bound(sim.smppPort);
    let answered = 0;
    e.deliverStatus = () => (answered++ === 0 ? 0x08 : 0);
    const resp = await submit(e, '79001234599');
    const receipts = await e.waitForDelivers(2, () => true, 4000);
    expect(receipts.map((r) => r.pdu.receipted_message_id)).toEqual([resp.message_id, resp.message_id]);
    await eventually(() => expect(sim.control.getCounters().receipts).toMatchObject({ sent: 2, resent: 1, acked: 1, pending: 0 }));
  });

  it('sends a receipt again when the connection closes before the ESME answers', async () => {
    const first = await bound(sim.smppPort);
    first.deliverStatus = () => null;
    const resp = await submit(first, '79001234598');
    await first.waitForDelivers(1);
    await first.close();

    const second = await bound(sim.smppPort);
    const [again] = await second.waitForDelivers(1);
    expect(again.pdu.receipted_message_id).toBe(resp.message_id);
  });
});

describe('giving up on a receipt', () => {
  it('stops after the configured attempts when the ESME never answers', async () => {
    const sim = await startTestSimulator({ deliverResponseTimeoutMs: 100, receiptMaxAttempts: 2 });
    const e = await TestEsme.bound(sim.smppPort);
    try {
      e.deliverStatus = () => null;
      await e.submit({ destination_addr: '79001234597', registered_delivery: 1, short_message: Buffer.from('x') });
      await e.waitForDelivers(2, () => true, 4000);
      await eventually(() => expect(sim.control.getCounters().receipts).toMatchObject({ sent: 2, failed: 1, pending: 0 }), 4000);
      await sleep(1300);
      expect(e.delivers).toHaveLength(2);
    } finally {
      await e.close();
      await sim.close();
    }
  });
});
