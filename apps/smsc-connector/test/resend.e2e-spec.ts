import { connectorMetrics } from '../src/metrics';
import { eventually, sleep, TcpProxy, TestEnv } from './harness';

jest.setTimeout(60_000);

const bound = (env: TestEnv): Promise<void> =>
  eventually(() => expect(Object.values(env.sim.control.getCounters().binds).reduce((a, b) => a + b, 0)).toBeGreaterThan(0), 10_000);

const ignored = async (): Promise<number> => (await connectorMetrics.resendsIgnored.get()).values.reduce((n, v) => n + v.value, 0);

/**
 * The link breaks after the connector answered a deliver_sm and before the SMSC had the answer:
 * the SMSC sends the same PDU again on the next bind. The MO is stored and pushed once; the same
 * text sent again by the subscriber later is a new MO.
 */
describe('a deliver_sm whose answer was lost with the link', () => {
  let env: TestEnv;
  let proxy: TcpProxy;

  beforeAll(async () => {
    env = await TestEnv.create();
    proxy = await TcpProxy.start(env.sim.smppPort);
    await env.addConnection({ name: 'resend', port: proxy.port });
    await env.startConnector({ CONNECTOR_RECONNECT_BASE_MS: '100', CONNECTOR_RECONNECT_MAX_MS: '200' });
    const owner = await env.createPartner({ mo_url: 'http://partner.example/mo' });
    await env.addServiceNumber('4545', owner);
    await bound(env);
  });
  afterAll(async () => {
    await env.close();
    await proxy.close();
  });

  const stored = async (msisdn: string): Promise<string[]> =>
    (await env.pool.query<{ text: string }>('SELECT text FROM mo_message WHERE msisdn = $1 ORDER BY id', [msisdn])).rows.map((r) => r.text);

  it('is taken as the SMSC resending it: stored once; a later identical MO is stored again', async () => {
    const before = await ignored();
    const acked = env.sim.control.getCounters().mo.acked;
    proxy.dropFromClients();
    env.sim.control.injectMo({ from: '+79051112233', to: '4545', text: 'YES' });
    // Journaled and answered; the answer goes nowhere.
    await eventually(async () => expect(await stored('79051112233')).toEqual(['YES']), 10_000);
    await sleep(200);
    expect(env.sim.control.getCounters().mo.acked).toBe(acked);
    proxy.down();
    proxy.up();
    // The SMSC sends it again on the next bind, and has its answer this time.
    await eventually(() => expect(env.sim.control.getCounters().mo.acked).toBe(acked + 1), 20_000);
    expect(await ignored()).toBe(before + 1);
    await sleep(500);
    expect(await stored('79051112233')).toEqual(['YES']);

    // The subscriber sends the same text again: a message of its own.
    env.sim.control.injectMo({ from: '+79051112233', to: '4545', text: 'YES' });
    await eventually(async () => expect(await stored('79051112233')).toEqual(['YES', 'YES']), 10_000);
    expect(await ignored()).toBe(before + 1);
  });
});

/** An SMSC that unbinds (maintenance) had every answer sent before: nothing is expected back. */
describe('a link the SMSC ended with an unbind', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await TestEnv.create();
    await env.addConnection({ name: 'unbound' });
    await env.startConnector({ CONNECTOR_RECONNECT_BASE_MS: '100', CONNECTOR_RECONNECT_MAX_MS: '200' });
    const owner = await env.createPartner({ mo_url: 'http://partner.example/mo' });
    await env.addServiceNumber('4546', owner);
    await bound(env);
  });
  afterAll(() => env.close());

  const stored = async (msisdn: string): Promise<string[]> =>
    (await env.pool.query<{ text: string }>('SELECT text FROM mo_message WHERE msisdn = $1 ORDER BY id', [msisdn])).rows.map((r) => r.text);

  it('takes the same MO right after the new bind as a new message', async () => {
    const before = await ignored();
    env.sim.control.injectMo({ from: '+79052223344', to: '4546', text: 'YES' });
    await eventually(async () => expect(await stored('79052223344')).toEqual(['YES']), 10_000);
    await env.restartSimulator({ unbind: true, downMs: 100 });
    await bound(env);
    env.sim.control.injectMo({ from: '+79052223344', to: '4546', text: 'YES' });
    await eventually(async () => expect(await stored('79052223344')).toEqual(['YES', 'YES']), 10_000);
    expect(await ignored()).toBe(before);
  });
});
