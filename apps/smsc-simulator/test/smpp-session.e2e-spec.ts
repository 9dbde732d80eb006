import { connect as tcpConnect } from 'node:net';
import type { RunningSimulator } from '../src/simulator';
import { api, eventually, startTestSimulator, TestEsme } from './harness';

describe('SMPP sessions', () => {
  let sim: RunningSimulator;
  const esmes: TestEsme[] = [];
  const esme = async (...args: Parameters<typeof TestEsme.bound>): Promise<TestEsme> => {
    const e = await TestEsme.bound(...args);
    esmes.push(e);
    return e;
  };

  beforeAll(async () => {
    sim = await startTestSimulator();
  });
  afterEach(async () => {
    await Promise.all(esmes.splice(0).map((e) => e.close()));
  });
  afterAll(async () => {
    await sim.close();
  });

  it('accepts each bind mode with the right credentials and counts the binds', async () => {
    await esme(sim.smppPort, 'transmitter');
    await esme(sim.smppPort, 'receiver');
    const trx = await TestEsme.connect(sim.smppPort);
    esmes.push(trx);
    const resp = await trx.bind('transceiver', 'other', 'secret');
    expect(resp.command_status).toBe(0);
    expect(resp.system_id).toBe('SMSCSIM');

    const { body } = await api<{ binds: Record<string, number> }>(sim, 'GET', '/counters');
    expect(body.binds).toEqual({ transmitter: 1, receiver: 1, transceiver: 1 });
  });

  it('refuses a wrong password with ESME_RINVPASWD and an unknown system_id with ESME_RBINDFAIL, then closes', async () => {
    const wrongPassword = await TestEsme.connect(sim.smppPort);
    esmes.push(wrongPassword);
    expect((await wrongPassword.bind('transceiver', 'smsgw', 'nope')).command_status).toBe(0x0e);
    await eventually(() => expect(wrongPassword.closed).toBe(true));

    const unknown = await TestEsme.connect(sim.smppPort);
    esmes.push(unknown);
    expect((await unknown.bind('transmitter', 'nobody', 'smsgw')).command_status).toBe(0x0d);
  });

  it('answers a second bind on the same session with ESME_RALYBND', async () => {
    const e = await esme(sim.smppPort, 'transceiver');
    expect((await e.bind('transceiver')).command_status).toBe(0x05);
  });

  it('answers enquire_link, bound or not', async () => {
    const unbound = await TestEsme.connect(sim.smppPort);
    esmes.push(unbound);
    expect((await unbound.request('enquire_link')).command).toBe('enquire_link_resp');
    const bound = await esme(sim.smppPort);
    const resp = await bound.request('enquire_link');
    expect(resp.command).toBe('enquire_link_resp');
    expect(resp.command_status).toBe(0);
  });

  it('refuses submit_sm before a bind and on a receiver bind with ESME_RINVBNDSTS', async () => {
    const unbound = await TestEsme.connect(sim.smppPort);
    esmes.push(unbound);
    expect((await unbound.submit({ destination_addr: '79001234567', short_message: Buffer.from('x') })).command_status).toBe(0x04);
    const receiver = await esme(sim.smppPort, 'receiver');
    expect((await receiver.submit({ destination_addr: '79001234567', short_message: Buffer.from('x') })).command_status).toBe(0x04);
  });

  it('answers unknown and unsupported commands with generic_nack ESME_RINVCMDID', async () => {
    const e = await esme(sim.smppPort);
    const unknownCommand = Buffer.alloc(16);
    unknownCommand.writeUInt32BE(16, 0);
    unknownCommand.writeUInt32BE(0x00000099, 4);
    unknownCommand.writeUInt32BE(77, 12);
    const nack = new Promise<{ status: number; seq: number }>((resolve) =>
      e.session.once('generic_nack', (pdu) => resolve({ status: pdu.command_status, seq: pdu.sequence_number })),
    );
    e.session.socket.write(unknownCommand);
    expect(await nack).toEqual({ status: 0x03, seq: 77 });

    const query = await e.request('query_sm', { message_id: 'abc' });
    expect(query.command).toBe('generic_nack');
    expect(query.command_status).toBe(0x03);
  });

  it('answers a malformed submit_sm with generic_nack ESME_RINVCMDLEN and stays up', async () => {
    const e = await esme(sim.smppPort);
    const truncated = Buffer.alloc(20);
    truncated.writeUInt32BE(20, 0);
    truncated.writeUInt32BE(0x00000004, 4);
    truncated.writeUInt32BE(5, 12);
    truncated.write('abcd', 16, 'latin1'); // a service_type with no terminating NUL
    const nack = new Promise<number>((resolve) => e.session.once('generic_nack', (pdu) => resolve(pdu.command_status)));
    e.session.socket.write(truncated);
    expect(await nack).toBe(0x02);
    expect((await e.request('enquire_link')).command_status).toBe(0);
  });

  it('drops a connection whose command_length is impossible', async () => {
    const socket = tcpConnect(sim.smppPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => undefined);
    socket.write(Buffer.from([0, 0, 0, 3, 0, 0, 0, 0]));
    await closed;
  });

  it('answers unbind with unbind_resp and closes the connection', async () => {
    const e = await esme(sim.smppPort, 'transmitter');
    const resp = await e.request('unbind');
    expect(resp.command).toBe('unbind_resp');
    expect(resp.command_status).toBe(0);
    await eventually(() => expect(e.closed).toBe(true));
    const { body } = await api<{ binds: Record<string, number> }>(sim, 'GET', '/counters');
    expect(body.binds.transmitter).toBe(0);
  });
});

describe('stopping and restarting', () => {
  it('unbinds bound ESMEs on close and can listen on the same SMPP port again at once', async () => {
    const first = await startTestSimulator();
    const port = first.smppPort;
    const esme = await TestEsme.bound(port);
    const unbound = new Promise<void>((resolve) => esme.session.once('unbind', () => resolve()));
    await first.close();
    await unbound;
    await eventually(() => expect(esme.closed).toBe(true));

    const second = await startTestSimulator({ smppPort: port });
    try {
      expect(second.smppPort).toBe(port);
      const again = await TestEsme.bound(port);
      await again.close();
    } finally {
      await second.close();
    }
  });

  it('drops ESMEs without unbind when closed like a crash', async () => {
    const sim = await startTestSimulator();
    const esme = await TestEsme.bound(sim.smppPort);
    let gotUnbind = false;
    esme.session.on('unbind', () => {
      gotUnbind = true;
    });
    await sim.close({ unbind: false });
    await eventually(() => expect(esme.closed).toBe(true));
    expect(gotUnbind).toBe(false);
  });
});
