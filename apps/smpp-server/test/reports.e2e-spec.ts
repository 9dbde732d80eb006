import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeGsm7Unpacked, decodeUcs2, encodePdu, encodeUcs2, type Pdu, type PduInput } from '@smsgw/sms';
import Redis from 'ioredis';
import { rawSession, REDIS_URL, startTestSmppServer, type TestSmppServer } from './harness';
import { startPlatform, type Platform } from './platform';

const run = promisify(execFile);
const hex = (b: Buffer) => b.toString('hex');

/**
 * Reports and MO over the bind: a partner whose status and MO URLs are `smpp:` gets them as
 * deliver_sm on its receiver or transceiver binds, through the whole platform (SMPP server,
 * connector and SMSC simulator, callback worker) in this process.
 */
describe('smpp-server: reports and MO over the bind', () => {
  let t: TestSmppServer;
  let platform: Platform;

  beforeAll(async () => {
    t = await startTestSmppServer();
    // A first retry a minute away: a report or MO delivered sooner came because the partner bound.
    platform = await startPlatform(t, { CALLBACK_RETRY_FIRST_MS: '60000', CALLBACK_MO_DOWN_MS: '60000' });
  });
  afterAll(async () => {
    await platform?.close();
    await t?.close();
  });

  async function smppPartner(login: string, serviceNumber: string, settings: Record<string, unknown> = {}): Promise<number> {
    const id = await t.partner(login, 's3cret!', { senders: ['BANK'], rate_limit: 1000, status_url: 'smpp:', mo_url: 'smpp:', ...settings });
    await t.pool.query('INSERT INTO service_number (number, partner_id) VALUES ($1, $2)', [serviceNumber, id]);
    return id;
  }

  async function callback(kind: 'dlr' | 'mo', where: string, value: string): Promise<{ state: string; last_result: string | null } | undefined> {
    const { rows } = await t.pool.query<{ state: string; last_result: string | null }>(`SELECT state::text, last_result FROM callback WHERE kind = $1 AND ${where} = $2`, [kind, value]);
    return rows[0];
  }

  it('a Net::SMPP partner gets the receipts of its single, long and Unicode messages, and an MO that waited for its bind', async () => {
    await smppPartner('perlbank', '7901');
    // The MO comes before the partner binds: its push fails (no bind), and waits a minute for its retry.
    platform.sim.control.injectMo({ from: '79160000001', to: '7901', text: 'Hello, bank' });
    await waitFor(async () => (await callback('mo', 'partner_id', String(await partnerId('perlbank'))))?.last_result === 'no SMPP receiver bind', 10_000);

    const long = 'Long message from Net::SMPP. '.repeat(8);
    const { stdout } = await run(
      'perl',
      [join(__dirname, 'net-smpp-partner.pl'), '127.0.0.1', String(t.server.smppPort), 'perlbank', 's3cret!', 'BANK',
        '79161234561', '0', hex(Buffer.from('Hello from Net::SMPP')),
        '79161234562', '0', hex(Buffer.from(long)),
        '79161234563', '8', hex(encodeUcs2('Здравствуйте 👋'))],
      { timeout: 30_000, env: { ...process.env, SMPP_WAIT_DELIVERIES: '4' } },
    );
    const got = parse(stdout);
    expect(got).toMatchObject({ bind_status: '0', submit1_status: '0', submit2_status: '0', submit3_status: '0', deliveries: '4', unbind_status: '0' });
    const deliveries = [1, 2, 3, 4].map((n) => ({
      esmClass: Number(got[`deliver${n}_esm_class`]),
      dataCoding: Number(got[`deliver${n}_data_coding`]),
      source: got[`deliver${n}_source_addr`],
      destination: got[`deliver${n}_destination_addr`],
      text: Buffer.from(got[`deliver${n}_short_message_hex`] ?? '', 'hex'),
      receipted: got[`deliver${n}_receipted_message_id`],
      state: got[`deliver${n}_message_state`],
    }));
    // The MO (it was due as soon as the partner bound, not a minute later).
    const mo = deliveries.filter((d) => d.esmClass === 0);
    expect(mo).toHaveLength(1);
    expect(mo[0]).toMatchObject({ source: '79160000001', destination: '7901', dataCoding: 0 });
    expect(decodeGsm7Unpacked(mo[0]!.text)).toBe('Hello, bank');
    // One receipt per message, with the id submit_sm_resp gave, DELIVRD and message_state 2.
    const receipts = deliveries.filter((d) => d.esmClass === 4);
    const ids = [got.submit1_message_id, got.submit2_message_id, got.submit3_message_id];
    expect(receipts.map((r) => r.receipted).sort()).toEqual([...ids].sort());
    for (const r of receipts) {
      expect(r.state).toBe('2');
      expect(r.destination).toBe('BANK');
      expect(r.text.toString('latin1')).toMatch(new RegExp(`^id:${r.receipted} sub:001 dlvrd:001 submit date:\\d{10} done date:\\d{10} stat:DELIVRD err:000 text:`));
    }
    expect(receipts.find((r) => r.receipted === got.submit1_message_id)!.text.toString('latin1')).toMatch(/text:Hello from Net::SMPP$/);
    // Each report and the MO is recorded as delivered, over smpp:.
    await waitFor(async () => (await callback('mo', 'partner_id', String(await partnerId('perlbank'))))?.state === 'delivered');
    const { rows } = await t.pool.query<{ url: string; n: string }>(
      `SELECT url, count(*)::text AS n FROM callback_attempt WHERE partner_id = $1 AND http_status IS NULL AND error IS NULL GROUP BY url`,
      [await partnerId('perlbank')],
    );
    expect(rows).toEqual([{ url: 'smpp:', n: '4' }]);
  }, 40_000);

  it('refuses the bind of a partner from an address not in its allow-list', async () => {
    await t.partner('farbank', 's3cret!', { allowed_ips: ['10.0.0.0/8'], status_url: 'smpp:' });
    const { stdout } = await run('perl', [join(__dirname, 'net-smpp-partner.pl'), '127.0.0.1', String(t.server.smppPort), 'farbank', 's3cret!'], { timeout: 20_000 });
    expect(parse(stdout)).toEqual({ bind_status: '13' }); // ESME_RBINDFAIL
  });

  it('sends receipts as registered_delivery asks: none for 0, failures only for 2, every final one for 1', async () => {
    await smppPartner('rdbank', '7902');
    const s = await bind('rdbank', 'bind_transceiver');
    // The simulator delivers these, but for the number ending 0005 (UNDELIV).
    const none = await s.submit({ destination_addr: '79161110001', short_message: Buffer.from('no receipt'), registered_delivery: 0 });
    const delivered = await s.submit({ destination_addr: '79161110011', short_message: Buffer.from('failures only'), registered_delivery: 2 });
    const failed = await s.submit({ destination_addr: '79161110005', short_message: Buffer.from('failures only'), registered_delivery: 2 });
    const every = await s.submit({ destination_addr: '79161110021', short_message: Buffer.from('every receipt'), registered_delivery: 1 });
    const receipts = [await s.deliver(), await s.deliver()];
    const byId = new Map(receipts.map((r) => [tlvText(r, 0x001e), r]));
    expect([...byId.keys()].sort()).toEqual([every, failed].sort());
    expect((byId.get(failed)!.params.short_message as Buffer).toString()).toContain('stat:UNDELIV');
    expect(byId.get(every)!.params).toMatchObject({ esm_class: 4, source_addr: '79161110021', destination_addr: 'BANK' });
    // The other two are final too, and reported to nobody.
    await waitFor(async () => {
      const { rows } = await t.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message WHERE id = ANY($1::bigint[]) AND status = 2', [[none, delivered]]);
      return rows[0]!.n === '2';
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(s.pending()).toBe(0);
    s.close();
  }, 20_000);

  it('sends a long Unicode MO as concatenated segments, and MO in the order they came', async () => {
    await smppPartner('mobank', '7903');
    const s = await bind('mobank', 'bind_receiver');
    const long = 'Привет, банк! Это длинное сообщение. '.repeat(3);
    platform.sim.control.injectMo({ from: '79160000002', to: '7903', text: long });
    const segments = [await s.deliver(), await s.deliver()];
    const total = (segments[0]!.params.short_message as Buffer)[4]!;
    while (segments.length < total) segments.push(await s.deliver());
    let text = '';
    for (const [i, seg] of segments.entries()) {
      const sm = seg.params.short_message as Buffer;
      expect(seg.params).toMatchObject({ esm_class: 0x40, data_coding: 8, source_addr: '79160000002', destination_addr: '7903' });
      expect([sm[0], sm[1], sm[2], sm[4], sm[5]]).toEqual([5, 0, 3, total, i + 1]);
      text += decodeUcs2(sm.subarray(6));
    }
    expect(text).toBe(long);
    for (const n of [1, 2, 3, 4, 5]) platform.sim.control.injectMo({ from: '79160000003', to: '7903', text: `MO number ${n}` });
    const order: string[] = [];
    for (let n = 0; n < 5; n++) order.push(decodeGsm7Unpacked((await s.deliver()).params.short_message as Buffer));
    expect(order).toEqual(['MO number 1', 'MO number 2', 'MO number 3', 'MO number 4', 'MO number 5']);
    // The bind's figures count each deliver_sm the partner acknowledged.
    const binds = (await (await fetch(`http://127.0.0.1:${t.server.httpPort}/binds`)).json()) as { binds: { login: string; delivered: number; deliverFailed: number; deliversPerSecond: number }[] };
    const mine = binds.binds.find((b) => b.login === 'mobank')!;
    expect(mine).toMatchObject({ delivered: segments.length + 5, deliverFailed: 0 });
    expect(mine.deliversPerSecond).toBeGreaterThan(0);
    s.close();
  }, 20_000);

  it('keeps a report the partner refused, and delivers it again on its next bind', async () => {
    await smppPartner('nackbank', '7904');
    const s = await bind('nackbank', 'bind_transceiver', { refuse: true });
    const id = await s.submit({ destination_addr: '79161110004', short_message: Buffer.from('refused once'), registered_delivery: 1 });
    const refused = await s.deliver();
    expect(tlvText(refused, 0x001e)).toBe(id);
    await waitFor(async () => (await callback('dlr', 'message_id', id))?.last_result === 'smpp: deliver_sm_resp ESME_RX_T_APPN');
    s.close();
    // The retry is a minute away; a new bind brings the report at once.
    const again = await bind('nackbank', 'bind_receiver');
    expect(tlvText(await again.deliver(), 0x001e)).toBe(id);
    await waitFor(async () => (await callback('dlr', 'message_id', id))?.state === 'delivered');
    again.close();
  }, 20_000);

  it('holds a partner\'s receipts while it has no receiver bind, its breaker open, and sends them all when it binds', async () => {
    await smppPartner('awaybank', '7905');
    // A transmitter bind sends, and takes no deliver_sm: every receipt fails (no receiver bind);
    // after 5 failures in a row the partner's breaker opens.
    const tx = await rawSession(t.server.smppPort);
    tx.write(encodePdu({ command: 'bind_transmitter', sequence: 1, params: { system_id: 'awaybank', password: 's3cret!', interface_version: 0x34 } }));
    expect(await tx.next()).toMatchObject({ status: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      tx.write(encodePdu({ command: 'submit_sm', sequence: 2 + i, params: { source_addr_ton: 5, source_addr: 'BANK', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: `7916222000${i + 1}`, short_message: Buffer.from(`away ${i}`), registered_delivery: 1 } }));
      ids.push((await tx.next())!.params.message_id as string);
    }
    // Reports fail (no receiver bind) until the breaker opens: the others wait without an attempt.
    const redis = new Redis(REDIS_URL);
    const breaker = `${t.prefix}:cb:dlr:${await partnerId('awaybank')}:breaker`;
    await waitFor(async () => Number(await redis.hget(breaker, 'until')) > Date.now());
    redis.disconnect();
    const { rows } = await t.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM callback WHERE message_id = ANY($1::bigint[]) AND last_result = 'no SMPP receiver bind'`, [ids]);
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(5);
    const bound = Date.now();
    const rx = await bind('awaybank', 'bind_receiver');
    const got: string[] = [];
    for (let i = 0; i < ids.length; i++) got.push(tlvText(await rx.deliver(), 0x001e)!);
    expect(got.sort()).toEqual([...ids].sort());
    // Well before a retry (a minute) or the breaker's reopening would have brought them.
    expect(Date.now() - bound).toBeLessThan(8000);
    rx.close();
    tx.close();
  }, 30_000);

  it('answers each item of a relay request on its own: one it cannot take fails alone', async () => {
    const id = await smppPartner('relaybank', '7906');
    const rx = await bind('relaybank', 'bind_receiver');
    const post = async (body: unknown) => {
      const res = await fetch(`http://127.0.0.1:${t.server.httpPort}/deliver`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { results?: { ok: boolean; error?: string }[] } };
    };
    const good = { kind: 'mo', moId: '900', msisdn: '79160000009', serviceNumber: '7906', text: 'fine' };
    const answer = await post({ timeoutMs: 5000, items: [{ partnerId: id, item: { ...good, moId: 'not a number' } }, { partnerId: id, item: good }, { partnerId: id + 1000, item: good }] });
    expect(answer.status).toBe(200);
    expect(answer.body.results).toEqual([
      { ok: false, error: expect.stringContaining('not a report or MO the relay takes: moId') },
      { ok: true },
      { ok: false, error: 'no receiver or transceiver bind' },
    ]);
    expect(decodeGsm7Unpacked((await rx.deliver()).params.short_message as Buffer)).toBe('fine');
    // A request that is not a relay request at all: 400, nothing sent.
    expect((await post({ items: [] })).status).toBe(400);
    rx.close();
  });

  async function partnerId(login: string): Promise<number> {
    const { rows } = await t.pool.query<{ id: number }>('SELECT id FROM partner WHERE login = $1', [login]);
    return rows[0]!.id;
  }

  /**
   * A raw session bound as `mode`: submit answers the stored message's id; deliver waits for the
   * next deliver_sm and acknowledges it (with ESME_RX_T_APPN when `refuse`).
   */
  async function bind(login: string, mode: 'bind_receiver' | 'bind_transceiver', opts: { refuse?: boolean } = {}) {
    const s = await rawSession(t.server.smppPort);
    s.write(encodePdu({ command: mode, sequence: 1, params: { system_id: login, password: 's3cret!', interface_version: 0x34 } }));
    expect(await s.next()).toMatchObject({ status: 0 });
    let sequence = 1;
    const delivers: Pdu[] = [];
    const answers = new Map<number, Pdu>();
    const waiters: (() => void)[] = [];
    void (async () => {
      for (let pdu = await s.next(); pdu; pdu = await s.next()) {
        if (pdu.command === 'deliver_sm') {
          s.write(encodePdu({ command: 'deliver_sm_resp', sequence: pdu.sequence, status: opts.refuse ? 0x64 : 0, params: { message_id: '' } }));
          delivers.push(pdu);
        } else answers.set(pdu.sequence, pdu);
        waiters.splice(0).forEach((w) => w());
      }
    })();
    const until = async <T>(take: () => T | undefined, ms = 10_000): Promise<T> => {
      const deadline = Date.now() + ms;
      for (let v = take(); ; v = take()) {
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error('nothing came in time');
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    };
    return {
      async submit(params: NonNullable<PduInput['params']>): Promise<string> {
        const seq = ++sequence;
        s.write(encodePdu({ command: 'submit_sm', sequence: seq, params: { source_addr_ton: 5, source_addr: 'BANK', dest_addr_ton: 1, dest_addr_npi: 1, ...params } }));
        const resp = await until(() => answers.get(seq));
        expect(resp).toMatchObject({ command: 'submit_sm_resp', status: 0 });
        return resp.params.message_id as string;
      },
      deliver: () => until(() => delivers.shift()),
      pending: () => delivers.length,
      close: () => s.close(),
    };
  }
});

function tlvText(pdu: Pdu, tag: number): string | undefined {
  return pdu.tlvs.find((t) => t.tag === tag)?.value.toString('latin1').replace(/\0+$/, '');
}

function parse(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
