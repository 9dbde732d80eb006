import { encodeGsm7Unpacked } from '@smsgw/sms';
import type { RunningSimulator } from '../src/simulator';
import type { SubmitRecord } from '../src/submits/submit-record';
import { api, eventually, startTestSimulator, TestEsme } from './harness';

describe('control API', () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('counts binds, submits, receipts, MO and enquire_link, and /reset clears them with records, rules and pending receipts', async () => {
    const esme = await TestEsme.bound(sim.smppPort);
    try {
      await esme.request('enquire_link');
      for (let i = 0; i < 3; i++) {
        await esme.submit({ destination_addr: `7900555000${i + 1}`, registered_delivery: 1, short_message: encodeGsm7Unpacked('count me') });
      }
      await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'hi' });
      await eventually(async () => {
        const { body } = await api(sim, 'GET', '/counters');
        expect(body).toMatchObject({
          binds: { transmitter: 0, receiver: 0, transceiver: 1 },
          bindsAccepted: 1,
          submits: 3,
          throttled: 0,
          receipts: { sent: 3, acked: 3, pending: 0, queued: 0 },
          mo: { messages: 1, segments: 1, acked: 1 },
          enquireLinks: 1,
          errors: 0,
        });
      });

      await api(sim, 'POST', '/rules', { rules: [{ suffix: '9', stat: 'UNDELIV', err: 5, delayMs: 60_000 }] });
      await esme.submit({ destination_addr: '79005550009', registered_delivery: 1, short_message: encodeGsm7Unpacked('pending') });
      expect((await api<{ receipts: { pending: number } }>(sim, 'GET', '/counters')).body.receipts.pending).toBe(1);

      expect(await api(sim, 'POST', '/reset')).toEqual({ status: 200, body: { reset: true } });
      const after = await api<Record<string, unknown>>(sim, 'GET', '/counters');
      expect(after.body).toMatchObject({
        binds: { transceiver: 1 },
        bindsAccepted: 0,
        submits: 0,
        receipts: { sent: 0, acked: 0, pending: 0 },
        mo: { messages: 0 },
        enquireLinks: 0,
      });
      expect((await api<SubmitRecord[]>(sim, 'GET', '/submits')).body).toEqual([]);
      expect((await api(sim, 'GET', '/rules')).body).toEqual({ rules: [] });
    } finally {
      await esme.close();
    }
  });

  it('lists recorded submits newest last, limited and filtered by destination', async () => {
    const esme = await TestEsme.bound(sim.smppPort, 'transmitter');
    try {
      for (const dest of ['79001110001', '79001110002', '79001110001', '79001110003']) {
        await esme.submit({ destination_addr: dest, short_message: encodeGsm7Unpacked(`to ${dest}`) });
      }
      const last2 = await api<SubmitRecord[]>(sim, 'GET', '/submits?limit=2');
      expect(last2.body.map((r) => r.destinationAddr)).toEqual(['79001110001', '79001110003']);
      const toOne = await api<SubmitRecord[]>(sim, 'GET', '/submits?dest=79001110001');
      expect(toOne.body.map((r) => r.text)).toEqual(['to 79001110001', 'to 79001110001']);
      expect((await api(sim, 'GET', '/submits?limit=0')).status).toBe(400);
    } finally {
      await esme.close();
      sim.control.reset();
    }
  });

  it('changes settings at run time and refuses what it does not understand', async () => {
    const changed = await api(sim, 'PUT', '/config', {
      dlrDelayMs: 50,
      outcomes: 'DELIVRD=0.9,UNDELIV:011=0.1',
      tps: 100,
      window: 10,
      responseDelayMs: 5,
      idFormat: 'decimal',
    });
    expect(changed).toEqual({
      status: 200,
      body: {
        dlrDelayMs: 50,
        outcomes: [
          { stat: 'DELIVRD', err: 0, weight: 0.9 },
          { stat: 'UNDELIV', err: 11, weight: 0.1 },
        ],
        tps: 100,
        window: 10,
        responseDelayMs: 5,
        idFormat: 'decimal',
      },
    });
    const esme = await TestEsme.bound(sim.smppPort, 'transmitter');
    try {
      const resp = await esme.submit({ destination_addr: '79001112233', short_message: Buffer.from('x') });
      expect(resp.message_id).toMatch(/^\d+$/);
    } finally {
      await esme.close();
    }

    expect((await api(sim, 'PUT', '/config', { idFormat: 'base64' })).status).toBe(400);
    expect((await api(sim, 'PUT', '/config', { outcomes: 'DELIVERED=1' })).status).toBe(400);
    expect((await api(sim, 'PUT', '/config', { tpss: 1 })).status).toBe(400);
    expect((await api(sim, 'POST', '/rules', { rules: [{ suffix: '1', stat: 'LOST' }] })).status).toBe(400);
    expect((await api(sim, 'GET', '/config')).body).toMatchObject({ idFormat: 'decimal', tps: 100 });
    await api(sim, 'PUT', '/config', { dlrDelayMs: 20, outcomes: 'DELIVRD=1', tps: 0, window: 100, responseDelayMs: 0, idFormat: 'hex' });
  });

  it('reports health and Prometheus metrics', async () => {
    expect(await api(sim, 'GET', '/health')).toEqual({ status: 200, body: { status: 'ok', smpp: 'ok' } });
    const metrics = await api<string>(sim, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('smsc_sim_submits_total');
    expect(metrics.body).toContain('smsc_sim_binds');
  });
});
