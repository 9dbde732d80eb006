import { smppAbsoluteTime } from '@smsgw/sms';
import { ReceiptService } from '../src/receipts/receipt.service';
import { eventually, type MessageRow, TestEnv } from './harness';

jest.setTimeout(30_000);

/**
 * Every test uses numbers of its own, so the simulator's records can be told apart by destination.
 * They end in 1: never one of the magic test suffixes 0000, 0002, 0005.
 */
let numberCounter = 0;
const nextNumber = (): string => `7903${String(++numberCounter).padStart(6, '0')}1`;

describe('submitting messages to the SMSC', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    await env.addConnection({ name: 'main' });
    await env.startConnector();
    partner = await env.createPartner();
  });
  afterAll(() => env.close());

  const submitsTo = (msisdn: string) => env.sim.control.getSubmits(100, msisdn);

  it('hands over one segment (status 0), then the receipt makes it 2; the submit_sm carries the right fields', async () => {
    const msisdn = nextNumber();
    env.sim.control.setRules([{ suffix: msisdn, stat: 'DELIVRD', err: 0, delayMs: 800 }]);
    const validUntil = new Date(Date.now() + 2 * 3_600_000);
    const [id] = await env.send(partner, [{ msisdn, text: 'Hello @ world', validUntil }]);
    const handedOver = await env.waitFor([id!], (m) => m.status === 0, 5000);
    expect(handedOver[0]).toMatchObject({ status: 0, ext_status: null });
    expect(handedOver[0]!.submitted_at).not.toBeNull();
    const [delivered] = await env.waitFor([id!], (m) => m.status === 2, 5000);
    expect(delivered!.done_at).not.toBeNull();

    const [submit] = submitsTo(msisdn);
    expect(submit).toMatchObject({
      dataCoding: 0,
      esmClass: 0,
      registeredDelivery: 1,
      priorityFlag: 0,
      sourceAddr: 'TEST',
      sourceAddrTon: 5,
      sourceAddrNpi: 0,
      destinationAddr: msisdn,
      destAddrTon: 1,
      destAddrNpi: 1,
      udh: null,
      flash: false,
      validityPeriod: smppAbsoluteTime(validUntil),
      text: 'Hello @ world',
    });
    // GSM 03.38 unpacked: '@' is septet 0x00.
    expect(submit!.shortMessage).toBe(Buffer.from([0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x00, 0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64]).toString('hex'));

    const { rows: parts } = await env.pool.query('SELECT seq, status, smsc_message_id, smsc_connection_id FROM message_part WHERE message_id = $1', [id]);
    expect(parts).toEqual([{ seq: 1, status: 2, smsc_message_id: submit!.messageId, smsc_connection_id: delivered!.smsc_connection_id }]);
  });

  it('splits 161 GSM-7 characters into two segments with one concatenation UDH', async () => {
    const msisdn = nextNumber();
    const text = 'a'.repeat(150) + '0123456789€';
    expect([...text].length).toBe(161);
    const [id] = await env.send(partner, [{ msisdn, text }]);
    await env.waitFor([id!], (m) => m.status === 2);
    const submits = submitsTo(msisdn);
    expect(submits).toHaveLength(2);
    const ref = submits[0]!.concat!.reference;
    expect(submits.map((s) => [s.dataCoding, s.esmClass, s.udh, s.concat?.seq, s.concat?.total])).toEqual([
      [0, 0x40, `050003${hex(ref)}0201`, 1, 2],
      [0, 0x40, `050003${hex(ref)}0202`, 2, 2],
    ]);
    expect(submits.map((s) => s.text).join('')).toBe(text);
    // 153 septets in the first: 150 'a' + '012'; the euro sign takes two septets in the second.
    expect(submits[0]!.text).toBe('a'.repeat(150) + '012');
  });

  it('sends each part a partner sent of its own concatenated message as one segment with the partner\'s header', async () => {
    const msisdn = nextNumber();
    const parts = [
      { text: 'Part one of a long text, ', ref: 0x2a, total: 3, seq: 1 },
      { text: 'part two, ', ref: 0x2a, total: 3, seq: 2 },
      { text: 'и часть три.', ref: 0x2a, total: 3, seq: 3 },
      { text: 'A 16-bit reference', ref: 0x1234, total: 2, seq: 1 },
    ];
    const ids: string[] = [];
    for (const p of parts) {
      const id = await env.storeMessage(partner, { msisdn, text: p.text });
      await env.pool.query('UPDATE message SET concat_ref = $2, concat_total = $3, concat_seq = $4, segments = 1 WHERE id = $1', [id, p.ref, p.total, p.seq]);
      ids.push(id);
    }
    await env.enqueue(partner, ids);
    await env.waitFor(ids, (m) => m.status === 2);
    const submits = submitsTo(msisdn).sort((a, b) => (a.udh! < b.udh! ? -1 : 1));
    expect(submits.map((s) => [s.text, s.esmClass, s.dataCoding, s.udh])).toEqual([
      ['Part one of a long text, ', 0x40, 0, '0500032a0301'],
      ['part two, ', 0x40, 0, '0500032a0302'],
      ['и часть три.', 0x40, 8, '0500032a0303'],
      ['A 16-bit reference', 0x40, 0, '06080412340201'],
    ]);
  });

  it('sends 71 Cyrillic characters as two UCS-2 segments', async () => {
    const msisdn = nextNumber();
    const text = 'Привет'.repeat(12).slice(0, 71);
    const [id] = await env.send(partner, [{ msisdn, text }]);
    await env.waitFor([id!], (m) => m.status === 2);
    const submits = submitsTo(msisdn);
    expect(submits.map((s) => [s.dataCoding, s.esmClass, s.concat?.seq, s.text?.length])).toEqual([
      [8, 0x40, 1, 67],
      [8, 0x40, 2, 4],
    ]);
    expect(submits.map((s) => s.text).join('')).toBe(text);
  });

  it('never splits an emoji (a surrogate pair) across segments', async () => {
    const msisdn = nextNumber();
    const text = 'я'.repeat(66) + '😀' + 'конец';
    const [id] = await env.send(partner, [{ msisdn, text }]);
    await env.waitFor([id!], (m) => m.status === 2);
    const submits = submitsTo(msisdn);
    expect(submits).toHaveLength(2);
    // 66 units + a pair would be 68 > 67: the pair opens the second segment whole.
    expect(submits[0]!.text).toBe('я'.repeat(66));
    expect(submits[1]!.text).toBe('😀конец');
    for (const s of submits) expect(s.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });

  it('sends 8-bit data with its stored data_coding and exactly its octets: whole, split, a partner\'s part, a kept UDH', async () => {
    const [whole, classTwo, long, part, kept] = [nextNumber(), nextNumber(), nextNumber(), nextNumber(), nextNumber()];
    const octets = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));
    const data = Buffer.from([0x00, 0x01, 0x00, 0xfe, 0xff, 0x00]);
    const longData = octets(141);
    // WAP push: port addressing (IE 0x05) kept in front of the data.
    const push = Buffer.from('0605040b8423f0' + '0106040381ea00', 'hex');
    const ids = [
      await env.storeMessage(partner, { msisdn: whole, binary: { data } }),
      await env.storeMessage(partner, { msisdn: classTwo, binary: { data: Buffer.from([0x02, 0x70, 0x00]), encoding: 0xf6 } }),
      await env.storeMessage(partner, { msisdn: long, binary: { data: longData } }),
      await env.storeMessage(partner, { msisdn: part, binary: { data: octets(133) } }),
      await env.storeMessage(partner, { msisdn: kept, binary: { data: push, udhi: true } }),
    ];
    await env.pool.query('UPDATE message SET concat_ref = 300, concat_total = 2, concat_seq = 2, segments = 1 WHERE id = $1', [ids[3]]);
    await env.enqueue(partner, ids);
    await env.waitFor(ids, (m) => m.status === 2);

    expect(submitsTo(whole)).toEqual([expect.objectContaining({ dataCoding: 4, esmClass: 0, udh: null, shortMessage: '000100feff00', text: null })]);
    expect(submitsTo(classTwo)).toEqual([expect.objectContaining({ dataCoding: 0xf6, messageClass: 2, esmClass: 0, shortMessage: '027000' })]);
    const parts = submitsTo(long).sort((a, b) => a.concat!.seq - b.concat!.seq);
    const ref = parts[0]!.concat!.reference;
    expect(parts.map((s) => [s.dataCoding, s.esmClass, s.udh])).toEqual([
      [4, 0x40, `050003${hex(ref)}0201`],
      [4, 0x40, `050003${hex(ref)}0202`],
    ]);
    expect(Buffer.concat(parts.map((s) => Buffer.from(s.shortMessage, 'hex').subarray(6))).equals(longData)).toBe(true);
    // The partner's part with a 16-bit reference: 06 08 04 in front of its 133 octets, 140 in all.
    expect(submitsTo(part)).toEqual([expect.objectContaining({ dataCoding: 4, esmClass: 0x40, udh: '060804012c0202', shortMessage: '060804012c0202' + octets(133).toString('hex') })]);
    expect(submitsTo(kept)).toEqual([expect.objectContaining({ dataCoding: 4, esmClass: 0x40, udh: '0605040b8423f0', shortMessage: push.toString('hex') })]);
  });

  it('sends a flash SMS as message class 0 (data_coding 0x10)', async () => {
    const msisdn = nextNumber();
    const [id] = await env.send(partner, [{ msisdn, text: 'flash!', flash: true }]);
    await env.waitFor([id!], (m) => m.status === 2);
    expect(submitsTo(msisdn)[0]).toMatchObject({ dataCoding: 0x10, flash: true, messageClass: 0 });
  });

  it('sets priority_flag for high priority and the TON/NPI of numeric senders', async () => {
    const [a, b] = [nextNumber(), nextNumber()];
    const ids = await env.send(partner, [
      { msisdn: a, sender: '7788', priority: 2 },
      { msisdn: b, sender: '+79001234567', priority: 0 },
    ]);
    await env.waitFor(ids);
    expect(submitsTo(a)[0]).toMatchObject({ priorityFlag: 1, sourceAddr: '7788', sourceAddrTon: 3, sourceAddrNpi: 0 });
    expect(submitsTo(b)[0]).toMatchObject({ priorityFlag: 0, sourceAddr: '79001234567', sourceAddrTon: 1, sourceAddrNpi: 1 });
  });

  it('maps every receipt state onto the documented status and unifiedExtStatus', async () => {
    const cases: Array<{ stat: 'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD' | 'DELETED' | 'UNKNOWN'; err: number; expect: [number, number | null] }> = [
      { stat: 'DELIVRD', err: 0, expect: [2, null] },
      { stat: 'UNDELIV', err: 1, expect: [5, 8] }, // unknown subscriber → invalid number
      { stat: 'UNDELIV', err: 27, expect: [5, 2] }, // absent subscriber → handset off
      { stat: 'UNDELIV', err: 13, expect: [5, 3] }, // call barred → blocked
      { stat: 'UNDELIV', err: 11, expect: [5, 6] }, // teleservice not provisioned → no SMS service
      { stat: 'UNDELIV', err: 33, expect: [5, 5] }, // memory capacity exceeded → memory full
      { stat: 'UNDELIV', err: 34, expect: [5, 7] }, // system failure → network not responding
      { stat: 'UNDELIV', err: 32, expect: [5, 4] }, // delivery failure → transport error
      { stat: 'UNDELIV', err: 999, expect: [5, 1] }, // unknown code → unknown error
      { stat: 'EXPIRED', err: 0, expect: [5, 2] },
      { stat: 'REJECTD', err: 0, expect: [5, 15] },
      { stat: 'DELETED', err: 0, expect: [5, 1] },
      { stat: 'UNKNOWN', err: 0, expect: [5, 1] },
    ];
    const numbers = cases.map(() => nextNumber());
    env.sim.control.setRules(cases.map((c, i) => ({ suffix: numbers[i]!, stat: c.stat, err: c.err })));
    const ids = await env.send(
      partner,
      numbers.map((msisdn) => ({ msisdn })),
    );
    const rows = await env.waitFor(ids);
    expect(rows.map((r) => [r.status, r.ext_status])).toEqual(cases.map((c) => c.expect));
  });

  it('a multi-segment message is delivered when every segment is, and undelivered as soon as one is not', async () => {
    const ok = nextNumber();
    const bad = nextNumber();
    // Rules match a destination, so every segment of the second message fails.
    env.sim.control.setRules([{ suffix: bad, stat: 'UNDELIV', err: 27 }]);
    const ids = await env.send(partner, [
      { msisdn: ok, text: 'b'.repeat(400) },
      { msisdn: bad, text: 'c'.repeat(400) },
    ]);
    const rows = await env.waitFor(ids);
    expect(rows.map((r) => [r.status, r.ext_status])).toEqual([
      [2, null],
      [5, 2],
    ]);
    const { rows: parts } = await env.pool.query('SELECT message_id::text, seq, status FROM message_part WHERE message_id = ANY($1::bigint[]) ORDER BY 1, 2', [ids]);
    expect(parts.filter((p) => p.message_id === ids[0]).map((p) => p.status)).toEqual([2, 2, 2]);
  });

  it('a permanent submit error ends the message 5/15 and reports it', async () => {
    const reporting = await env.createPartner({ status_url: 'http://partner.example/dlr' });
    // An empty destination is refused by the SMSC with ESME_RINVDSTADR (0x0B).
    const [id] = await env.send(reporting, [{ msisdn: '' }]);
    const [row] = await env.waitFor([id!]);
    expect(row).toMatchObject({ status: 5, ext_status: 15 });
    expect(row!.done_at).not.toBeNull();
    await eventually(async () => {
      const jobs = await env.queuedReports();
      expect(jobs.find((j) => j.id === `d${id}-5`)?.data).toEqual({ messageId: id, partnerId: reporting, status: 5 });
    });
  });

  it('reports status 0 and then the final status to a partner with intermediate reports', async () => {
    const reporting = await env.createPartner({ status_url: 'http://partner.example/dlr', intermediate_reports: true });
    const quiet = await env.createPartner({ status_url: 'http://partner.example/dlr' });
    const [a] = await env.send(reporting, [{ msisdn: nextNumber() }]);
    const [b] = await env.send(quiet, [{ msisdn: nextNumber() }]);
    await env.waitFor([a!, b!]);
    await eventually(async () => {
      const ids = (await env.queuedReports()).map((j) => j.id);
      expect(ids).toEqual(expect.arrayContaining([`d${a}-0`, `d${a}-2`, `d${b}-2`]));
      expect(ids).not.toContain(`d${b}-0`);
    });
  });

  it('does not report to a partner without a status URL', async () => {
    const [id] = await env.send(partner, [{ msisdn: nextNumber() }]);
    await env.waitFor([id!]);
    await new Promise((r) => setTimeout(r, 100));
    expect((await env.queuedReports()).map((j) => j.id).filter((j) => j.startsWith(`d${id}-`))).toEqual([]);
  });

  it('a job run twice changes nothing and sends nothing again', async () => {
    const msisdn = nextNumber();
    const [id] = await env.send(partner, [{ msisdn, text: 'd'.repeat(200) }]);
    await env.waitFor([id!]);
    const before = await env.message(id!);
    await env.enqueue(partner, [id!]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await env.message(id!)).toEqual(before);
    expect(submitsTo(msisdn)).toHaveLength(2);
  });
});

