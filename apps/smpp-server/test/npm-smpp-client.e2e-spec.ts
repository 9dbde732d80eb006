import * as smpp from 'smpp';
import type { PDU, Session } from 'smpp';
import type { SmppBindState } from '@smsgw/contracts';
import { SmppListener } from '../src/smpp-listener';
import { startTestSmppServer, type TestSmppServer } from './harness';

// A partner's whole session with the `smpp` npm package (node-smpp), an SMPP client written
// independently of this server's codec (packages/sms/src/smpp-pdu.ts): the library encodes the
// texts (GSM 03.38, UCS-2, UDH) and decodes the answers itself; what the server made of them is
// read back from PostgreSQL.

const ESME_ROK = 0x00;
const ESME_RBINDFAIL = 0x0d;
const ESME_RCANCELFAIL = 0x11;

interface MessageRow {
  id: string;
  partner_id: number;
  sender: string;
  msisdn: string;
  text: string;
  encoding: number;
  segments: number;
  status: number;
  release_at: Date | null;
  concat_ref: number | null;
  concat_total: number | null;
  concat_seq: number | null;
}

/** A node-smpp session and a promise-returning way to send it requests. */
interface Client {
  session: Session;
  request(command: 'bind_transceiver' | 'bind_transmitter' | 'submit_sm' | 'query_sm' | 'cancel_sm', options: Record<string, unknown>): Promise<PDU>;
  enquireLink(): Promise<PDU>;
  unbind(): Promise<PDU>;
  /** Resolves when the connection has closed. */
  closed: Promise<void>;
}

