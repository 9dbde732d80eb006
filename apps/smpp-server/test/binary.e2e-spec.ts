import { encodePdu, SmppStatus, Tag, type Pdu, type PduInput } from '@smsgw/sms';
import { rawSession, startTestSmppServer, type TestSmppServer } from './harness';
import { startPlatform, type Platform } from './platform';

const unhex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** `n` octets 0x00, 0x01, … 0xff, 0x00, …: every value, NUL included. */
const octets = (n: number, from = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));
/** WAP push: a UDH with application port addressing, 16-bit (IE 0x05: to port 2948 from 9200). */
const WAP_UDH = unhex('06 05 04 0b 84 23 f0');
/** The start of a WSP push PDU (a Service Indication), NUL octets included. */
const WSP_PUSH = unhex('01 06 04 03 ae 81 ea 02 05 6a 00 45 c6 0c 03 00 01');

interface StoredRow {
  id: string;
  text: string;
  encoding: number;
  segments: number;
  flash: boolean;
  udhi: boolean;
  status: number;
  concat_ref: number | null;
  concat_total: number | null;
  concat_seq: number | null;
}

async function bound(t: TestSmppServer, login: string) {
  const s = await rawSession(t.server.smppPort);
  s.write(encodePdu({ command: 'bind_transmitter', sequence: 1, params: { system_id: login, password: 's3cret!', interface_version: 0x34 } }));
  expect(await s.next()).toMatchObject({ status: 0 });
  let sequence = 1;
  const request = async (pdu: Omit<PduInput, 'sequence'>): Promise<Pdu> => {
    s.write(encodePdu({ ...pdu, sequence: ++sequence }));
    const resp = await s.next();
    expect(resp).toMatchObject({ sequence });
    return resp!;
  };
  const submit = async (params: NonNullable<PduInput['params']>, tlvs: PduInput['tlvs'] = []) => {
    const resp = await request({ command: 'submit_sm', params: { source_addr_ton: 5, source_addr: 'BANK', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567', data_coding: 4, ...params }, tlvs });
    expect(resp.command).toBe('submit_sm_resp');
    return { status: resp.status, messageId: resp.params.message_id as string | undefined };
  };
  return { submit, request, session: s };
}

describe('smpp-server: 8-bit data (data_coding 4 and the 8-bit coding groups)', () => {
  let t: TestSmppServer;

  beforeAll(async () => {
    t = await startTestSmppServer();
    await t.partner('bank', 's3cret!', { senders: ['BANK'], rate_limit: 1000 });
  });
  afterAll(async () => {
    await t?.close();
  });

  const stored = async (id: string): Promise<StoredRow> => {
    const { rows } = await t.pool.query<StoredRow>('SELECT id::text, text, encoding, segments, flash, udhi, status, concat_ref, concat_total, concat_seq FROM message WHERE id = $1', [id]);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };

  it('stores short 8-bit data, NUL octets included, as lowercase hex with encoding 4', async () => {
    const { submit, session } = await bound(t, 'bank');
    const data = unhex('00 01 ff 00 7f 80 00');
    const r = await submit({ short_message: data });
    expect(r.status).toBe(0);
    expect(await stored(r.messageId!)).toMatchObject({ text: '0001ff007f8000', encoding: 4, segments: 1, flash: false, udhi: false, concat_ref: null, status: 1 });
    // data_coding 2 is the same "octet unspecified": stored as 4. 140 octets are still one SMS.
    const two = await submit({ data_coding: 2, short_message: octets(140) });
    expect(await stored(two.messageId!)).toMatchObject({ text: octets(140).toString('hex'), encoding: 4, segments: 1 });
    session.close();
  });

  it('keeps the partner\'s 8-bit coding group value (its message class) as the encoding', async () => {
    const { submit, session } = await bound(t, 'bank');
    const cases: [number, boolean][] = [
      [0xf4, true], // class 0: flash
      [0xf5, false],
      [0xf6, false], // class 2: to the SIM
      [0xf7, false],
      [0x15, false],
    ];
    for (const [dc, flash] of cases) {
      const r = await submit({ data_coding: dc, short_message: unhex('02 70 00') });
      expect({ dc, status: r.status }).toEqual({ dc, status: 0 });
      expect(await stored(r.messageId!)).toMatchObject({ text: '027000', encoding: dc, flash, segments: 1 });
    }
    session.close();
  });

  it('counts the segments of long 8-bit data in message_payload (134 octets a part), up to 1,340 octets', async () => {
    const { submit, request, session } = await bound(t, 'bank');
    const long = await submit({ short_message: Buffer.alloc(0) }, [{ tag: Tag.message_payload, value: octets(300) }]);
    expect(long.status).toBe(0);
    expect(await stored(long.messageId!)).toMatchObject({ text: octets(300).toString('hex'), encoding: 4, segments: 3 });
    const most = await submit({ short_message: Buffer.alloc(0) }, [{ tag: Tag.message_payload, value: octets(1340) }]);
    expect(await stored(most.messageId!)).toMatchObject({ segments: 10 });
    expect((await submit({ short_message: Buffer.alloc(0) }, [{ tag: Tag.message_payload, value: octets(1341) }])).status).toBe(SmppStatus.ESME_RINVMSGLEN);
    // data_sm: the data in message_payload.
    const dataSm = await request({ command: 'data_sm', params: { source_addr_ton: 5, source_addr: 'BANK', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567', data_coding: 4 }, tlvs: [{ tag: Tag.message_payload, value: octets(141) }] });
    expect(dataSm).toMatchObject({ command: 'data_sm_resp', status: 0 });
    expect(await stored(dataSm.params.message_id as string)).toMatchObject({ encoding: 4, segments: 2 });
    session.close();
  });

  it('keeps a UDH that is not only a concatenation header (WAP push): the whole user data, flagged udhi', async () => {
    const { submit, session } = await bound(t, 'bank');
    const push = Buffer.concat([WAP_UDH, WSP_PUSH]);
    const r = await submit({ esm_class: 0x40, short_message: push });
    expect(r.status).toBe(0);
    expect(await stored(r.messageId!)).toMatchObject({ text: push.toString('hex'), encoding: 4, segments: 1, udhi: true, concat_ref: null });

    // Port addressing and a concatenation element: kept as it is, and the part is recorded.
    const partUdh = unhex('0b 05 04 0b 84 23 f0 00 03 2a 02 01');
    const part = await submit({ esm_class: 0x40, short_message: Buffer.concat([partUdh, octets(128)]) });
    expect(part.status).toBe(0);
    expect(await stored(part.messageId!)).toMatchObject({ text: Buffer.concat([partUdh, octets(128)]).toString('hex'), udhi: true, segments: 1, concat_ref: 0x2a, concat_total: 2, concat_seq: 1 });

    // Port addressing with the SAR TLVs: their concatenation element joins the kept UDH.
    const sar = [
      { tag: Tag.sar_msg_ref_num, value: unhex('01 2c') },
      { tag: Tag.sar_total_segments, value: unhex('02') },
      { tag: Tag.sar_segment_seqnum, value: unhex('02') },
    ];
    const sarPart = await submit({ esm_class: 0x40, short_message: Buffer.concat([WAP_UDH, unhex('00 aa')]) }, sar);
    expect(sarPart.status).toBe(0);
    expect(await stored(sarPart.messageId!)).toMatchObject({ text: '0c' + '05040b8423f0' + '0804012c0202' + '00aa', udhi: true, concat_ref: 300, concat_total: 2, concat_seq: 2 });

    // The kept UDH and its data must fit one SMS: 140 octets.
    expect((await submit({ esm_class: 0x40, short_message: Buffer.concat([WAP_UDH, octets(133)]) })).status).toBe(0);
    expect((await submit({ short_message: Buffer.alloc(0), esm_class: 0x40 }, [{ tag: Tag.message_payload, value: Buffer.concat([WAP_UDH, octets(134)]) }])).status).toBe(SmppStatus.ESME_RINVMSGLEN);
    session.close();
  });

  it('stores a part of 8-bit data the partner cut itself (UDH or SAR) without its header, in the concat columns', async () => {
    const { submit, session } = await bound(t, 'bank');
    const udh = (ref: number, total: number, seq: number) => Buffer.from([5, 0, 3, ref, total, seq]);
    const first = await submit({ esm_class: 0x40, short_message: Buffer.concat([udh(9, 2, 1), octets(134)]) });
    const second = await submit({ esm_class: 0x40, short_message: Buffer.concat([udh(9, 2, 2), unhex('00 00 01')]) });
    const sar = [
      { tag: Tag.sar_msg_ref_num, value: unhex('12 34') },
      { tag: Tag.sar_total_segments, value: unhex('03') },
      { tag: Tag.sar_segment_seqnum, value: unhex('03') },
    ];
    const sarPart = await submit({ short_message: octets(133) }, sar);
    for (const r of [first, second, sarPart]) expect(r.status).toBe(0);
    expect(await stored(first.messageId!)).toMatchObject({ text: octets(134).toString('hex'), encoding: 4, segments: 1, udhi: false, concat_ref: 9, concat_total: 2, concat_seq: 1 });
    expect(await stored(second.messageId!)).toMatchObject({ text: '000001', segments: 1, udhi: false, concat_ref: 9, concat_total: 2, concat_seq: 2 });
    expect(await stored(sarPart.messageId!)).toMatchObject({ text: octets(133).toString('hex'), concat_ref: 0x1234, concat_total: 3, concat_seq: 3 });
    // Behind the header, a part holds 134 octets (133 with a 16-bit reference).
    expect((await submit({ esm_class: 0x40, short_message: Buffer.concat([udh(9, 2, 1), octets(135)]) })).status).toBe(SmppStatus.ESME_RINVMSGLEN);
    expect((await submit({ short_message: octets(134) }, sar)).status).toBe(SmppStatus.ESME_RINVMSGLEN);
    session.close();
  });

  it('refuses what it cannot send, and stores nothing', async () => {
    const { rows: [before] } = await t.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message');
    const { submit, session } = await bound(t, 'bank');
    const cases: [string, NonNullable<PduInput['params']>, PduInput['tlvs'], number][] = [
      ['empty 8-bit data', { short_message: Buffer.alloc(0) }, [], SmppStatus.ESME_RINVMSGLEN],
      ['a UDH running past the end', { esm_class: 0x40, short_message: unhex('09 05 04 0b 84') }, [], SmppStatus.ESME_RINVMSGLEN],
      ['a flash (class 0) message longer than one SMS', { data_coding: 0xf4, short_message: Buffer.alloc(0) }, [{ tag: Tag.message_payload, value: octets(141) }], SmppStatus.ESME_RINVMSGLEN],
      ['a compressed coding group', { data_coding: 0x24, short_message: octets(3) }, [], SmppStatus.ESME_RSUBMITFAIL],
      ['a reserved alphabet', { data_coding: 0x1c, short_message: octets(3) }, [], SmppStatus.ESME_RSUBMITFAIL],
    ];
    for (const [what, params, tlvs, status] of cases) expect({ what, status: (await submit(params, tlvs)).status }).toEqual({ what, status });
    const { rows: [after] } = await t.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message');
    expect(after!.n).toBe(before!.n);
    session.close();
  });

  it('answers query_sm and cancel_sm for 8-bit data as for a text', async () => {
    await t.partner('later', 's3cret!', { senders: ['BANK'], postponed_enabled: true, postponed_horizon_days: 7 });
    const { submit, request, session } = await bound(t, 'later');
    const held = await submit({ short_message: unhex('00 ff 00'), schedule_delivery_time: '000000010000000R' });
    expect(held.status).toBe(0);
    const query = await request({ command: 'query_sm', params: { message_id: held.messageId, source_addr: 'BANK' } });
    expect(query).toMatchObject({ command: 'query_sm_resp', status: 0, params: { message_id: held.messageId, message_state: 1 } });
    expect(await request({ command: 'cancel_sm', params: { message_id: held.messageId, source_addr: 'BANK' } })).toMatchObject({ command: 'cancel_sm_resp', status: 0 });
    expect((await request({ command: 'query_sm', params: { message_id: held.messageId, source_addr: 'BANK' } })).params.message_state).toBe(4);
    session.close();
  });
});

/**
 * Through the whole platform: the SMPP server stores the 8-bit data, the connector sends it to the
 * SMSC simulator with its data_coding and octets, and the receipt comes back over the bind.
 */
describe('smpp-server: 8-bit data end to end', () => {
  let t: TestSmppServer;
  let platform: Platform;

  beforeAll(async () => {
    t = await startTestSmppServer();
    platform = await startPlatform(t);
    await t.partner('bank', 's3cret!', { senders: ['BANK'], rate_limit: 1000, status_url: 'smpp:' });
  });
  afterAll(async () => {
    await platform?.close();
    await t?.close();
  });

  const delivered = async (ids: string[]): Promise<void> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { rows } = await t.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message WHERE id = ANY($1::bigint[]) AND status = 2', [ids]);
      if (rows[0]!.n === String(ids.length)) return;
      if (Date.now() > deadline) throw new Error(`${ids.length - Number(rows[0]!.n)} message(s) not delivered in time`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // Numbers end in 1: the simulator fails those ending 0002 and 0005.
  const submitsTo = (msisdn: string) => platform.sim.control.getSubmits(100, msisdn).sort((a, b) => (a.shortMessage < b.shortMessage ? -1 : 1));

  it('the SMSC gets exactly the octets with data_coding 4 (or the partner\'s class form), split or with the partner\'s UDH', async () => {
    const { submit, session } = await bound(t, 'bank');
    const short = unhex('00 01 02 00 fe ff');
    const push = Buffer.concat([WAP_UDH, WSP_PUSH]);
    const long = octets(300, 7);
    const sent = {
      short: await submit({ destination_addr: '79161230101', short_message: short }),
      simClass: await submit({ destination_addr: '79161230201', data_coding: 0xf6, short_message: unhex('02 70 00 00') }),
      push: await submit({ destination_addr: '79161230301', esm_class: 0x40, short_message: push }),
      long: await submit({ destination_addr: '79161230401', short_message: Buffer.alloc(0) }, [{ tag: Tag.message_payload, value: long }]),
      part: await submit({ destination_addr: '79161230501', esm_class: 0x40, short_message: Buffer.concat([unhex('05 00 03 5a 02 02'), unhex('00 00 00')]) }),
    };
    for (const r of Object.values(sent)) expect(r.status).toBe(0);
    await delivered(Object.values(sent).map((r) => r.messageId!));

    const [s1] = submitsTo('79161230101');
    expect(s1).toMatchObject({ dataCoding: 4, esmClass: 0, udh: null, text: null, shortMessage: short.toString('hex'), messagePayload: null });
    expect(submitsTo('79161230201')).toEqual([expect.objectContaining({ dataCoding: 0xf6, messageClass: 2, esmClass: 0, shortMessage: '02700000' })]);
    expect(submitsTo('79161230301')).toEqual([expect.objectContaining({ dataCoding: 4, esmClass: 0x40, udh: WAP_UDH.toString('hex'), shortMessage: push.toString('hex') })]);
    const parts = submitsTo('79161230401');
    expect(parts.map((p) => [p.dataCoding, p.esmClass, p.concat?.seq, p.concat?.total])).toEqual([
      [4, 0x40, 1, 3],
      [4, 0x40, 2, 3],
      [4, 0x40, 3, 3],
    ]);
    expect(Buffer.concat(parts.map((p) => Buffer.from(p.shortMessage, 'hex').subarray(6))).equals(long)).toBe(true);
    expect(submitsTo('79161230501')).toEqual([expect.objectContaining({ dataCoding: 4, esmClass: 0x40, shortMessage: '0500035a0202000000' })]);
    session.close();
  }, 30_000);

  it('the receipt over the bind carries no text for 8-bit data', async () => {
    const s = await rawSession(t.server.smppPort);
    s.write(encodePdu({ command: 'bind_transceiver', sequence: 1, params: { system_id: 'bank', password: 's3cret!' } }));
    expect(await s.next()).toMatchObject({ status: 0 });
    s.write(encodePdu({ command: 'submit_sm', sequence: 2, params: { source_addr_ton: 5, source_addr: 'BANK', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161230011', data_coding: 4, short_message: unhex('48 69 00'), registered_delivery: 1 } }));
    const resp = await s.next();
    expect(resp).toMatchObject({ command: 'submit_sm_resp', status: 0 });
    let receipt: Pdu | null = null;
    for (let pdu = await s.next(); pdu; pdu = await s.next()) {
      if (pdu.command !== 'deliver_sm') continue;
      s.write(encodePdu({ command: 'deliver_sm_resp', sequence: pdu.sequence, params: { message_id: '' } }));
      receipt = pdu;
      break;
    }
    expect(receipt).not.toBeNull();
    expect(receipt!.params.esm_class).toBe(4);
    expect((receipt!.params.short_message as Buffer).toString('latin1')).toMatch(new RegExp(`^id:${resp!.params.message_id as string} .* stat:DELIVRD err:000 text:$`));
    s.close();
  }, 30_000);
});
