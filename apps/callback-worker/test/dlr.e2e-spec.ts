import { formatCallbackDate, verifyCallbackSignature } from '@smsgw/sms';
import { resendParkedWithEnv } from '../src/resend';
import {
  acknowledgedCount,
  attemptsOf,
  callbackOf,
  closedPort,
  createTestEnv,
  sleep,
  startPartnerServer,
  waitFor,
  type PartnerServer,
  type TestEnv,
  type Worker,
} from './harness';

// Delivery reports (PROTOCOL §5) against real partner HTTP servers, PostgreSQL and Redis.
jest.setTimeout(20_000);

describe('callback-worker: delivery reports', () => {
  let t: TestEnv;
  let worker: Worker;
  let partner: PartnerServer;
  const byPath = (path: string) => partner.received.filter((r) => r.path === path);

  beforeAll(async () => {
    t = await createTestEnv();
    // A 3 s retry horizon, and two requests at a time per partner so the breaker is observable.
    worker = await t.startWorker({ CALLBACK_RETRY_HORIZON_MS: '3000', CALLBACK_PARTNER_CONCURRENCY: '2' });
    partner = await startPartnerServer();
  });

  afterAll(async () => {
    await partner?.close();
    await t?.close();
  });

  it('pushes a final report once, with every parameter of the protocol', async () => {
    const partnerId = await t.createPartner({ status_url: partner.url('/ok') });
    const doneAt = new Date('2026-11-25T09:08:07.654Z');
    const [delivered] = await t.insertMessages(partnerId, 1, { ptag: 'promo-1', partner_msg_id: 'pm-42', segments: 2, done_at: doneAt });
    const [failed] = await t.insertMessages(partnerId, 1, { status: 5, ext_status: 8, done_at: doneAt });
    // The same report enqueued twice (as a retrying producer would): one job, one report.
    await t.enqueueDlr(partnerId, [delivered!, delivered!]);
    await t.enqueueDlr(partnerId, [failed!], 5);

    await waitFor('both reports', () => byPath('/ok').length === 2);
    const d = byPath('/ok').find((r) => r.query.get('transactionId') === delivered)!;
    expect([...d.query.entries()]).toEqual([
      ['transactionId', delivered],
      ['status', '2'],
      ['msgType', 'SMS'],
      ['ptag', 'promo-1'],
      ['partnerMsgId', 'pm-42'],
      ['segments', '2'],
      ['doneDate', '2026-11-25 09:08:07'],
    ]);
    expect(d.headers['x-signature']).toBeUndefined();
    const f = byPath('/ok').find((r) => r.query.get('transactionId') === failed)!;
    expect([...f.query.entries()]).toEqual([
      ['transactionId', failed],
      ['status', '5'],
      ['msgType', 'SMS'],
      ['unifiedExtStatus', '8'],
      ['segments', '1'],
      ['doneDate', '2026-11-25 09:08:07'],
    ]);

    await waitFor('acknowledged', async () => (await acknowledgedCount(t.pool, [delivered!])) === 1);
    const attempts = await attemptsOf(t.pool, { messageId: delivered! });
    expect(attempts).toHaveLength(1);
    // Acknowledged at the first attempt: the attempt row is the whole record.
    expect(await callbackOf(t.pool, { messageId: delivered! })).toBeUndefined();
    expect(attempts[0]).toMatchObject({ attempt: 1, http_status: 200, error: null });
    expect(attempts[0]!.url).toBe(partner.url(d.url));
    await sleep(200);
    expect(byPath('/ok').filter((r) => r.query.get('transactionId') === delivered)).toHaveLength(1);
  });

  it("uses the partner's parameter names and keeps the URL's own query string", async () => {
    const partnerId = await t.createPartner({
      status_url: partner.url('/renamed?token=s3cret&src=smsgw'),
      callback_param_names: { transactionId: 'id', status: 'st', doneDate: 'time' },
    });
    const [id] = await t.insertMessages(partnerId, 1);
    await t.enqueueDlr(partnerId, [id!]);
    const r = await waitFor('renamed report', () => byPath('/renamed')[0]);
    expect(r.url).toMatch(new RegExp(`^/renamed\\?token=s3cret&src=smsgw&id=${id}&st=2&msgType=SMS&segments=1&time=\\d{4}-\\d\\d-\\d\\d%20\\d\\d%3A\\d\\d%3A\\d\\d$`));
    await waitFor('attempt logged', async () => (await attemptsOf(t.pool, { messageId: id! })).length === 1);
    const [attempt] = await attemptsOf(t.pool, { messageId: id! });
    expect(attempt!.url).toContain('/renamed?token=[redacted]&src=smsgw&id=');
  });

  it('signs the request so that the partner can verify it with the packages/sms helper', async () => {
    const secret = 'partner-secret-0123456789';
    const partnerId = await t.createPartner({ status_url: partner.url('/signed?k=1'), signing_secret: secret });
    const [id] = await t.insertMessages(partnerId, 1);
    await t.enqueueDlr(partnerId, [id!]);
    const r = await waitFor('signed report', () => byPath('/signed')[0]);
    const header = String(r.headers['x-signature']);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyCallbackSignature(secret, header, r.url, Date.now() / 1000)).toBe(true);
    expect(verifyCallbackSignature('another-secret', header, r.url, Date.now() / 1000)).toBe(false);
    expect(verifyCallbackSignature(secret, header, r.url, Date.now() / 1000 + 301)).toBe(false);
  });

  it('pushes status 0 only to partners with intermediate reports', async () => {
    const withReports = await t.createPartner({ status_url: partner.url('/inter-on'), intermediate_reports: true });
    const without = await t.createPartner({ status_url: partner.url('/inter-off') });
    const submittedAt = new Date('2026-11-25T10:00:01Z');
    const [a] = await t.insertMessages(withReports, 1, { status: 0, done_at: null, submitted_at: submittedAt });
    const [b] = await t.insertMessages(without, 1, { status: 0, done_at: null, submitted_at: submittedAt });
    await t.enqueueDlr(withReports, [a!], 0);
    await t.enqueueDlr(without, [b!], 0);
    await t.enqueueDlr(without, [b!], 2);
    const r = await waitFor('intermediate report', () => byPath('/inter-on')[0]);
    expect(r.query.get('status')).toBe('0');
    expect(r.query.get('doneDate')).toBe(formatCallbackDate(submittedAt));
    await waitFor('final report of the other partner', () => byPath('/inter-off').length === 1);
    await sleep(200);
    expect(byPath('/inter-off').map((x) => x.query.get('status'))).toEqual(['2']);
  });

  it('retries a 500 with growing delays and delivers once: three failed attempts and one ok logged', async () => {
    let calls = 0;
    const server = await startPartnerServer(() => (++calls <= 3 ? { status: 500, body: 'down' } : { status: 200, body: 'OK' }));
    try {
      const partnerId = await t.createPartner({ status_url: server.url('/flaky') });
      const [id] = await t.insertMessages(partnerId, 1);
      await t.enqueueDlr(partnerId, [id!]);
      await waitFor('delivered after retries', async () => (await callbackOf(t.pool, { messageId: id! }))?.state === 'delivered', 8000);
      const attempts = await attemptsOf(t.pool, { messageId: id! });
      expect(attempts.map((a) => [a.attempt, a.http_status])).toEqual([[1, 500], [2, 500], [3, 500], [4, 200]]);
      const gaps = server.received.slice(1).map((r, i) => r.at - server.received[i]!.at);
      // 200 ms, 400 ms, 800 ms, each ±20 %.
      expect(gaps[0]).toBeGreaterThanOrEqual(150);
      expect(gaps[1]).toBeGreaterThanOrEqual(300);
      expect(gaps[2]).toBeGreaterThanOrEqual(600);
      await sleep(300);
      expect(server.received).toHaveLength(4);
      expect(await callbackOf(t.pool, { messageId: id! })).toMatchObject({ state: 'delivered', attempts: 4, last_result: '200' });
    } finally {
      await server.close();
    }
  });

  it('counts an answer slower than the timeout as a failure and retries', async () => {
    let calls = 0;
    const server = await startPartnerServer(() => (++calls === 1 ? { delayMs: 2500 } : { status: 204 }));
    try {
      const partnerId = await t.createPartner({ status_url: server.url('/slow-once') });
      const [id] = await t.insertMessages(partnerId, 1);
      await t.enqueueDlr(partnerId, [id!]);
      await waitFor('delivered after a timeout', async () => (await callbackOf(t.pool, { messageId: id! }))?.state === 'delivered', 8000);
      const attempts = await attemptsOf(t.pool, { messageId: id! });
      expect(attempts.map((a) => [a.http_status, a.error])).toEqual([[null, 'timeout after 1000 ms'], [204, null]]);
      expect(attempts[0]!.duration_ms).toBeGreaterThanOrEqual(950);
      expect(attempts[0]!.duration_ms).toBeLessThan(1500);
    } finally {
      await server.close();
    }
  });

  it('parks a report refused until the retry horizon, and re-sends it on request', async () => {
    const port = await closedPort();
    const partnerId = await t.createPartner({ status_url: `http://127.0.0.1:${port}/down` });
    const [id] = await t.insertMessages(partnerId, 1);
    await t.enqueueDlr(partnerId, [id!]);
    await waitFor('parked', async () => (await callbackOf(t.pool, { messageId: id! }))?.state === 'parked', 8000);
    const failed = await attemptsOf(t.pool, { messageId: id! });
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(failed.every((a) => a.http_status === null && a.error === 'connection refused')).toBe(true);
    // The last attempt is at the horizon (3 s after the report was due), not later.
    expect(failed.at(-1)!.attempted_at.getTime() - failed[0]!.attempted_at.getTime()).toBeLessThan(3500);

    // The partner fixes its endpoint; the operator re-sends (the CLI-callable function).
    await t.updatePartner(partnerId, 'status_url = $1', [partner.url('/fixed')]);
    const result = await resendParkedWithEnv({ partnerId }, t.env());
    expect(result).toMatchObject({ dlr: 1, mo: 0 });
    await waitFor('re-sent report', () => byPath('/fixed').length === 1);
    await waitFor('delivered', async () => (await callbackOf(t.pool, { messageId: id! }))?.state === 'delivered');
    const all = await attemptsOf(t.pool, { messageId: id! });
    expect(all.at(-1)).toMatchObject({ attempt: 1, http_status: 200 });
    expect(all).toHaveLength(failed.length + 1);
    // Nothing else is parked, so a second re-send finds nothing.
    expect(await worker.app.get((await import('../src/parking/parked-callbacks.service')).ParkedCallbacks).resendParked(partnerId)).toMatchObject({ dlr: 0, mo: 0 });
  });

  it('opens the circuit breaker after consecutive failures instead of hammering the partner', async () => {
    const server = await startPartnerServer(() => ({ status: 503 }));
    try {
      const partnerId = await t.createPartner({ status_url: server.url('/broken') });
      const ids = await t.insertMessages(partnerId, 20);
      await t.enqueueDlr(partnerId, ids);
      await waitFor('first failures', () => server.received.length >= 5);
      const first = server.received[0]!.at;
      await sleep(400);
      // 5 failures open it (500 ms); at most the 2 requests already in flight (the partner's limit) get through.
      expect(server.received.filter((r) => r.at < first + 400).length).toBeLessThanOrEqual(7);
      const metrics = await fetch(`http://127.0.0.1:${worker.port}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/smsgw_callback_breaker_opened_total\{kind="dlr"\} [1-9]/);
      expect(metrics).toMatch(/smsgw_callback_deferred_total\{kind="dlr",reason="open"\} [1-9]/);
    } finally {
      await server.close();
    }
  });

  it('gives a pending report whose job was lost (Redis data loss) a new job: the sweep', async () => {
    const partnerId = await t.createPartner({ status_url: partner.url('/swept') });
    const [id] = await t.insertMessages(partnerId, 1);
    // A report that failed once and whose delayed job is gone.
    await t.pool.query(
      `INSERT INTO callback (kind, partner_id, message_id, status, state, attempts, due_at, next_attempt_at, last_result)
       VALUES ('dlr', $1, $2, 2, 'pending', 1, now() - interval '1 minute', now() - interval '30 seconds', '500')`,
      [partnerId, id],
    );
    const { ParkedCallbacks } = await import('../src/parking/parked-callbacks.service');
    expect(await worker.app.get(ParkedCallbacks).sweep()).toBe(1);
    await waitFor('swept report delivered', async () => (await callbackOf(t.pool, { messageId: id! }))?.state === 'delivered');
    expect((await attemptsOf(t.pool, { messageId: id! })).map((a) => [a.attempt, a.http_status])).toEqual([[2, 200]]);
    expect(await worker.app.get(ParkedCallbacks).sweep()).toBe(0);
  });

  it('fails a job whose payload does not match the contract, instead of retrying it for ever', async () => {
    await t.dlrQueue.add('callback.dlr', { messageId: 'not-a-number', partnerId: 1, status: 2 }, { jobId: 'bad-payload' });
    await waitFor('failed job', async () => (await t.dlrQueue.getJobState('bad-payload')) === 'failed');
    expect((await t.dlrQueue.getJob('bad-payload'))?.failedReason).toMatch(/invalid callback.dlr payload/);
  });

  it('answers /health', async () => {
    const res = await fetch(`http://127.0.0.1:${worker.port}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
  });
});
