import { createServer } from 'node:net';
import { eventually, getJson, TestEnv } from './harness';

jest.setTimeout(30_000);

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface ConnectionsBody {
  connections: Array<{ id: number; name: string; bound: boolean; sessions: Record<string, string>; routes: string[] }>;
}

describe('routing between SMSC connections', () => {
  let env: TestEnv;
  let partner: number;
  let ru: number;
  let uk: number;
  let dead: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    // Tried first for Russian numbers, but nothing listens there: messages fail over to `ru`.
    dead = await env.addConnection({ name: 'dead', port: await deadPort(), routes: ['7'], priority: -1 });
    ru = await env.addConnection({ name: 'ru', routes: ['7'], priority: 0 });
    uk = await env.addConnection({ name: 'uk', routes: ['+44'], system_id: 'second', password: 'second', bind_mode: 'transmitter_receiver' });
    await env.startConnector();
    partner = await env.createPartner();
  });
  afterAll(() => env.close());

  it('binds each connection in its mode', async () => {
    await eventually(() => expect(env.sim.control.getCounters().binds).toEqual({ transceiver: 1, transmitter: 1, receiver: 1 }));
  });

  it('sends a number by its route prefix, skipping an unbound connection (failover)', async () => {
    const ids = await env.send(partner, [{ msisdn: '79037770011' }, { msisdn: '447700900123' }]);
    const rows = await env.waitFor(ids, (m) => m.status === 2);
    expect(rows.map((r) => r.smsc_connection_id)).toEqual([ru, uk]);
    expect(env.sim.control.getSubmits(1, '79037770011')[0]!.systemId).toBe('smsgw');
    // Receipts of the transmitter's submits came on the receiver bind.
    expect(env.sim.control.getSubmits(1, '447700900123')[0]!.systemId).toBe('second');
  });

  it('takes MO on the receiver bind of a transmitter/receiver connection', async () => {
    env.sim.control.injectMo({ from: '447700900999', to: '4444', text: 'from the UK', systemId: 'second' });
    await eventually(async () => {
      const { rows } = await env.pool.query('SELECT smsc_connection_id, text FROM mo_message WHERE msisdn = $1', ['447700900999']);
      expect(rows).toEqual([{ smsc_connection_id: uk, text: 'from the UK' }]);
    });
  });

  it('retries a number no connection routes until its validity ends: 5/16', async () => {
    const [id] = await env.send(partner, [{ msisdn: '380501234561', validUntil: new Date(Date.now() + 1500) }]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await env.message(id!)).toMatchObject({ status: 1 });
    const [row] = await env.waitFor([id!], undefined, 5000);
    expect(row).toMatchObject({ status: 5, ext_status: 16, smsc_connection_id: null });
    expect(env.sim.control.getSubmits(10, '380501234561')).toEqual([]);
  });

  it('applies a route change in place, without a rebind', async () => {
    const bindsBefore = env.sim.control.getCounters().bindsAccepted;
    await env.updateConnection(uk, 'routes = $1', [['44', '380']]);
    await eventually(async () => {
      const { body } = await getJson<ConnectionsBody>(env.connector!.httpPort, '/connections');
      expect(body.connections.find((c) => c.id === uk)?.routes).toEqual(['44', '380']);
    });
    const [id] = await env.send(partner, [{ msisdn: '380501234571' }]);
    const [row] = await env.waitFor([id!], (m) => m.status === 2);
    expect(row!.smsc_connection_id).toBe(uk);
    expect(env.sim.control.getCounters().bindsAccepted).toBe(bindsBefore);
  });

  it('unbinds a disabled connection and binds it again when enabled; messages wait meanwhile', async () => {
    await env.updateConnection(ru, 'enabled = false');
    await eventually(() => expect(env.sim.control.getCounters().binds.transceiver).toBe(0));
    const [id] = await env.send(partner, [{ msisdn: '79037770021' }]);
    await new Promise((r) => setTimeout(r, 400));
    expect(await env.message(id!)).toMatchObject({ status: 1 });
    await env.updateConnection(ru, 'enabled = true');
    const [row] = await env.waitFor([id!], (m) => m.status === 2, 5000);
    expect(row!.smsc_connection_id).toBe(ru);
  });

  it('serves /connections, /health and /metrics', async () => {
    const port = env.connector!.httpPort;
    const { body } = await getJson<ConnectionsBody>(port, '/connections');
    expect(body.connections.map((c) => [c.name, c.bound, c.sessions])).toEqual([
      ['dead', false, { transceiver: 'down' }],
      ['ru', true, { transceiver: 'bound' }],
      ['uk', true, { transmitter: 'bound', receiver: 'bound' }],
    ]);
    expect(await getJson(port, '/health')).toEqual({ status: 200, body: { status: 'ok', postgres: 'ok', redis: 'ok', smsc: 'ok' } });
    expect(await getJson(port, '/health/ready')).toEqual({ status: 200, body: { status: 'ok', postgres: 'ok', redis: 'ok', smsc: 'ok' } });
    expect(await getJson(port, '/health/live')).toEqual({ status: 200, body: { status: 'ok' } });
    const metrics = (await getJson<string>(port, '/metrics')).body;
    expect(metrics).toContain('smsgw_smsc_bound{connection="ru"} 1');
    expect(metrics).toContain('smsgw_smsc_bound{connection="dead"} 0');
    expect(metrics).toMatch(/smsgw_smsc_submits_total\{connection="uk",result="accepted"\} [1-9]/);
    expect(metrics).toMatch(/smsgw_smsc_receipts_total\{connection="ru",status="delivered"\} [1-9]/);
    expect(metrics).toMatch(/smsgw_mo_received_total\{connection="uk",complete="true"\} 1/);
    expect(dead).toBeGreaterThan(0);
  });
});