describe('receipts that overtake the submit response', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    // Receipts at once, and in decimal while the responses are hex: the receipt often arrives
    // before the segment is recorded, and has to be matched through the other id form.
    env = await TestEnv.create({ dlrDelayMs: 0, idFormat: 'mixed' });
    await env.addConnection({ name: 'fast-receipts' });
    await env.startConnector();
    partner = await env.createPartner({ status_url: 'http://partner.example/dlr' });
  });
  afterAll(() => env.close());

  it('are parked and applied when the segment is recorded: every message is delivered, none left over', async () => {
    const messages = Array.from({ length: 60 }, (_, i) => ({ msisdn: nextNumber(), text: i % 3 === 0 ? 'x'.repeat(300) : 'short' }));
    const ids = await env.send(partner, messages);
    const rows: MessageRow[] = await env.waitFor(ids, (m) => m.status === 2, 20_000);
    expect(rows.every((r) => r.status === 2)).toBe(true);
    const { rows: left } = await env.pool.query('SELECT count(*)::int AS n FROM unmatched_receipt');
    expect(left[0].n).toBe(0);
    await eventually(async () => {
      const jobs = new Set((await env.queuedReports()).map((j) => j.id));
      expect(ids.filter((id) => !jobs.has(`d${id}-2`))).toEqual([]);
    });
  });
});

