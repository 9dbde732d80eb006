import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodePdu, SmppStatus } from '@smsgw/sms';
import { hashApiPassword } from '@smsgw/db';
import { PartnerCache } from '@smsgw/intake';
import { PEPPER, rawSession, REDIS_URL, startTestSmppServer, type TestSmppServer } from './harness';

const run = promisify(execFile);
// The `smpp` npm package: the connector's client library, not used by this server.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const smpp = require('smpp') as {
  connect(options: { url: string }): SmppClient;
};
interface SmppClient {
  on(event: string, listener: (...args: unknown[]) => void): void;
  bind_transceiver(options: Record<string, unknown>, cb: (pdu: { command_status: number; system_id?: string }) => void): void;
  bind_transmitter(options: Record<string, unknown>, cb: (pdu: { command_status: number; system_id?: string }) => void): void;
  unbind(cb: (pdu: { command_status: number }) => void): void;
  close(): void;
}

describe('smpp-server: binds', () => {
  let t: TestSmppServer;
  const port = () => t.server.smppPort;

  const bindWithNpmClient = (systemId: string, password: string, mode: 'bind_transceiver' | 'bind_transmitter' = 'bind_transceiver') =>
    new Promise<{ status: number; systemId?: string; client: SmppClient }>((resolve, reject) => {
      const client = smpp.connect({ url: `smpp://127.0.0.1:${port()}` });
      client.on('error', (e) => reject(e as Error));
      client[mode]({ system_id: systemId, password, interface_version: 0x34 }, (pdu) => resolve({ status: pdu.command_status, systemId: pdu.system_id, client }));
    });

  beforeAll(async () => {
    t = await startTestSmppServer({ SMPP_BIND_TIMEOUT_MS: '1500', SMPP_INACTIVITY_TIMEOUT_MS: '1500', SMPP_BIND_MAX_FAILURES: '3' });
    await t.partner('bank', 's3cret!', { smpp_max_binds: 2 });
    await t.partner('elsewhere', 's3cret!', { allowed_ips: ['10.1.2.0/24'] });
    await t.partner('httponly', null);
    await t.partner('blocked', 's3cret!', { status: 'blocked' });
    await t.partner('guessed', 's3cret!');
    await t.partner('rotated', 's3cret!');
    await t.partner('later-blocked', 's3cret!');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('binds a partner with Perl Net::SMPP, answers enquire_link and unbind', async () => {
    try {
      await run('perl', ['-MNet::SMPP', '-e', '1']);
    } catch {
      throw new Error('Perl module Net::SMPP is missing: install it with `apt-get install -y libnet-smpp-perl`');
    }
    const { stdout } = await run('perl', [join(__dirname, 'net-smpp-partner.pl'), '127.0.0.1', String(port()), 'bank', 's3cret!'], { timeout: 30_000 });
    expect(stdout.trim().split('\n')).toEqual(['bind_status=0', 'bind_system_id=smsgw', 'enquire_link_status=0', 'unbind_status=0']);
  });

  it('refuses a wrong password with ESME_RBINDFAIL (Net::SMPP)', async () => {
    const { stdout } = await run('perl', [join(__dirname, 'net-smpp-partner.pl'), '127.0.0.1', String(port()), 'bank', 'wrong'], { timeout: 30_000 });
    expect(stdout.trim()).toBe(`bind_status=${SmppStatus.ESME_RBINDFAIL}`);
  });

  it('binds with the smpp npm package; the same ESME_RBINDFAIL for every refusal, whatever the reason', async () => {
    const ok = await bindWithNpmClient('bank', 's3cret!', 'bind_transmitter');
    expect(ok).toMatchObject({ status: 0, systemId: 'smsgw' });
    await new Promise<void>((resolve) => ok.client.unbind(() => resolve()));
    ok.client.close();

    for (const [login, password] of [
      ['elsewhere', 's3cret!'], // right password, address not on its allow-list
      ['nobody', 's3cret!'], // no such login
      ['httponly', ''], // no SMPP password set
      ['blocked', 's3cret!'], // blocked partner
      ['bank', 'S3CRET!'], // wrong password
    ] as const) {
      const refused = await bindWithNpmClient(login, password);
      expect({ login, status: refused.status }).toEqual({ login, status: SmppStatus.ESME_RBINDFAIL });
      refused.client.close();
    }
  });

  it('locks a login after SMPP_BIND_MAX_FAILURES failed binds, right password or not; other logins still bind', async () => {
    for (const guess of ['aaaaaaaa', 'bbbbbbbb', 'cccccccc']) {
      const r = await bindWithNpmClient('guessed', guess);
      expect(r.status).toBe(SmppStatus.ESME_RBINDFAIL);
      r.client.close();
    }
    const right = await bindWithNpmClient('guessed', 's3cret!');
    expect(right.status).toBe(SmppStatus.ESME_RBINDFAIL);
    right.client.close();
    const other = await bindWithNpmClient('bank', 's3cret!');
    expect(other.status).toBe(0);
    other.client.close();
  });

  it('unbinds the sessions of a partner whose SMPP password changes or who is blocked, and keeps the others', async () => {
    const bindRaw = async (login: string) => {
      const s = await rawSession(port());
      s.write(encodePdu({ command: 'bind_transceiver', sequence: 1, params: { system_id: login, password: 's3cret!' } }));
      expect(await s.next()).toMatchObject({ status: 0 });
      return s;
    };
    const rotated = await bindRaw('rotated');
    const blocked = await bindRaw('later-blocked');
    const untouched = await bindRaw('bank');
    await new Promise((r) => setTimeout(r, 20)); // the changes below come after the binds
    await t.pool.query(`UPDATE partner SET smpp_password_hash = $1, updated_at = now() WHERE login = 'rotated'`, [hashApiPassword('n3w-pass', PEPPER)]);
    await t.pool.query(`UPDATE partner SET status = 'blocked', updated_at = now() WHERE login = 'later-blocked'`);
    // What the CLI's announcement makes every server do.
    await t.server.app.get(PartnerCache).reloadAll();
    for (const s of [rotated, blocked]) {
      const unbind = await s.next();
      expect(unbind).toMatchObject({ command: 'unbind' });
      s.write(encodePdu({ command: 'unbind_resp', sequence: unbind!.sequence }));
      expect(await s.next()).toBeNull();
    }
    untouched.write(encodePdu({ command: 'enquire_link', sequence: 2 }));
    expect(await untouched.next()).toMatchObject({ command: 'enquire_link_resp', sequence: 2 });
    untouched.close();
  });

  it('holds a partner to its number of simultaneous binds, and frees a bind when its connection ends', async () => {
    const first = await bindWithNpmClient('bank', 's3cret!');
    const second = await bindWithNpmClient('bank', 's3cret!');
    expect([first.status, second.status]).toEqual([0, 0]);
    const third = await bindWithNpmClient('bank', 's3cret!');
    expect(third.status).toBe(SmppStatus.ESME_RBINDFAIL);
    third.client.close();
    first.client.close();
    // The server sees the close and gives the slot back.
    const deadline = Date.now() + 5000;
    let again = await bindWithNpmClient('bank', 's3cret!');
    while (again.status !== 0 && Date.now() < deadline) {
      again.client.close();
      await new Promise((r) => setTimeout(r, 50));
      again = await bindWithNpmClient('bank', 's3cret!');
    }
    expect(again.status).toBe(0);
    again.client.close();
    second.client.close();
  });

  it('holds the limit across instances: a second server on the same database and Redis counts the first one\'s binds', async () => {
    const { startSmppServer } = await import('../src/bootstrap');
    const { loadSmppServerConfig } = await import('../src/config');
    const other = await startSmppServer(
      loadSmppServerConfig({ DATABASE_URL: t.dbUrl, REDIS_URL, REDIS_PREFIX: t.prefix, LOG_LEVEL: 'silent', API_PASSWORD_PEPPER: PEPPER, SMPP_SERVER_PORT: '0', SMPP_SERVER_HOST: '127.0.0.1', SMPP_SERVER_HTTP_PORT: '0', SMPP_SERVER_HTTP_HOST: '127.0.0.1' }),
    );
    try {
      const { Startup } = await import('@smsgw/common');
      await other.app.get(Startup).started();
      const bindOn = async (smppPort: number) => {
        const s = await rawSession(smppPort);
        s.write(encodePdu({ command: 'bind_transceiver', sequence: 1, params: { system_id: 'bank', password: 's3cret!', interface_version: 0x34 } }));
        return { status: (await s.next())!.status, session: s };
      };
      // bank may hold 2 binds: one here, one on the other instance; a third on either is refused.
      const here = await bindOn(port());
      const there = await bindOn(other.smppPort);
      expect([here.status, there.status]).toEqual([0, 0]);
      expect((await bindOn(port())).status).toBe(SmppStatus.ESME_RBINDFAIL);
      expect((await bindOn(other.smppPort)).status).toBe(SmppStatus.ESME_RBINDFAIL);
      // The other instance's bind ends: its slot is free for a bind here.
      there.session.close();
      const deadline = Date.now() + 5000;
      let again = await bindOn(port());
      while (again.status !== 0 && Date.now() < deadline) {
        again.session.close();
        await new Promise((r) => setTimeout(r, 50));
        again = await bindOn(port());
      }
      expect(again.status).toBe(0);
      again.session.close();
      here.session.close();
    } finally {
      await other.close();
    }
  });

  it('answers a request before the bind with ESME_RINVBNDSTS, a second bind with ESME_RALYBND, an unknown command with generic_nack', async () => {
    const s = await rawSession(port());
    s.write(encodePdu({ command: 'submit_sm', sequence: 5, params: { destination_addr: '79161234567', short_message: Buffer.from('early') } }));
    expect(await s.next()).toMatchObject({ command: 'submit_sm_resp', sequence: 5, status: SmppStatus.ESME_RINVBNDSTS });
    s.write(encodePdu({ command: 'enquire_link', sequence: 6 }));
    expect(await s.next()).toMatchObject({ command: 'enquire_link_resp', sequence: 6, status: 0 });

    s.write(encodePdu({ command: 'bind_transceiver', sequence: 7, params: { system_id: 'bank', password: 's3cret!', interface_version: 0x34 } }));
    expect(await s.next()).toMatchObject({ command: 'bind_transceiver_resp', sequence: 7, status: 0, params: { system_id: 'smsgw' } });
    s.write(encodePdu({ command: 'bind_receiver', sequence: 8, params: { system_id: 'bank', password: 's3cret!' } }));
    expect(await s.next()).toMatchObject({ command: 'bind_receiver_resp', sequence: 8, status: SmppStatus.ESME_RALYBND });

    const unknown = Buffer.alloc(16);
    unknown.writeUInt32BE(16, 0);
    unknown.writeUInt32BE(0x00000222, 4);
    unknown.writeUInt32BE(9, 12);
    s.write(unknown);
    expect(await s.next()).toMatchObject({ command: 'generic_nack', sequence: 9, status: SmppStatus.ESME_RINVCMDID });

    // A PDU it can read the header of but not the body: generic_nack with the reason, the session stays.
    const bad = encodePdu({ command: 'query_sm', sequence: 10, params: { message_id: 'abc' } });
    const cut = Buffer.from(bad.subarray(0, 18));
    cut.writeUInt32BE(18, 0);
    s.write(cut);
    expect(await s.next()).toMatchObject({ command: 'generic_nack', sequence: 10, status: SmppStatus.ESME_RINVCMDLEN });

    s.write(encodePdu({ command: 'unbind', sequence: 11 }));
    expect(await s.next()).toMatchObject({ command: 'unbind_resp', sequence: 11, status: 0 });
    expect(await s.next()).toBeNull();
  });

  it('closes a connection whose command_length cannot be a PDU', async () => {
    const s = await rawSession(port());
    s.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0]));
    expect(await s.next()).toMatchObject({ command: 'generic_nack', status: SmppStatus.ESME_RINVCMDLEN });
    expect(await s.next()).toBeNull();
  });

  it('closes a connection that does not bind in time, and unbinds a silent bound one', async () => {
    const idle = await rawSession(port());
    expect(await idle.next()).toBeNull(); // closed after SMPP_BIND_TIMEOUT_MS, nothing said

    const silent = await rawSession(port());
    silent.write(encodePdu({ command: 'bind_transmitter', sequence: 1, params: { system_id: 'bank', password: 's3cret!' } }));
    expect(await silent.next()).toMatchObject({ command: 'bind_transmitter_resp', status: 0 });
    const unbind = await silent.next();
    expect(unbind).toMatchObject({ command: 'unbind' });
    silent.write(encodePdu({ command: 'unbind_resp', sequence: unbind!.sequence }));
    expect(await silent.next()).toBeNull();
  });
});
