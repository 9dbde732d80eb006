import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { eventually, getJson, sleep, TestEnv } from './harness';

jest.setTimeout(30_000);

const run = promisify(execFile);
const SCRIPT = join(__dirname, 'net-smpp-smsc.pl');

/**
 * The connector against an SMSC written with Perl's Net::SMPP (net-smpp-smsc.pl), an SMPP
 * implementation that shares no code with the `smpp` npm package the connector and our simulator
 * use. Everything about the PDUs is asserted as Net::SMPP decoded them, against bytes computed
 * here by hand (not with @smsgw/sms, whose encoders are what is under test).
 */

/** One JSON line of the Perl SMSC (see the script's header for the events). */
type SmscEvent = Record<string, unknown> & { event: string };

/** A decoded submit_sm as the Perl SMSC logged it. */
interface SubmitSm {
  session: number;
  seq: number;
  service_type: string;
  source_addr_ton: number;
  source_addr_npi: number;
  source_addr: string;
  dest_addr_ton: number;
  dest_addr_npi: number;
  destination_addr: string;
  esm_class: number;
  protocol_id: number;
  priority_flag: number;
  schedule_delivery_time: string;
  validity_period: string;
  registered_delivery: number;
  replace_if_present_flag: number;
  data_coding: number;
  sm_default_msg_id: number;
  short_message: string;
  sm_length: number;
  tlvs: Record<string, string>;
}