describe('a receipt that comes before its segment is recorded', () => {
  let env: TestEnv;
  let partner: number;
  let connection: number;

  beforeAll(async () => {
    env = await TestEnv.create({ idFormat: 'mixed' });
    connection = await env.addConnection({ name: 'parked' });
    await env.startConnector();
    partner = await env.createPartner({ status_url: 'http://partner.example/dlr' });
  });
  afterAll(() => env.close());

  it('is parked in unmatched_receipt, then applied when the submit response is recorded', async () => {
    // The simulator numbers its message ids one after another: learn the next one.
    const [first] = await env.send(partner, [{ msisdn: nextNumber() }]);
    await env.waitFor([first!]);
    const lastId = BigInt('0x' + env.sim.control.getSubmits(1)[0]!.messageId);
    const nextDecimal = String(lastId + 1n);

    // Its receipt (decimal, as this SMSC writes receipts) arrives before the submit.
    const receipts = env.connector!.app.get(ReceiptService);
    await receipts.onReceipt(connection, 'parked', { smscMessageId: nextDecimal, stat: 'UNDELIV', err: '001' });
    const { rows: parked } = await env.pool.query('SELECT smsc_message_id, stat FROM unmatched_receipt');
    expect(parked).toEqual([{ smsc_message_id: nextDecimal, stat: 'UNDELIV' }]);

    const msisdn = nextNumber();
    env.sim.control.setRules([{ suffix: msisdn, stat: 'DELIVRD', err: 0, delayMs: 60_000 }]);
    const [id] = await env.send(partner, [{ msisdn }]);
    const [row] = await env.waitFor([id!], undefined, 5000);
    expect(row).toMatchObject({ status: 5, ext_status: 8 });
    expect(env.sim.control.getSubmits(1)[0]!.messageId).toBe((lastId + 1n).toString(16));
    const { rows: left } = await env.pool.query('SELECT count(*)::int AS n FROM unmatched_receipt');
    expect(left[0].n).toBe(0);
    await eventually(async () => expect((await env.queuedReports()).map((j) => j.id)).toContain(`d${id}-5`));
  });
});

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
