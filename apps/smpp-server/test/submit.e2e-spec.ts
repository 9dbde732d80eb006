import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { QUEUES } from '@smsgw/contracts';
import { encodePdu, encodeUcs2, SmppStatus, smppAbsoluteTime, smppRelativeTime, Tag, type PduInput } from '@smsgw/sms';
import { rawSession, REDIS_URL, startTestSmppServer, type TestSmppServer } from './harness';

const run = promisify(execFile);

interface StoredRow {
  id: string;
  partner_id: number;
  sender: string;
  msisdn: string;
  text: string;
  encoding: number;
  segments: number;
  flash: boolean;
  priority: number;
  status: number;
  release_at: Date | null;
  valid_until: Date;
  created_at: Date;
}

describe('smpp-server: submit_sm', () => {
  let t: TestSmppServer;
  let bankId: number;
  let queue: Queue;

  beforeAll(async () => {
    t = await startTestSmppServer();
    bankId = await t.partner('bank', 's3cret!', { senders: ['BANK', '7900'], rate_limit: 1000, validity_minutes: 600 });
    await t.partner('slow', 's3cret!', { senders: ['SLOW'], rate_limit: 2 });
    await t.partner('later', 's3cret!', { senders: ['LATER'], postponed_enabled: true, postponed_horizon_days: 7 });
    queue = new Queue(QUEUES.MT_DISPATCH, { prefix: t.prefix, connection: { url: REDIS_URL } as never });
  });
  afterAll(async () => {
    await queue?.close();
    await t?.close();
  });

  const stored = async (id: string): Promise<StoredRow> => {
    const { rows } = await t.pool.query<StoredRow>('SELECT id::text, partner_id, sender, msisdn, text, encoding, segments, flash, priority, status, release_at, valid_until, created_at FROM message WHERE id = $1', [id]);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };

  /** Binds `login` as `mode` on a raw session and returns a submit function answering with the submit_sm_resp. */
  async function bound(login: string, mode: 'bind_transmitter' | 'bind_receiver' | 'bind_transceiver' = 'bind_transmitter') {
    const s = await rawSession(t.server.smppPort);
    s.write(encodePdu({ command: mode, sequence: 1, params: { system_id: login, password: 's3cret!', interface_version: 0x34 } }));
    expect(await s.next()).toMatchObject({ status: 0 });
    let sequence = 1;
    const submit = async (params: NonNullable<PduInput['params']>, tlvs: PduInput['tlvs'] = []) => {
      s.write(encodePdu({ command: 'submit_sm', sequence: ++sequence, params: { source_addr_ton: 5, dest_addr_ton: 1, dest_addr_npi: 1, ...params }, tlvs }));
      const resp = await s.next();
      expect(resp).toMatchObject({ command: 'submit_sm_resp', sequence });
      return { status: resp!.status, messageId: resp!.params.message_id as string | undefined };
    };
    return { submit, session: s };
  }

  it('stores a GSM-7 message and answers its id; the message goes to mt.dispatch', async () => {
    const { submit, session } = await bound('bank');
    const r = await submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('Your code is 1234'), priority_flag: 1 });
    expect(r.status).toBe(0);
    expect(r.messageId).toMatch(/^[1-9][0-9]*$/);
    const row = await stored(r.messageId!);
    expect(row).toMatchObject({ partner_id: bankId, sender: 'BANK', msisdn: '79161234567', text: 'Your code is 1234', encoding: 0, segments: 1, flash: false, priority: 2, status: 1, release_at: null });
    // The partner's validity (600 minutes) when the PDU names none.
    expect(row.valid_until.getTime() - row.created_at.getTime()).toBeGreaterThan(599 * 60_000);
    await waitFor(async () => (await queue.getJobs(['waiting', 'prioritized'])).some((j) => (j.data as { messages?: { messageId: string }[] }).messages?.some((m) => m.messageId === r.messageId)));
    // /binds on the HTTP port shows the session and what it sent.
    const binds = (await (await fetch(`http://127.0.0.1:${t.server.httpPort}/binds`)).json()) as { binds: Record<string, unknown>[] };
    expect(binds.binds).toContainEqual(expect.objectContaining({ partnerId: bankId, login: 'bank', mode: 'transmitter', window: 100, inFlight: 0, accepted: 1, refused: 0 }));
    session.close();
  });

  it('decodes UCS-2, Latin-1 and a long text in message_payload', async () => {
    const { submit, session } = await bound('bank', 'bind_transceiver');
    const cyrillic = await submit({ source_addr: 'BANK', destination_addr: '+79161234567', data_coding: 8, short_message: encodeUcs2('Привет, мир') });
    expect(cyrillic.status).toBe(0);
    expect(await stored(cyrillic.messageId!)).toMatchObject({ text: 'Привет, мир', encoding: 8, segments: 1 });

    const latin1 = await submit({ source_addr: 'BANK', destination_addr: '79161234567', data_coding: 3, short_message: Buffer.from('Café crème', 'latin1') });
    expect(latin1.status).toBe(0);
    expect(await stored(latin1.messageId!)).toMatchObject({ text: 'Café crème' });

    const long = 'A long notice. '.repeat(20).trim();
    const payload = await submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.alloc(0) }, [{ tag: Tag.message_payload, value: Buffer.from(long) }]);
    expect(payload.status).toBe(0);
    expect(await stored(payload.messageId!)).toMatchObject({ text: long, segments: 2 });

    const flash = await submit({ source_addr: 'BANK', destination_addr: '79161234567', data_coding: 0x10, short_message: Buffer.from('Flash!') });
    expect(await stored(flash.messageId!)).toMatchObject({ text: 'Flash!', flash: true });
    session.close();
  });

  it('stores each part of a concatenated message (UDH or SAR) as a message of its own with its header', async () => {
    const { submit, session } = await bound('bank');
    const udh = (ref: number, total: number, seq: number) => Buffer.from([5, 0, 3, ref, total, seq]);
    const first = await submit({ source_addr: 'BANK', destination_addr: '79161234567', esm_class: 0x40, short_message: Buffer.concat([udh(7, 2, 1), Buffer.from('A'.repeat(153))]) });
    const second = await submit({ source_addr: 'BANK', destination_addr: '79161234567', esm_class: 0x40, short_message: Buffer.concat([udh(7, 2, 2), Buffer.from('the end')]) });
    const sar = (seq: number) => [
      { tag: Tag.sar_msg_ref_num, value: Buffer.from([0x12, 0x34]) },
      { tag: Tag.sar_total_segments, value: Buffer.from([2]) },
      { tag: Tag.sar_segment_seqnum, value: Buffer.from([seq]) },
    ];
    // A reference above 255 goes out in a 16-bit element (7 octets): 66 UCS-2 units fit behind it.
    const uFirst = await submit({ source_addr: 'BANK', destination_addr: '79161234567', data_coding: 8, short_message: encodeUcs2('Ч'.repeat(66)) }, sar(1));
    for (const r of [first, second, uFirst]) expect(r.status).toBe(0);
    expect(new Set([first.messageId, second.messageId, uFirst.messageId]).size).toBe(3);
    const rows = await t.pool.query('SELECT id::text, text, segments, concat_ref, concat_total, concat_seq FROM message WHERE id = ANY($1::bigint[]) ORDER BY id', [[first.messageId, second.messageId, uFirst.messageId]]);
    expect(rows.rows).toEqual([
      { id: first.messageId, text: 'A'.repeat(153), segments: 1, concat_ref: 7, concat_total: 2, concat_seq: 1 },
      { id: second.messageId, text: 'the end', segments: 1, concat_ref: 7, concat_total: 2, concat_seq: 2 },
      { id: uFirst.messageId, text: 'Ч'.repeat(66), segments: 1, concat_ref: 0x1234, concat_total: 2, concat_seq: 1 },
    ]);
    // 67 UCS-2 characters do not fit one part behind a 16-bit reference.
    expect((await submit({ source_addr: 'BANK', destination_addr: '79161234567', data_coding: 8, short_message: encodeUcs2('Ч'.repeat(67)) }, sar(2))).status).toBe(SmppStatus.ESME_RINVMSGLEN);
    session.close();
  });

  it('takes data_sm: the text in message_payload, the validity in qos_time_to_live', async () => {
    const s = await rawSession(t.server.smppPort);
    s.write(encodePdu({ command: 'bind_transceiver', sequence: 1, params: { system_id: 'bank', password: 's3cret!' } }));
    expect(await s.next()).toMatchObject({ status: 0 });
    const ttl = Buffer.alloc(4);
    ttl.writeUInt32BE(1800, 0);
    s.write(encodePdu({
      command: 'data_sm',
      sequence: 2,
      params: { source_addr_ton: 5, source_addr: 'BANK', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567', data_coding: 8 },
      tlvs: [{ tag: Tag.message_payload, value: encodeUcs2('Данные через data_sm') }, { tag: Tag.qos_time_to_live, value: ttl }],
    }));
    const resp = await s.next();
    expect(resp).toMatchObject({ command: 'data_sm_resp', sequence: 2, status: 0 });
    const row = await stored(resp!.params.message_id as string);
    expect(row).toMatchObject({ text: 'Данные через data_sm', encoding: 8, sender: 'BANK' });
    expect(Math.abs(row.valid_until.getTime() - row.created_at.getTime() - 1800_000)).toBeLessThan(5000);
    // No text: refused as an empty submit_sm would be.
    s.write(encodePdu({ command: 'data_sm', sequence: 3, params: { source_addr: 'BANK', destination_addr: '79161234567' } }));
    expect(await s.next()).toMatchObject({ command: 'data_sm_resp', sequence: 3, status: SmppStatus.ESME_RINVMSGLEN });
    s.close();
  });

  it('takes validity_period (absolute and relative, capped by the partner) and schedule_delivery_time', async () => {
    const { submit, session } = await bound('bank');
    const now = Date.now();
    const rel = await submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('rel'), validity_period: smppRelativeTime(30 * 60) });
    const relRow = await stored(rel.messageId!);
    expect(Math.abs(relRow.valid_until.getTime() - (now + 30 * 60_000))).toBeLessThan(90_000);
    const abs = await submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('abs'), validity_period: smppAbsoluteTime(new Date(now + 2 * 86_400_000)) });
    const absRow = await stored(abs.messageId!);
    expect(Math.abs(absRow.valid_until.getTime() - (now + 600 * 60_000))).toBeLessThan(90_000); // capped at the partner's 600 minutes
    expect((await submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('x'), validity_period: '261301000000000+' })).status).toBe(SmppStatus.ESME_RINVEXPIRY);
    expect((await submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('x'), validity_period: smppAbsoluteTime(new Date(now - 3_600_000)) })).status).toBe(SmppStatus.ESME_RINVEXPIRY);
    // bank has no postponed delivery.
    expect((await submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('x'), schedule_delivery_time: smppRelativeTime(3600) })).status).toBe(SmppStatus.ESME_RINVSCHED);
    session.close();

    const later = await bound('later');
    const at = new Date(Math.ceil((now + 3 * 3_600_000) / 1000) * 1000);
    const scheduled = await later.submit({ source_addr: 'LATER', destination_addr: '79161234567', short_message: Buffer.from('later'), schedule_delivery_time: smppAbsoluteTime(at) });
    expect(scheduled.status).toBe(0);
    expect((await stored(scheduled.messageId!)).release_at).toEqual(at);
    expect((await later.submit({ source_addr: 'LATER', destination_addr: '79161234567', short_message: Buffer.from('x'), schedule_delivery_time: smppRelativeTime(8 * 86_400) })).status).toBe(SmppStatus.ESME_RINVSCHED);
    later.session.close();
  });

  it('refuses with the SMPP error closest to the HTTP one, and stores nothing', async () => {
    const { rows: [before] } = await t.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message');
    const { submit, session } = await bound('bank');
    const cases: [string, NonNullable<PduInput['params']>, PduInput['tlvs'], number][] = [
      ['a sender that is not the partner\'s', { source_addr: 'OTHER', destination_addr: '79161234567', short_message: Buffer.from('x') }, [], SmppStatus.ESME_RINVSRCADR],
      ['an alphanumeric sender with TON 1', { source_addr: 'BANK', source_addr_ton: 1, destination_addr: '79161234567', short_message: Buffer.from('x') }, [], SmppStatus.ESME_RINVSRCTON],
      ['a destination that is no number', { source_addr: 'BANK', destination_addr: 'hello', short_message: Buffer.from('x') }, [], SmppStatus.ESME_RINVDSTADR],
      ['a landline', { source_addr: 'BANK', destination_addr: '74951234567', short_message: Buffer.from('x') }, [], SmppStatus.ESME_RINVDSTADR],
      ['an empty message', { source_addr: 'BANK', destination_addr: '79161234567' }, [], SmppStatus.ESME_RINVMSGLEN],
      ['both short_message and message_payload', { source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('x') }, [{ tag: Tag.message_payload, value: Buffer.from('y') }], SmppStatus.ESME_RINVOPTPARAMVAL],
      ['more than 2000 characters', { source_addr: 'BANK', destination_addr: '79161234567' }, [{ tag: Tag.message_payload, value: Buffer.alloc(2001, 0x41) }], SmppStatus.ESME_RINVMSGLEN],
      ['a part longer than one segment of a concatenated message', { source_addr: 'BANK', destination_addr: '79161234567', esm_class: 0x40, short_message: Buffer.concat([Buffer.from([5, 0, 3, 7, 2, 1]), Buffer.alloc(154, 0x41)]) }, [], SmppStatus.ESME_RINVMSGLEN],
      ['a compressed data_coding', { source_addr: 'BANK', destination_addr: '79161234567', data_coding: 0x24, short_message: Buffer.from([1, 2, 3]) }, [], SmppStatus.ESME_RSUBMITFAIL],
    ];
    for (const [what, params, tlvs, status] of cases) expect({ what, status: (await submit(params, tlvs)).status }).toEqual({ what, status });
    const { rows: [after] } = await t.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message');
    expect(after!.n).toBe(before!.n);
    session.close();
  });

  it('keeps idempotency (partner_msg_id), the duplicate filter and test mode as /send does', async () => {
    const idemId = await t.partner('idem', 's3cret!', { senders: ['IDEM'], rate_limit: 1000 });
    const idem = await bound('idem');
    const key = (v: string): PduInput['tlvs'] => [{ tag: Tag.partner_msg_id, value: Buffer.from(`${v}\0`) }];
    const first = await idem.submit({ source_addr: 'IDEM', destination_addr: '79161234567', short_message: Buffer.from('once') }, key('order-42 №1'));
    const again = await idem.submit({ source_addr: 'IDEM', destination_addr: '79161234567', short_message: Buffer.from('once') }, key('order-42 №1'));
    expect(first.status).toBe(0);
    expect(again).toEqual(first);
    const { rows } = await t.pool.query<{ id: string; partner_msg_id: string }>('SELECT id::text, partner_msg_id FROM message WHERE partner_id = $1', [idemId]);
    expect(rows).toEqual([{ id: first.messageId, partner_msg_id: 'order-42 №1' }]);
    expect((await idem.submit({ source_addr: 'IDEM', destination_addr: '79161234567', short_message: Buffer.from('x') }, key('k'.repeat(51)))).status).toBe(SmppStatus.ESME_RINVOPTPARAMVAL);
    expect((await idem.submit({ source_addr: 'IDEM', destination_addr: '79161234567', short_message: Buffer.from('x') }, [{ tag: Tag.partner_msg_id, value: Buffer.from([0xff, 0xfe]) }])).status).toBe(SmppStatus.ESME_RINVOPTPARAMVAL);
    idem.session.close();

    await t.partner('dup', 's3cret!', { senders: ['DUP'], rate_limit: 1000, duplicate_filter: true, duplicate_max: 1, duplicate_window_hours: 1 });
    const dup = await bound('dup');
    expect((await dup.submit({ source_addr: 'DUP', destination_addr: '79161234567', short_message: Buffer.from('same text') })).status).toBe(0);
    expect((await dup.submit({ source_addr: 'DUP', destination_addr: '79161234567', short_message: Buffer.from('same text') })).status).toBe(SmppStatus.ESME_RSUBMITFAIL);
    dup.session.close();

    const testId = await t.partner('tester', 's3cret!', { senders: ['TEST'], rate_limit: 1000, test_mode: true, test_quota: 1 });
    const tester = await bound('tester');
    const sent = await tester.submit({ source_addr: 'TEST', destination_addr: '79161234567', short_message: Buffer.from('test one') });
    expect(sent.status).toBe(0);
    expect(await stored(sent.messageId!)).toMatchObject({ partner_id: testId });
    const { rows: [test] } = await t.pool.query<{ test: boolean }>('SELECT test FROM message WHERE id = $1', [sent.messageId]);
    expect(test!.test).toBe(true);
    // The quota of one test message is used up: as /send's 402.
    expect((await tester.submit({ source_addr: 'TEST', destination_addr: '79161234567', short_message: Buffer.from('test two') })).status).toBe(SmppStatus.ESME_RSUBMITFAIL);
    tester.session.close();
  });

  it('answers a receiver bind ESME_RINVBNDSTS, and the rate limit ESME_RTHROTTLED', async () => {
    const receiver = await bound('bank', 'bind_receiver');
    expect((await receiver.submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('x') })).status).toBe(SmppStatus.ESME_RINVBNDSTS);
    receiver.session.close();

    const slow = await bound('slow');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await slow.submit({ source_addr: 'SLOW', destination_addr: '79161234567', short_message: Buffer.from(`n${i}`) })).status);
    expect(statuses).toContain(0);
    expect(statuses).toContain(SmppStatus.ESME_RTHROTTLED);
    expect(statuses.filter((s) => s !== 0 && s !== SmppStatus.ESME_RTHROTTLED)).toEqual([]);
    slow.session.close();
  });

  it('answers query_sm and cancel_sm for the partner\'s own messages only', async () => {
    const { submit, session } = await bound('later');
    const send = (params: NonNullable<PduInput['params']>) => submit({ source_addr: 'LATER', destination_addr: '79161234567', short_message: Buffer.from('q'), ...params });
    const held = await send({ schedule_delivery_time: smppRelativeTime(3600) });
    const now = await send({});
    let sequence = 100;
    const ask = async (command: 'query_sm' | 'cancel_sm', id: string) => {
      session.write(encodePdu({ command, sequence: ++sequence, params: { message_id: id, source_addr: 'LATER' } }));
      const resp = await session.next();
      expect(resp).toMatchObject({ command: `${command}_resp`, sequence });
      return resp!;
    };
    expect(await ask('query_sm', held.messageId!)).toMatchObject({ status: 0, params: { message_id: held.messageId, message_state: 1, final_date: '', error_code: 0 } });

    // A final status: delivered, with its date.
    await t.pool.query(`UPDATE message SET status = 2, done_at = '2026-12-06T10:00:00Z' WHERE id = $1`, [now.messageId]);
    expect(await ask('query_sm', now.messageId!)).toMatchObject({ status: 0, params: { message_state: 2, final_date: '261206100000000+' } });
    // Not delivered, expired: EXPIRED with the reason as error_code.
    await t.pool.query(`UPDATE message SET status = 5, ext_status = 2 WHERE id = $1`, [now.messageId]);
    expect(await ask('query_sm', now.messageId!)).toMatchObject({ status: 0, params: { message_state: 3, error_code: 2 } });

    // The held message can be cancelled, once; the sent one cannot.
    expect(await ask('cancel_sm', held.messageId!)).toMatchObject({ status: 0 });
    expect(await ask('cancel_sm', held.messageId!)).toMatchObject({ status: 0 });
    expect((await stored(held.messageId!)).status).toBe(8);
    expect(await ask('query_sm', held.messageId!)).toMatchObject({ params: { message_state: 4 } });
    expect(await ask('cancel_sm', now.messageId!)).toMatchObject({ status: SmppStatus.ESME_RCANCELFAIL });

    // Another partner's message, an id that does not exist, and one that is no id.
    const bank = await bound('bank');
    const others = await bank.submit({ source_addr: 'BANK', destination_addr: '79161234567', short_message: Buffer.from('mine') });
    bank.session.close();
    expect(await ask('query_sm', others.messageId!)).toMatchObject({ status: SmppStatus.ESME_RQUERYFAIL });
    expect(await ask('cancel_sm', others.messageId!)).toMatchObject({ status: SmppStatus.ESME_RCANCELFAIL });
    expect((await stored(others.messageId!)).status).toBe(1);
    expect(await ask('query_sm', '9223372036854775807')).toMatchObject({ status: SmppStatus.ESME_RQUERYFAIL });
    expect(await ask('query_sm', '12ab')).toMatchObject({ status: SmppStatus.ESME_RINVMSGID });
    expect(await ask('cancel_sm', '')).toMatchObject({ status: SmppStatus.ESME_RCANCELFAIL });
    session.close();
  });

  it('takes single, long and Unicode messages from Perl Net::SMPP', async () => {
    const hex = (b: Buffer) => b.toString('hex');
    const long = 'Net::SMPP long text. '.repeat(15);
    const { stdout } = await run(
      'perl',
      [join(__dirname, 'net-smpp-partner.pl'), '127.0.0.1', String(t.server.smppPort), 'bank', 's3cret!', 'BANK',
        '79161234567', '0', hex(Buffer.from('Hello from Net::SMPP')),
        '79161234568', '0', hex(Buffer.from(long)),
        '79161234569', '8', hex(encodeUcs2('Здравствуйте 👋')),
        '79161234570', '0', `udh:${hex(Buffer.from('U'.repeat(200)))}`],
      { timeout: 30_000 },
    );
    const got = Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(got).toMatchObject({ bind_status: '0', enquire_link_status: '0', submit1_status: '0', submit2_status: '0', submit3_status: '0', unbind_status: '0' });
    expect(await stored(got.submit1_message_id!)).toMatchObject({ text: 'Hello from Net::SMPP', msisdn: '79161234567', segments: 1 });
    expect(await stored(got.submit2_message_id!)).toMatchObject({ text: long, segments: 3 });
    expect(await stored(got.submit3_message_id!)).toMatchObject({ text: 'Здравствуйте 👋', encoding: 8 });
    // Split by the client with a UDH: two parts, each stored and sent as the client cut it.
    expect(got).toMatchObject({ submit4_part1_status: '0', submit4_part2_status: '0' });
    expect(await stored(got.submit4_part1_message_id!)).toMatchObject({ text: 'U'.repeat(153), segments: 1 });
    expect(await stored(got.submit4_part2_message_id!)).toMatchObject({ text: 'U'.repeat(47), segments: 1 });
  });
});

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('smpp-server: stopping', () => {
  it('answers every submit_sm it took before it unbinds, and each answered id is stored', async () => {
    const t = await startTestSmppServer();
    try {
      await t.partner('bank', 's3cret!', { senders: ['BANK'], rate_limit: 1000 });
      const s = await rawSession(t.server.smppPort);
      s.write(encodePdu({ command: 'bind_transmitter', sequence: 1, params: { system_id: 'bank', password: 's3cret!' } }));
      expect(await s.next()).toMatchObject({ status: 0 });
      for (let i = 0; i < 30; i++) {
        s.write(encodePdu({ command: 'submit_sm', sequence: 10 + i, params: { source_addr: 'BANK', source_addr_ton: 5, destination_addr: '79161234567', short_message: Buffer.from(`stop ${i}`) } }));
      }
      // Stop once the server has read them (the first answer is out): the rest are in flight.
      const answers: { sequence: number; status: number; id?: string }[] = [];
      const firstAnswer = (await s.next())!;
      answers.push({ sequence: firstAnswer.sequence, status: firstAnswer.status, id: firstAnswer.params.message_id as string | undefined });
      const closing = t.server.close();
      let unbind = null;
      for (;;) {
        const pdu = await s.next();
        if (!pdu) break;
        if (pdu.command === 'submit_sm_resp') answers.push({ sequence: pdu.sequence, status: pdu.status, id: pdu.params.message_id as string | undefined });
        if (pdu.command === 'unbind') {
          unbind = pdu;
          s.write(encodePdu({ command: 'unbind_resp', sequence: pdu.sequence }));
        }
      }
      await closing;
      expect(unbind).not.toBeNull();
      expect(answers.map((a) => a.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 10 + i));
      const ids = answers.filter((a) => a.status === 0).map((a) => a.id!);
      // Taken before the stop: answered with the id; a submit_sm read after it began: ESME_RINVBNDSTS.
      expect(answers.filter((a) => a.status !== 0 && a.status !== SmppStatus.ESME_RINVBNDSTS)).toEqual([]);
      expect(ids.length).toBeGreaterThan(0);
      const { rows } = await t.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message WHERE id = ANY($1::bigint[])', [ids]);
      expect(Number(rows[0]!.n)).toBe(ids.length);
    } finally {
      await t.close();
    }
  });
});
