import { QUEUES } from '@smsgw/contracts';
import { moCallbackHash, verifyCallbackSignature } from '@smsgw/sms';
import { attemptsOf, callbackOf, createTestEnv, sleep, startPartnerServer, waitFor, type TestEnv, type Worker } from './harness';

// Incoming messages pushed to partners (PROTOCOL §6), and replies turned into MT messages.
jest.setTimeout(20_000);

describe('callback-worker: incoming messages (MO)', () => {
  let t: TestEnv;
  let worker: Worker;

  beforeAll(async () => {
    t = await createTestEnv();
    worker = await t.startWorker({ CALLBACK_MO_MAX_ATTEMPTS: '3' });
  });

  afterAll(async () => {
    await t?.close();
  });

  const done = async (moId: string) =>
    (await t.pool.query<{ callback_done_at: Date | null }>('SELECT callback_done_at FROM mo_message WHERE id = $1', [moId])).rows[0]?.callback_done_at ?? null;

  it('pushes a partner’s MO in arrival order with mtSent; a later MO waits while an earlier one fails', async () => {
    let failures = 0;
    const server = await startPartnerServer((r) => (r.query.get('message') === 'first' && ++failures <= 2 ? { status: 500 } : { status: 204 }));
    try {
      const partnerId = await t.createPartner({ mo_url: server.url('/mo'), login: 'mo-order' });
      const base = Date.now() - 1000;
      const ids: string[] = [];
      for (const [i, text] of ['first', 'second', 'third'].entries()) {
        ids.push(await t.insertMo(partnerId, { text, received_at: new Date(base + i), service_number: '4545', msisdn: '79031112233', segments: 1 }));
      }
      // Jobs in the opposite order: arrival order comes from the stored MO, not from the queue.
      await t.enqueueMo(partnerId, [...ids].reverse());
      await waitFor('all acknowledged', async () => (await done(ids[2]!)) !== null, 8000);

      expect(server.received.map((r) => [r.query.get('message'), r.query.get('mtSent')])).toEqual([
        ['first', '2'],
        ['first', '2'],
        ['first', '2'],
        ['second', '1'],
        ['third', '0'],
      ]);
      // The partner counts as down for at least CALLBACK_MO_DOWN_MS (300 ms) after each failure.
      expect(server.received[1]!.at - server.received[0]!.at).toBeGreaterThanOrEqual(280);
      const r = server.received[3]!;
      expect([...r.query.keys()]).toEqual(['clientId', 'message', 'shortNumber', 'serviceId', 'messageId', 'receivedDate', 'sum_sms', 'mtSent']);
      expect(Object.fromEntries(r.query)).toMatchObject({
        clientId: '79031112233',
        shortNumber: '4545',
        serviceId: 'mo-order',
        messageId: ids[1],
        receivedDate: new Date(base + 1).toISOString().slice(0, 19).replace('T', ' '),
        sum_sms: '1',
      });
      expect((await attemptsOf(t.pool, { moId: ids[0]! })).map((a) => a.http_status)).toEqual([500, 500, 204]);
      expect(await callbackOf(t.pool, { moId: ids[0]! })).toMatchObject({ state: 'delivered', attempts: 3 });
    } finally {
      await server.close();
    }
  });

  it('signs MO pushes and adds the hash', async () => {
    const secret = 'mo-secret-0123456789';
    const server = await startPartnerServer(() => ({ status: 200, body: '' }));
    try {
      const partnerId = await t.createPartner({ mo_url: server.url('/mo?x=1'), signing_secret: secret, callback_param_names: { clientId: 'msisdn' } });
      const moId = await t.insertMo(partnerId, { text: 'Привет, мир & co', smsc_connection_id: 3, segments: 2 });
      await t.enqueueMo(partnerId, [moId]);
      const r = await waitFor('signed MO', () => server.received[0]);
      expect(verifyCallbackSignature(secret, String(r.headers['x-signature']), r.url, Date.now() / 1000)).toBe(true);
      expect(r.query.get('x')).toBe('1');
      expect(r.query.get('msisdn')).toBe('79031112233');
      expect(r.query.get('message')).toBe('Привет, мир & co');
      expect(r.query.get('connectorId')).toBe('3');
      expect(r.query.get('sum_sms')).toBe('2');
      expect(r.query.get('hash')).toBe(moCallbackHash(secret, '79031112233', 'Привет, мир & co', moId));
      await waitFor('acknowledged', async () => (await done(moId)) !== null);
    } finally {
      await server.close();
    }
  });

  it('turns a 200 text/plain answer into reply messages on mt.dispatch; 204 and an empty 200 send nothing', async () => {
    const server = await startPartnerServer((r) => {
      const text = r.query.get('message');
      if (text === 'reply please') return { status: 200, body: 'Thanks!\r\nВаш код: 4711\r\n', contentType: 'text/plain; charset=utf-8' };
      if (text === 'no content') return { status: 204 };
      return { status: 200, body: '' };
    });
    try {
      const partnerId = await t.createPartner({ mo_url: server.url('/mo'), test_mode: true });
      const a = await t.insertMo(partnerId, { text: 'reply please', service_number: '7777', msisdn: '79035550001' });
      const b = await t.insertMo(partnerId, { text: 'no content' });
      const c = await t.insertMo(partnerId, { text: 'empty ok' });
      await t.enqueueMo(partnerId, [a, b, c]);
      await waitFor('all acknowledged', async () => (await done(c)) !== null && (await done(a)) !== null);

      const { rows } = await t.pool.query(
        `SELECT id::text, partner_id, sender, msisdn, text, status, priority, encoding, segments, test, release_at, partner_msg_id, valid_until > now() AS valid
         FROM message WHERE partner_id = $1 ORDER BY id`,
        [partnerId],
      );
      expect(rows).toEqual([
        expect.objectContaining({ partner_id: partnerId, sender: '7777', msisdn: '79035550001', text: 'Thanks!', status: 1, priority: 1, encoding: 0, segments: 1, test: true, release_at: null, partner_msg_id: null, valid: true }),
        expect.objectContaining({ sender: '7777', msisdn: '79035550001', text: 'Ваш код: 4711', status: 1, encoding: 8, segments: 1 }),
      ]);
      await waitFor('dispatch jobs', async () => (await t.mtQueue.getJobCounts('prioritized', 'waiting')).prioritized === 2);
      for (const row of rows) {
        const job = await t.mtQueue.getJob(`m${row.id}`);
        expect(job?.name).toBe(QUEUES.MT_DISPATCH);
        expect(job?.data).toEqual({ messageId: row.id, partnerId, priority: 1 });
        expect(job?.opts.priority).toBe(2);
      }
      expect((await attemptsOf(t.pool, { moId: b })).map((x) => x.http_status)).toEqual([204]);
      expect((await attemptsOf(t.pool, { moId: c })).map((x) => x.http_status)).toEqual([200]);
      expect((await attemptsOf(t.pool, { moId: a }))[0]).toMatchObject({ http_status: 200, error: null });
    } finally {
      await server.close();
    }
  });

  it('parks an MO that keeps failing, then the next one goes; a re-send delivers it', async () => {
    const server = await startPartnerServer((r) => (r.query.get('message') === 'poison' ? { status: 503 } : { status: 200 }));
    try {
      const partnerId = await t.createPartner({ mo_url: server.url('/mo') });
      const poison = await t.insertMo(partnerId, { text: 'poison', received_at: new Date(Date.now() - 10) });
      const next = await t.insertMo(partnerId, { text: 'next' });
      await t.enqueueMo(partnerId, [poison, next]);
      await waitFor('next acknowledged', async () => (await done(next)) !== null, 8000);
      expect(server.received.map((r) => r.query.get('message'))).toEqual(['poison', 'poison', 'poison', 'next']);
      const parked = await callbackOf(t.pool, { moId: poison });
      expect(parked).toMatchObject({ state: 'parked', attempts: 3 });
      expect(await done(poison)).toBeNull();

      // The partner fixes its endpoint; the operator re-sends that one callback.
      server.answer = () => ({ status: 200 });
      const { ParkedCallbacks } = await import('../src/parking/parked-callbacks.service');
      expect(await worker.app.get(ParkedCallbacks).resendParked(undefined, [parked!.id])).toMatchObject({ dlr: 0, mo: 1, ids: [parked!.id] });
      await waitFor('re-sent MO acknowledged', async () => (await done(poison)) !== null);
      expect(server.received.map((r) => r.query.get('message'))).toEqual(['poison', 'poison', 'poison', 'next', 'poison']);
      await sleep(100);
    } finally {
      await server.close();
    }
  });

  it('order per subscriber: each subscriber\'s MO in arrival order, subscribers in parallel up to the partner\'s callback concurrency', async () => {
    const server = await startPartnerServer(() => ({ status: 200, delayMs: 150 }));
    try {
      const partnerId = await t.createPartner({ mo_url: server.url('/mo') });
      await t.updatePartner(partnerId, `mo_order = 'subscriber', callback_concurrency = 3`);
      const base = Date.now() - 1000;
      const subscribers = ['79031110001', '79031110002', '79031110003', '79031110004'];
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        for (const [k, msisdn] of subscribers.entries()) {
          ids.push(await t.insertMo(partnerId, { text: `${msisdn} #${i}`, msisdn, received_at: new Date(base + i * 10 + k) }));
        }
      }
      const started = Date.now();
      await t.enqueueMo(partnerId, [...ids].reverse());
      await waitFor('all acknowledged', async () => {
        const { rows } = await t.pool.query<{ n: string }>('SELECT count(*) AS n FROM mo_message WHERE partner_id = $1 AND callback_done_at IS NOT NULL', [partnerId]);
        return rows[0]!.n === String(ids.length);
      }, 10_000);
      const took = Date.now() - started;
      for (const msisdn of subscribers) {
        const seen = server.received.filter((r) => r.query.get('clientId') === msisdn).map((r) => r.query.get('message'));
        expect(seen).toEqual([0, 1, 2].map((i) => `${msisdn} #${i}`));
      }
      // Never more than the partner's concurrency at once, and more than one: 12 pushes of 150 ms
      // one at a time would take 1.8 s.
      expect(server.maxInFlight).toBe(3);
      expect(took).toBeLessThan(1_500);
      expect(server.received).toHaveLength(ids.length);
    } finally {
      await server.close();
    }
  });
});