describe('smpp-server: a partner on the smpp npm client', () => {
  let t: TestSmppServer;
  let partnerId: number;
  const clients: Session[] = [];

  beforeAll(async () => {
    t = await startTestSmppServer();
    // Allowed from 127.0.0.1 only (the harness's default allow-list).
    partnerId = await t.partner('npm', 'np-s3cr', { senders: ['NPMSHOP'], rate_limit: 1000, validity_minutes: 600, postponed_enabled: true, postponed_horizon_days: 7 });
    await t.partner('npm-far', 'np-s3cr', { senders: ['FAR'], allowed_ips: ['10.0.0.0/8'] });
  });
  // A test that failed half-way leaves nothing bound for the next one.
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    const deadline = Date.now() + 5000;
    while ((await binds()).some((b) => b.partnerId === partnerId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Connects with node-smpp (from `localAddress` when given) to the server's SMPP port. */
  async function connect(localAddress?: string): Promise<Client> {
    const session = smpp.connect({ url: `smpp://127.0.0.1:${t.server.smppPort}`, ...(localAddress ? { localAddress } : {}) });
    clients.push(session);
    let failure: Error | null = null;
    const closed = new Promise<void>((resolve) => session.on('close', () => resolve()));
    session.on('error', (e: Error) => (failure = e));
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    const settle = (send: (cb: (pdu: PDU) => void) => boolean, what: string) =>
      new Promise<PDU>((resolve, reject) => {
        if (!send(resolve)) reject(new Error(`${what}: the socket is not writable`));
        // The connection closing first (or failing) is an answer too: the test fails with it, it does not hang.
        void closed.then(() => reject(failure ?? new Error(`${what}: the connection closed before the answer`)));
      });
    return {
      session,
      request: (command, options) => settle((cb) => session[command](options, cb), command),
      enquireLink: () => settle((cb) => session.enquire_link(cb), 'enquire_link'),
      unbind: () => settle((cb) => session.unbind(cb), 'unbind'),
      closed,
    };
  }

  async function bound(login = 'npm', password = 'np-s3cr'): Promise<Client> {
    const c = await connect();
    const resp = await c.request('bind_transceiver', { system_id: login, password, interface_version: 0x34 });
    expect({ command: resp.command, status: resp.command_status, systemId: resp.system_id }).toEqual({ command: 'bind_transceiver_resp', status: ESME_ROK, systemId: 'smsgw' });
    return c;
  }

  /** submit_sm from NPMSHOP to 79161234567 (international, ISDN) with `options`; the message id answered. */
  async function submit(c: Client, options: Record<string, unknown>): Promise<string> {
    const resp = await c.request('submit_sm', { source_addr_ton: 5, source_addr: 'NPMSHOP', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567', ...options });
    expect({ command: resp.command, status: resp.command_status }).toEqual({ command: 'submit_sm_resp', status: ESME_ROK });
    expect(resp.message_id).toMatch(/^[1-9][0-9]*$/);
    return resp.message_id as string;
  }

  async function row(id: string): Promise<MessageRow> {
    const { rows } = await t.pool.query<MessageRow>(
      'SELECT id::text, partner_id, sender, msisdn, text, encoding, segments, status, release_at, concat_ref, concat_total, concat_seq FROM message WHERE id = $1',
      [id],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  const binds = async (): Promise<SmppBindState[]> => ((await (await fetch(`http://127.0.0.1:${t.server.httpPort}/binds`)).json()) as { binds: SmppBindState[] }).binds;

  /** Ends the client's connection and waits until the server has let go of the partner's binds too. */
  async function leave(c: Client): Promise<void> {
    c.session.close();
    await c.closed;
    const deadline = Date.now() + 5000;
    while ((await binds()).some((b) => b.partnerId === partnerId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect((await binds()).filter((b) => b.partnerId === partnerId)).toEqual([]);
  }

  it('binds as a transceiver; stores a GSM-7 text, a long text in message_payload and a UCS-2 text with an emoji', async () => {
    const c = await bound();

    // GSM 03.38 as the library encodes it: '@' is 0x00, '_' 0x11, '{', '}' and '€' escaped (two septets each).
    const gsmText = 'Order #42 @ shop_1: {paid} 10€';
    const single = await row(await submit(c, { data_coding: 0, short_message: gsmText }));
    expect(single).toMatchObject({ partner_id: partnerId, sender: 'NPMSHOP', msisdn: '79161234567', text: gsmText, encoding: 0, segments: 1, status: 1, release_at: null, concat_ref: null });

    // 330 GSM characters in message_payload: three segments of 153 when the platform splits it.
    const long = 'Long notice over SMPP, in message_payload. '.repeat(8).slice(0, 330);
    expect(long).toHaveLength(330);
    expect(await row(await submit(c, { data_coding: 0, message_payload: long }))).toMatchObject({ text: long, encoding: 0, segments: 3 });

    // UCS-2 (data_coding 8): the library writes UTF-16BE, the emoji as a surrogate pair.
    const unicode = 'Привет из node-smpp 👋';
    expect(await row(await submit(c, { data_coding: 8, short_message: unicode }))).toMatchObject({ text: unicode, encoding: 8, segments: 1 });
    // 71 UCS-2 characters (the emoji counts two) do not fit one segment of 70: two.
    const unicodeLong = `${'Ж'.repeat(69)}👋`;
    expect(await row(await submit(c, { data_coding: 8, message_payload: unicodeLong }))).toMatchObject({ text: unicodeLong, encoding: 8, segments: 2 });

    // /binds counts them, and their rate over the last seconds.
    const mine = (await binds()).filter((b) => b.partnerId === partnerId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ login: 'npm', mode: 'transceiver', window: 100, inFlight: 0, accepted: 4, refused: 0, delivered: 0, deliverFailed: 0, deliversPerSecond: 0 });
    expect(mine[0]!.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(mine[0]!.submitsPerSecond).toBeGreaterThan(0);
    expect(mine[0]!.submitsPerSecond).toBeLessThanOrEqual(4);

    expect(await c.unbind()).toMatchObject({ command: 'unbind_resp', command_status: ESME_ROK });
    await leave(c);
  });

  it('stores each part of a text the client cut with a UDH, with its concatenation header', async () => {
    const c = await bound();
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(9).slice(0, 400);
    const parts = [text.slice(0, 153), text.slice(153, 306), text.slice(306)];
    const ids: string[] = [];
    for (const [i, part] of parts.entries()) {
      // IEI 0x00 (8-bit reference): reference 0xA7, 3 parts, this one's number. The library sets esm_class 0x40.
      ids.push(await submit(c, { data_coding: 0, short_message: { udh: Buffer.from([0x05, 0x00, 0x03, 0xa7, 3, i + 1]), message: part } }));
    }
    expect(new Set(ids).size).toBe(3);
    const rows = await Promise.all(ids.map(row));
    expect(rows.map((r) => ({ text: r.text, segments: r.segments, ref: r.concat_ref, total: r.concat_total, seq: r.concat_seq }))).toEqual([
      { text: parts[0], segments: 1, ref: 0xa7, total: 3, seq: 1 },
      { text: parts[1], segments: 1, ref: 0xa7, total: 3, seq: 2 },
      { text: parts[2], segments: 1, ref: 0xa7, total: 3, seq: 3 },
    ]);
    expect(parts.map((p) => p.length)).toEqual([153, 153, 94]);
    await leave(c);
  });

  it('answers query_sm and cancel_sm, enquire_link and unbind', async () => {
    const c = await bound();
    const query = (id: string) => c.request('query_sm', { message_id: id, source_addr_ton: 5, source_addr: 'NPMSHOP' });
    const cancel = (id: string) => c.request('cancel_sm', { message_id: id, source_addr_ton: 5, source_addr: 'NPMSHOP', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567' });

    // Sent now: ENROUTE (1) while the platform holds it, then DELIVERED (2) with its date.
    const now = await submit(c, { data_coding: 0, short_message: 'query me' });
    expect(await query(now)).toMatchObject({ command: 'query_sm_resp', command_status: ESME_ROK, message_id: now, message_state: 1, error_code: 0, final_date: '' });
    await t.pool.query(`UPDATE message SET status = 2, done_at = '2026-12-06T10:00:00Z' WHERE id = $1`, [now]);
    const delivered = await query(now);
    expect(delivered).toMatchObject({ command_status: ESME_ROK, message_state: 2 });
    // The library decodes final_date (YYMMDDhhmmsstnnp) to a Date.
    expect(delivered.final_date).toEqual(new Date('2026-12-06T10:00:00Z'));

    // Scheduled two hours ahead (the library writes the Date as an absolute SMPP time): held, then cancelled.
    const at = new Date(Math.ceil((Date.now() + 2 * 3_600_000) / 1000) * 1000);
    const held = await submit(c, { data_coding: 0, short_message: 'cancel me', schedule_delivery_time: at });
    expect(await row(held)).toMatchObject({ status: 1, release_at: at });
    expect(await cancel(held)).toMatchObject({ command: 'cancel_sm_resp', command_status: ESME_ROK });
    expect((await row(held)).status).toBe(8);
    expect(await query(held)).toMatchObject({ command_status: ESME_ROK, message_state: 4 }); // DELETED
    // A delivered message cannot be cancelled.
    expect(await cancel(now)).toMatchObject({ command: 'cancel_sm_resp', command_status: ESME_RCANCELFAIL });
    expect((await row(now)).status).toBe(2);
    expect(smpp.errors.ESME_RCANCELFAIL).toBe(ESME_RCANCELFAIL);

    expect(await c.enquireLink()).toMatchObject({ command: 'enquire_link_resp', command_status: ESME_ROK });
    expect(await c.unbind()).toMatchObject({ command: 'unbind_resp', command_status: ESME_ROK });
    // The server closes the connection after its unbind_resp, and the bind is gone from /binds.
    await leave(c);
  });

  it('refuses a wrong password with ESME_RBINDFAIL and closes the connection', async () => {
    const c = await connect();
    const resp = await c.request('bind_transceiver', { system_id: 'npm', password: 'wrong', interface_version: 0x34 });
    expect({ command: resp.command, status: resp.command_status }).toEqual({ command: 'bind_transceiver_resp', status: ESME_RBINDFAIL });
    expect(smpp.errors.ESME_RBINDFAIL).toBe(ESME_RBINDFAIL);
    await c.closed;
  });

  it('refuses a bind from an address not on the partner\'s allow-list, right password or not', async () => {
    // npm-far is allowed from 10.0.0.0/8 only; this client is on 127.0.0.1.
    const far = await connect();
    expect((await far.request('bind_transmitter', { system_id: 'npm-far', password: 'np-s3cr' })).command_status).toBe(ESME_RBINDFAIL);
    await far.closed;

    // npm is allowed from 127.0.0.1 only: from 127.0.0.2 (loopback too, another address) its right password is refused.
    const other = await connect('127.0.0.2');
    expect(other.session.socket.localAddress).toBe('127.0.0.2');
    expect((await other.request('bind_transceiver', { system_id: 'npm', password: 'np-s3cr' })).command_status).toBe(ESME_RBINDFAIL);
    await other.closed;

    // The same bind from 127.0.0.1 is taken: the address was the reason.
    const here = await bound();
    expect((await binds()).filter((b) => b.partnerId === partnerId).map((b) => b.remote.split(':')[0])).toEqual(['127.0.0.1']);
    await leave(here);
  });

  it('shows the deliver_sm a session reports in /binds: delivered, failed and their rate', async () => {
    const c = await bound();
    const session = [...t.server.app.get(SmppListener).sessions].find((s) => s.partner?.id === partnerId && s.open);
    expect(session).toBeDefined();
    // What the relay calls for each deliver_sm answered (or not) by the partner.
    session!.noteDelivered(true);
    session!.noteDelivered(true);
    session!.noteDelivered(false);
    const [state] = (await binds()).filter((b) => b.partnerId === partnerId);
    expect(state).toMatchObject({ delivered: 2, deliverFailed: 1, accepted: 0, submitsPerSecond: 0 });
    expect(state!.deliversPerSecond).toBeGreaterThan(0);
    expect(state!.deliversPerSecond).toBeLessThanOrEqual(3);
    await leave(c);
  });

  it('exports each SMPP server metric once, the sessions and the PDUs in flight by bind mode', async () => {
    const c = await bound();
    const metrics = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
    const helps = metrics.split('\n').filter((l) => l.startsWith('# HELP smsgw_smpp_server_')).map((l) => l.split(' ')[2]);
    expect(helps).toEqual([...new Set(helps)]);
    expect(helps).toEqual(expect.arrayContaining(['smsgw_smpp_server_binds_total', 'smsgw_smpp_server_submits_total', 'smsgw_smpp_server_sessions', 'smsgw_smpp_server_in_flight']));
    expect(metrics).toContain('smsgw_smpp_server_sessions{mode="transceiver"} 1');
    expect(metrics).toContain('smsgw_smpp_server_in_flight{mode="transceiver",command="submit_sm"} 0');
    expect(metrics).toContain('smsgw_smpp_server_in_flight{mode="transceiver",command="deliver_sm"} 0');
    // No partner in any label.
    expect(metrics.split('\n').filter((l) => l.startsWith('smsgw_smpp_server_') && /npm/.test(l))).toEqual([]);
    await leave(c);
  });
});