class PerlSmsc {
  readonly events: SmscEvent[] = [];
  private readonly stderr: string[] = [];
  private exited: Promise<number | null>;

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly port: number,
    lines: AsyncIterableIterator<string>,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.stderr.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    void (async () => {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        try {
          this.events.push(JSON.parse(line) as SmscEvent);
        } catch {
          this.events.push({ event: 'unparsed', line });
        }
      }
    })();
  }

  /** Spawns the SMSC on a free port; resolves once it prints `PORT=<n>`. */
  static async start(args: string[] = []): Promise<PerlSmsc> {
    const proc = spawn('perl', [SCRIPT, '--port', '0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => {
        proc.once('error', reject);
        proc.once('exit', (code) => reject(new Error(`net-smpp-smsc.pl exited with ${code} before listening`)));
        setTimeout(() => reject(new Error('net-smpp-smsc.pl printed no PORT= line within 10 s')), 10_000).unref();
      }),
    ]);
    const m = /^PORT=(\d+)$/.exec(String(first.value ?? ''));
    if (!m) throw new Error(`net-smpp-smsc.pl: expected PORT=<n>, got ${JSON.stringify(first.value)}`);
    return new PerlSmsc(proc, Number(m[1]), lines);
  }

  /** A line on the SMSC's stdin (e.g. `MO ...`). */
  command(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  submitsTo(msisdn: string): SubmitSm[] {
    return this.events.filter((e) => e.event === 'recv' && e.command === 'submit_sm' && e.destination_addr === msisdn) as unknown as SubmitSm[];
  }

  responsesTo(msisdn: string): Array<{ message_id: string; id_form: 'hex' | 'decimal' }> {
    return this.events.filter((e) => e.event === 'resp' && e.destination_addr === msisdn) as unknown as Array<{ message_id: string; id_form: 'hex' | 'decimal' }>;
  }

  /** Requests this SMSC sent (receipts, MO) and the connector's answers to them. */
  sentWithAnswers(kind: 'receipt' | 'mo'): Array<{ sent: SmscEvent; answer: SmscEvent | undefined }> {
    return this.events
      .filter((e) => e.event === 'sent' && e.kind === kind)
      .map((sent) => ({
        sent,
        answer: this.events.find((e) => e.event === 'recv' && e.command === 'deliver_sm_resp' && e.session === sent.session && e.seq === sent.seq),
      }));
  }

  errors(): SmscEvent[] {
    return this.events.filter((e) => e.event === 'error' || e.event === 'unparsed');
  }

  /** What it wrote on stderr (Net::SMPP's warnings), for failure messages. */
  diagnostics(): string {
    return this.stderr.join('').slice(-2000);
  }

  /** Closes its stdin (it exits by itself on end of input); kills it if it does not. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---- Expected bytes, computed independently of @smsgw/sms ------------------------------------

/** GSM 03.38 default alphabet, unpacked (one septet a byte), for the characters these tests use. */
const GSM_BASIC: Record<string, number> = { '@': 0x00, '£': 0x01, $: 0x02, '¥': 0x03, è: 0x04, é: 0x05, _: 0x11, '\n': 0x0a };
const GSM_EXTENSION: Record<string, number> = { '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2f, '[': 0x3c, '~': 0x3d, ']': 0x3e, '|': 0x40, '€': 0x65 };
function gsm7(text: string): string {
  const out: number[] = [];
  for (const ch of text) {
    if (ch in GSM_BASIC) out.push(GSM_BASIC[ch]!);
    else if (ch in GSM_EXTENSION) out.push(0x1b, GSM_EXTENSION[ch]!);
    else if (/^[A-Za-z0-9 !"#%&'()*+,\-./:;<=>?]$/.test(ch)) out.push(ch.charCodeAt(0));
    else throw new Error(`no GSM 03.38 septet for ${JSON.stringify(ch)} in this test table`);
  }
  return Buffer.from(out).toString('hex');
}

/** UTF-16BE, what UCS-2 carries (a character outside the BMP as its surrogate pair). */
const ucs2 = (text: string): string => Buffer.from(text, 'utf16le').swap16().toString('hex');
const fromUcs2 = (hex: string): string => Buffer.from(hex, 'hex').swap16().toString('utf16le');
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const udh8 = (ref: number, total: number, seq: number): string => `050003${hex2(ref)}${hex2(total)}${hex2(seq)}`;

/** SMPP 3.4 absolute time, UTC, seconds truncated: YYMMDDhhmmss, tenths 0, offset 00, '+'. */
function smppTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}000+`;
}

/** Subscribers of this file: never ending in 0005 / 0007 unless a test means it. */
let numberCounter = 0;
const nextNumber = (suffix = '1'): string => `7906${String(++numberCounter).padStart(3, '0')}${suffix.padStart(4, '0')}`;

describe('interoperability with an SMSC written with Perl Net::SMPP', () => {
  let env: TestEnv;
  let smsc: PerlSmsc;
  let partner: number;
  let owner: number;
  let connection: number;

  beforeAll(async () => {
    // Fail, never skip: a missing module would otherwise hide the only independent SMSC.
    try {
      await run('perl', ['-MNet::SMPP', '-e', '1']);
    } catch {
      throw new Error('Perl module Net::SMPP is missing: install it with `apt-get install -y libnet-smpp-perl`');
    }
    smsc = await PerlSmsc.start(['--system-id', 'smsgw', '--password', 'secret1', '--dlr-delay-ms', '50']);
    // TestEnv starts our own simulator too; no connection points at it, so every PDU goes to Perl.
    env = await TestEnv.create();
    connection = await env.addConnection({ name: 'net-smpp', host: '127.0.0.1', port: smsc.port, system_id: 'smsgw', password: 'secret1' });
    await env.startConnector({ CONNECTOR_ENQUIRE_LINK_MS: '250' });
    partner = await env.createPartner();
    owner = await env.createPartner({ mo_url: 'http://partner.example/mo' });
    await env.addServiceNumber('4444', owner);
    await env.addServiceNumber('79990001122', owner);
    await eventually(() => expect(smsc.events.some((e) => e.event === 'bind' && e.status === 0)).toBe(true), 10_000);
  });

  afterAll(async () => {
    await env?.close();
    await smsc?.stop();
  });

  afterEach(() => {
    // Anything the SMSC could not do (an unparsable command, a receipt for a closed session) is a failure.
    expect(smsc?.errors() ?? []).toEqual([]);
  });

  it('binds as transceiver with the configured credentials and keeps the link with enquire_link', async () => {
    const bind = smsc.events.find((e) => e.event === 'recv' && e.command === 'bind_transceiver');
    expect(bind).toMatchObject({ system_id: 'smsgw', password: 'secret1', system_type: '', interface_version: 0x34 });
    await eventually(() => expect(smsc.events.filter((e) => e.event === 'recv' && e.command === 'enquire_link').length).toBeGreaterThanOrEqual(2), 5000);
    const { body } = await getJson<{ connections: Array<{ id: number; bound: boolean }> }>(env.connector!.httpPort, '/connections');
    expect(body.connections.find((c) => c.id === connection)).toMatchObject({ bound: true });
  });

  it('one GSM-7 segment: every submit_sm field as Net::SMPP decoded it, then DELIVRD makes it 2', async () => {
    const msisdn = nextNumber();
    const text = 'Hello @ world: 10€ [ok] _$';
    const validUntil = new Date(Date.now() + 2 * 3_600_000);
    const [id] = await env.send(partner, [{ msisdn, text, validUntil, sender: 'TEST' }]);
    const [row] = await env.waitFor([id!], (m) => m.status === 2, 10_000);

    const [submit, ...more] = smsc.submitsTo(msisdn);
    expect(more).toEqual([]);
    expect(submit).toMatchObject({
      service_type: '',
      source_addr_ton: 5,
      source_addr_npi: 0,
      source_addr: 'TEST',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: msisdn,
      esm_class: 0,
      protocol_id: 0,
      priority_flag: 0,
      schedule_delivery_time: '',
      validity_period: smppTime(validUntil),
      registered_delivery: 1,
      replace_if_present_flag: 0,
      data_coding: 0,
      sm_default_msg_id: 0,
      tlvs: {},
    });
    // Unpacked septets: '@' 00, '€' 1B 65, '[' 1B 3C, ']' 1B 3E, '_' 11, '$' 02.
    expect(submit!.short_message).toBe('48656c6c6f200020776f726c643a2031301b6520' + '1b3c6f6b1b3e' + '201102');
    expect(submit!.short_message).toBe(gsm7(text));
    expect(submit!.sm_length).toBe(29);

    // The segment is stored under the SMSC's id, in the form it answered (normalised: lower case).
    const [resp] = smsc.responsesTo(msisdn);
    const { rows: parts } = await env.pool.query('SELECT seq, status, smsc_message_id, smsc_connection_id FROM message_part WHERE message_id = $1', [id]);
    expect(parts).toEqual([{ seq: 1, status: 2, smsc_message_id: resp!.message_id, smsc_connection_id: connection }]);
    expect(row).toMatchObject({ status: 2, ext_status: null, smsc_connection_id: connection });
    expect(row!.done_at).not.toBeNull();
  });

  it('161 GSM-7 characters: two segments, esm_class 0x40, UDH 05 00 03 ref 02 01/02, 153 septets in the first', async () => {
    const msisdn = nextNumber();
    const text = 'a'.repeat(150) + '0123456789€';
    expect([...text]).toHaveLength(161);
    const [id] = await env.send(partner, [{ msisdn, text }]);
    await env.waitFor([id!], (m) => m.status === 2, 10_000);

    const submits = smsc.submitsTo(msisdn);
    expect(submits).toHaveLength(2);
    const ref = Number.parseInt(submits[0]!.short_message.slice(6, 8), 16);
    expect(submits.map((s) => [s.data_coding, s.esm_class, s.registered_delivery, s.short_message])).toEqual([
      [0, 0x40, 1, udh8(ref, 2, 1) + gsm7('a'.repeat(150) + '012')],
      [0, 0x40, 1, udh8(ref, 2, 2) + gsm7('3456789€')],
    ]);
    // 6 octets of UDH + 153 septets: the most one concatenated GSM-7 segment holds unpacked.
    expect(submits[0]!.sm_length).toBe(159);
  });

  it('71 Cyrillic characters: two UCS-2 segments (data_coding 8) of 67 and 4 characters', async () => {
    const msisdn = nextNumber();
    const text = 'Привет'.repeat(12).slice(0, 71);
    const [id] = await env.send(partner, [{ msisdn, text }]);
    await env.waitFor([id!], (m) => m.status === 2, 10_000);

    const submits = smsc.submitsTo(msisdn);
    expect(submits).toHaveLength(2);
    const ref = Number.parseInt(submits[0]!.short_message.slice(6, 8), 16);
    expect(submits.map((s) => [s.data_coding, s.esm_class, s.sm_length, s.short_message])).toEqual([
      [8, 0x40, 6 + 134, udh8(ref, 2, 1) + ucs2(text.slice(0, 67))],
      [8, 0x40, 6 + 8, udh8(ref, 2, 2) + ucs2(text.slice(67))],
    ]);
  });

  it('never splits an emoji (a surrogate pair) across segments', async () => {
    const msisdn = nextNumber();
    const text = 'я'.repeat(66) + '😀' + 'конец';
    const [id] = await env.send(partner, [{ msisdn, text }]);
    await env.waitFor([id!], (m) => m.status === 2, 10_000);

    const submits = smsc.submitsTo(msisdn);
    expect(submits).toHaveLength(2);
    const payloads = submits.map((s) => s.short_message.slice(12));
    // 66 units + a pair would be 68 > 67: the pair opens the second segment whole.
    expect(payloads).toEqual([ucs2('я'.repeat(66)), ucs2('😀конец')]);
    expect(payloads[1]!.slice(0, 8)).toBe('d83dde00');
    expect(payloads.map(fromUcs2).join('')).toBe(text);
    expect(submits.map((s) => s.data_coding)).toEqual([8, 8]);
  });

  it('flash SMS: message class 0, data_coding 0x10 for GSM-7 and 0x18 for UCS-2, one segment without UDH', async () => {
    const [a, b] = [nextNumber(), nextNumber()];
    const ids = await env.send(partner, [
      { msisdn: a, text: 'flash!', flash: true },
      { msisdn: b, text: 'Срочно!', flash: true },
    ]);
    await env.waitFor(ids, (m) => m.status === 2, 10_000);
    expect(smsc.submitsTo(a).map((s) => [s.data_coding, s.esm_class, s.short_message])).toEqual([[0x10, 0, gsm7('flash!')]]);
    expect(smsc.submitsTo(b).map((s) => [s.data_coding, s.esm_class, s.short_message])).toEqual([[0x18, 0, ucs2('Срочно!')]]);
  });

  it('priority 2 sets priority_flag 1 (0 and 1 do not); numeric senders get their TON/NPI', async () => {
    const [high, normal, low] = [nextNumber(), nextNumber(), nextNumber()];
    const ids = await env.send(partner, [
      { msisdn: high, sender: '7788', priority: 2 },
      { msisdn: normal, sender: '+79001234567', priority: 1 },
      { msisdn: low, sender: 'Shop', priority: 0 },
    ]);
    await env.waitFor(ids, (m) => m.status === 2, 10_000);
    expect(smsc.submitsTo(high)[0]).toMatchObject({ priority_flag: 1, source_addr: '7788', source_addr_ton: 3, source_addr_npi: 0, registered_delivery: 1 });
    expect(smsc.submitsTo(normal)[0]).toMatchObject({ priority_flag: 0, source_addr: '79001234567', source_addr_ton: 1, source_addr_npi: 1 });
    expect(smsc.submitsTo(low)[0]).toMatchObject({ priority_flag: 0, source_addr: 'Shop', source_addr_ton: 5, source_addr_npi: 0 });
  });

  it('matches receipts with hex and decimal ids, with TLVs and by the text alone', async () => {
    // Numbers ending 0007 get receipts without TLVs whose text id is decimal. The two segments
    // are submitted one after the other, so one response id is hex and the other decimal.
    const msisdn = nextNumber('0007');
    const [id] = await env.send(partner, [{ msisdn, text: 'text-only receipts '.repeat(10) }]);
    const [row] = await env.waitFor([id!], (m) => m.status === 2, 10_000);
    expect(row).toMatchObject({ status: 2, ext_status: null });
    const responses = smsc.responsesTo(msisdn);
    expect(responses.map((r) => r.id_form).sort()).toEqual(['decimal', 'hex']);
    const hex = responses.find((r) => r.id_form === 'hex')!.message_id;
    const receipts = smsc.sentWithAnswers('receipt').filter((r) => responses.some((p) => p.message_id === r.sent.message_id));
    expect(receipts).toHaveLength(2);
    // The receipt of the hex id names it in decimal only.
    expect(receipts.find((r) => r.sent.message_id === hex)!.sent.text).toMatch(new RegExp(`^id:${BigInt(`0x${hex}`).toString(10)} `));
    expect(receipts.every((r) => r.sent.tlvs === false)).toBe(true);

    const { rows: parts } = await env.pool.query('SELECT seq, status, smsc_message_id FROM message_part WHERE message_id = $1 ORDER BY seq', [id]);
    expect(parts.map((p: { status: number }) => p.status)).toEqual([2, 2]);
    expect(parts.map((p: { smsc_message_id: string }) => p.smsc_message_id).sort()).toEqual(responses.map((r) => r.message_id).sort());
  });

  it('an UNDELIV receipt (err 001, unknown subscriber) ends the message 5 / 8, for one segment and for several', async () => {
    const [single, multi] = [nextNumber('0005'), nextNumber('0005')];
    const ids = await env.send(partner, [
      { msisdn: single, text: 'to nobody' },
      { msisdn: multi, text: 'z'.repeat(200) },
    ]);
    const rows = await env.waitFor(ids, undefined, 10_000);
    expect(rows.map((r) => [r.status, r.ext_status])).toEqual([
      [5, 8],
      [5, 8],
    ]);
    expect(rows.every((r) => r.done_at !== null)).toBe(true);
    const { rows: parts } = await env.pool.query('SELECT status FROM message_part WHERE message_id = $1', [ids[0]]);
    expect(parts).toEqual([{ status: 5 }]);
  });

  it('answers every receipt it took with deliver_sm_resp ESME_ROK and leaves none unmatched', async () => {
    await eventually(() => {
      const receipts = smsc.sentWithAnswers('receipt');
      expect(receipts.length).toBeGreaterThan(0);
      expect(receipts.filter((r) => r.answer?.command_status !== 0).map((r) => r.sent)).toEqual([]);
    }, 5000);
    const { rows } = await env.pool.query('SELECT count(*)::int AS n FROM unmatched_receipt');
    expect(rows[0].n).toBe(0);
  });

  // ---- MO ------------------------------------------------------------------------------------

  interface MoRow {
    partner_id: number | null;
    msisdn: string;
    service_number: string;
    text: string;
    segments: number;
    complete: boolean;
    smsc_connection_id: number | null;
  }

  async function mosFrom(msisdn: string, count = 1): Promise<MoRow[]> {
    let rows: MoRow[] = [];
    await eventually(async () => {
      rows = (
        await env.pool.query<MoRow>(
          'SELECT partner_id, msisdn, service_number, text, segments, complete, smsc_connection_id FROM mo_message WHERE msisdn = $1 ORDER BY id',
          [msisdn],
        )
      ).rows;
      expect(rows).toHaveLength(count);
    }, 5000);
    return rows;
  }

  const mo = (from: string, to: string, dataCoding: number, esmClass: number, hex: string, ...tlvs: string[]): void =>
    smsc.command(['MO', from, to, String(dataCoding), String(esmClass), hex, ...tlvs].join(' '));

  it('stores a single GSM-7 MO (data_coding 0, unpacked septets) for the owner of the service number', async () => {
    const from = nextNumber();
    const text = 'STOP @ once, 5€ {ok}';
    mo(from, '4444', 0, 0, gsm7(text));
    const [row] = await mosFrom(from);
    expect(row).toEqual({ partner_id: owner, msisdn: from, service_number: '4444', text, segments: 1, complete: true, smsc_connection_id: connection });
  });

  it('stores a single UCS-2 MO (data_coding 8) with an emoji, sent to a long number', async () => {
    const from = nextNumber();
    const text = 'Привет, да 😀';
    mo(from, '79990001122', 8, 0, ucs2(text));
    const [row] = await mosFrom(from);
    expect(row).toMatchObject({ partner_id: owner, service_number: '79990001122', text, segments: 1, complete: true });
  });

  it('reassembles a concatenated GSM-7 MO (UDH, 8-bit reference) of three segments', async () => {
    const from = nextNumber();
    const text = 'Reply from the subscriber, long enough to need three segments. '.repeat(6).trim();
    const chunks = [text.slice(0, 153), text.slice(153, 306), text.slice(306)];
    chunks.forEach((chunk, i) => mo(from, '4444', 0, 0x40, udh8(0xa7, 3, i + 1) + gsm7(chunk)));
    const [row] = await mosFrom(from);
    expect(row).toMatchObject({ partner_id: owner, service_number: '4444', text, segments: 3, complete: true, smsc_connection_id: connection });
  });

  it('reassembles a concatenated UCS-2 MO (UDH, 8-bit reference) whose segments come out of order', async () => {
    const from = nextNumber();
    const text = 'Ответ абонента, которому нужно несколько сегментов. '.repeat(2).trim();
    const chunks = [text.slice(0, 67), text.slice(67)];
    mo(from, '4444', 8, 0x40, udh8(0x11, 2, 2) + ucs2(chunks[1]!));
    await sleep(50);
    mo(from, '4444', 8, 0x40, udh8(0x11, 2, 1) + ucs2(chunks[0]!));
    const [row] = await mosFrom(from);
    expect(row).toMatchObject({ partner_id: owner, text, segments: 2, complete: true });
  });

  it('reassembles a concatenated MO carried by SAR TLVs', async () => {
    const from = nextNumber();
    const text = 'Segmented by SAR TLVs instead of a UDH: '.repeat(5).trim();
    const chunks = [text.slice(0, 150), text.slice(150)];
    chunks.forEach((chunk, i) => mo(from, '4444', 0, 0, gsm7(chunk), 'sar_msg_ref_num=4660', 'sar_total_segments=2', `sar_segment_seqnum=${i + 1}`));
    const [row] = await mosFrom(from);
    expect(row).toMatchObject({ partner_id: owner, text, segments: 2, complete: true });
  });

  it('acknowledges every MO segment with deliver_sm_resp ESME_ROK', async () => {
    await eventually(() => {
      const mos = smsc.sentWithAnswers('mo');
      expect(mos).toHaveLength(1 + 1 + 3 + 2 + 2);
      expect(mos.filter((m) => m.answer?.command_status !== 0).map((m) => m.sent)).toEqual([]);
    }, 5000);
  });

  // ---- bind refusal and unbind -----------------------------------------------------------------

  it('a connection with a wrong password is refused (ESME_RBINDFAIL) and stays unbound; the other keeps working', async () => {
    const wrong = await env.addConnection({ name: 'net-smpp-wrong', host: '127.0.0.1', port: smsc.port, system_id: 'smsgw', password: 'nope', priority: 1 });
    await eventually(() => expect(smsc.events.some((e) => e.event === 'bind' && e.status === 0x0d)).toBe(true), 5000);
    const { body } = await getJson<{ connections: Array<{ id: number; bound: boolean }> }>(env.connector!.httpPort, '/connections');
    expect(body.connections.find((c) => c.id === wrong)).toMatchObject({ bound: false });
    expect(body.connections.find((c) => c.id === connection)).toMatchObject({ bound: true });
    const msisdn = nextNumber();
    const [id] = await env.send(partner, [{ msisdn, text: 'still here' }]);
    const [row] = await env.waitFor([id!], (m) => m.status === 2, 10_000);
    expect(row!.smsc_connection_id).toBe(connection);
    await env.updateConnection(wrong, 'enabled = false');
  });

  it('unbinds when the connector stops', async () => {
    const before = smsc.events.length;
    await env.stopConnector();
    await eventually(() => expect(smsc.events.slice(before).some((e) => e.event === 'recv' && e.command === 'unbind')).toBe(true), 5000);
    expect(smsc.diagnostics()).not.toMatch(/Unknown tag/);
  });
});
