import { Pool } from 'pg';
import { Queue } from 'bullmq';
import { QUEUES, bullPriority, dispatchJobId, type MtDispatchBatch } from '@smsgw/contracts';
import { MessageWriter, type NewMessage, type StoredMessage } from '@smsgw/intake';
import { qs, request, startIngress, REDIS_URL, type Ingress, type TestPartner } from './harness';

jest.setTimeout(30_000);

const NUMBER = '79036550550';

describe('/send', () => {
  let ing: Ingress;
  let partner: TestPartner;
  let queue: Queue;

  beforeAll(async () => {
    ing = await startIngress();
    partner = await ing.createPartner();
    queue = new Queue(QUEUES.MT_DISPATCH, { prefix: ing.prefix, connection: { url: REDIS_URL } as never });
  });
  afterAll(async () => {
    await queue.close();
    await ing.close();
  });

  const send = (params: Record<string, string | number | undefined>, opts: Parameters<typeof request>[2] = {}) =>
    request(ing.port, '/send', { form: qs({ serviceId: partner.login, pass: partner.password, clientId: NUMBER, message: 'Hello', ...params }), ...opts });

  /** The batch job on mt.dispatch that carries message `id`, if any (no consumer runs here). */
  async function batchJobOf(id: string) {
    const jobs = await queue.getJobs(['prioritized', 'waiting']);
    return jobs.find((j) => (j.data as Partial<MtDispatchBatch>).messages?.some((m) => m.messageId === id));
  }

  async function row(id: string) {
    const { rows } = await ing.pool.query('SELECT * FROM message WHERE id = $1', [id]);
    return rows[0];
  }

  it('accepts a message: OK and an id, row stored with status 1, job on mt.dispatch', async () => {
    const res = await send({ message: 'Hello world', ptag: 'campaign-1' });
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain/);
    const m = /^OK\n([1-9][0-9]*)$/.exec(res.body);
    expect(m).not.toBeNull();
    const id = m![1]!;
    const r = await row(id);
    expect(r).toMatchObject({ status: 1, msisdn: NUMBER, text: 'Hello world', sender: 'TEST', segments: 1, encoding: 0, ptag: 'campaign-1', release_at: null });
    await waitFor(async () => (await batchJobOf(id)) !== undefined);
    const job = await batchJobOf(id);
    expect(job!.data).toEqual({ messages: [{ messageId: id, partnerId: partner.id, priority: 1 }] });
    expect(await queue.getJob(dispatchJobId(id))).toBeUndefined();
  });

  it('a group-commit batch is queued as one batch job per priority, not one job per message', async () => {
    const writer = ing.app.get(MessageWriter);
    const message = (priority: 0 | 1 | 2, msisdn: string) => immediateMessage(partner.id, priority, msisdn, 'batch');
    const priorities: Array<0 | 1 | 2> = [1, 1, 2, 0, 1, 2, 1, 1, 0, 1];
    // Written in one turn of the event loop: one group commit.
    const stored = await Promise.all(priorities.map((p, i) => writer.write(message(p, `7903655${String(i).padStart(4, '0')}`))));
    const ids = stored.map((s) => s.id);
    await waitFor(async () => (await Promise.all(ids.map(batchJobOf))).every((j) => j !== undefined));
    const jobs = new Map((await Promise.all(ids.map(batchJobOf))).map((j) => [j!.id, j!]));
    expect(jobs.size).toBe(3);
    for (const job of jobs.values()) {
      const data = job.data as MtDispatchBatch;
      const priority = data.messages[0]!.priority;
      expect(job.opts.priority).toBe(bullPriority(priority));
      expect(data.messages.map((m) => m.messageId)).toEqual(ids.filter((_, i) => priorities[i] === priority));
    }
    for (const id of ids) expect(await ing.redis.exists(`${ing.prefix}:${QUEUES.MT_DISPATCH}:${dispatchJobId(id)}`)).toBe(0);
  });

  it('accepts POST with a form body, same answer as GET', async () => {
    const res = await request(ing.port, '/send', {
      method: 'POST',
      form: qs({ serviceId: partner.login, pass: partner.password, clientId: '+79036550551', message: 'Posted text' }),
    });
    expect(res.status).toBe(200);
    const id = res.body.split('\n')[1]!;
    expect((await row(id)).text).toBe('Posted text');
  });

  it('normalises the four number forms to E.164 digits', async () => {
    for (const form of ['79036550550', '+79036550550', '8-903-655-05-50', '89036550550']) {
      const res = await send({ clientId: form });
      expect(res.status).toBe(200);
      expect((await row(res.body.split('\n')[1]!)).msisdn).toBe('79036550550');
    }
  });

  it('stores URL-encoded Cyrillic text exactly, as UCS-2 with its segment count', async () => {
    const text = 'Привет, мир! '.repeat(6); // 78 characters: two UCS-2 segments
    const res = await send({ message: text, output: 'json' });
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ code: 200, text: 'OK', segments: 2 });
    const r = await row(body.id);
    expect(r.text).toBe(text);
    expect(r.encoding).toBe(8);
  });

  it('answers 400 for text that is not valid UTF-8, and stores nothing', async () => {
    const before = await count(ing.pool);
    const res = await request(ing.port, '/send', { form: `${qs({ serviceId: partner.login, pass: partner.password, clientId: NUMBER })}&message=%D0%9F%FF%FE` });
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/UTF-8/);
    expect(await count(ing.pool)).toBe(before);
  });

  it('answers in xml and json', async () => {
    const xml = await send({ output: 'xml' });
    expect(xml.status).toBe(200);
    expect(xml.body).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?><response><code>200<\/code><text>OK<\/text><payload><id>[1-9][0-9]*<\/id>/);
    const xmlErr = await send({ output: 'xml', pass: 'wrong' });
    expect(xmlErr.status).toBe(200);
    expect(xmlErr.body).toBe('<?xml version="1.0" encoding="utf-8"?><response><code>401</code><text>Invalid password</text></response>');
    const jsonErr = await send({ output: 'json', pass: 'wrong' });
    expect(JSON.parse(jsonErr.body)).toEqual({ code: 401, text: 'Invalid password' });
  });

  describe('error table', () => {
    it('400: missing or malformed parameters', async () => {
      expect((await send({ clientId: '' })).status).toBe(400);
      expect((await send({ message: '' })).status).toBe(400);
      expect((await request(ing.port, '/send', { form: qs({ pass: 'x', clientId: NUMBER, message: 'x' }) })).status).toBe(400);
      expect((await send({ source: 'NOTMINE' })).status).toBe(400);
      expect((await send({ ptag: 'bad tag!' })).status).toBe(400);
      expect((await send({ partnerMsgId: 'x'.repeat(51) })).status).toBe(400);
      expect((await send({ smsPriority: '3' })).status).toBe(400);
      expect((await send({ validity: '0' })).status).toBe(400);
      expect((await send({ validity: '2881' })).status).toBe(400);
      expect((await send({ send_at: 'tomorrow' })).status).toBe(400);
      expect((await send({ send_at: new Date(Date.now() + 40 * 86_400_000).toISOString() })).status).toBe(400);
      expect((await send({ sending_time: '' })).status).toBe(400);
      expect((await send({ sending_time: '10-20' })).status).toBe(400);
      expect((await send({ time_zone: 'Mars/Base' })).status).toBe(400);
      expect((await send({ clientId: 'call-me-maybe' })).status).toBe(400);
    });

    it('401: wrong password or unknown login', async () => {
      const wrong = await send({ pass: 'nope' });
      expect([wrong.status, wrong.body]).toEqual([401, 'Invalid password']);
      expect((await send({ serviceId: 'nobody' })).status).toBe(401);
    });

    it('402: test-mode quota used up', async () => {
      const p = await ing.createPartner({ test_mode: true, test_quota: 2 });
      const s = (n: string) => request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: p.password, clientId: n, message: 'q' }) });
      expect((await s('79036550561')).status).toBe(200);
      expect((await s('79036550562')).status).toBe(200);
      const third = await s('79036550563');
      expect(third.status).toBe(402);
      const { rows } = await ing.pool.query('SELECT count(*)::int AS n, bool_and(test) AS test FROM message WHERE partner_id = $1', [p.id]);
      expect(rows[0]).toEqual({ n: 2, test: true });
      // Redis lost the counter: it is rebuilt from the stored test messages.
      await ing.redis.del(`${ing.prefix}:testq:${p.id}`);
      expect((await s('79036550564')).status).toBe(402);
    });

    it('403: address not allowed, partner blocked, test period over', async () => {
      const p = await ing.createPartner();
      const s = (opts = {}) => request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: 'even-a-wrong-one', clientId: NUMBER, message: 'x' }), ...opts });
      // The allow-list is checked before the password.
      const outside = await s({ localAddress: '127.0.0.2' });
      expect([outside.status, outside.body]).toEqual([403, 'Address not allowed']);
      expect((await s()).status).toBe(401);

      await ing.updatePartner(p.id, "status = 'blocked'");
      const blocked = await request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: p.password, clientId: NUMBER, message: 'x' }) });
      expect([blocked.status, blocked.body]).toEqual([403, 'Partner blocked']);

      const t = await ing.createPartner({ test_mode: true, test_ends_at: new Date(Date.now() + 1500) });
      const st = () => request(ing.port, '/send', { form: qs({ serviceId: t.login, pass: t.password, clientId: NUMBER, message: 'x' }) });
      expect((await st()).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1600));
      const over = await st();
      expect([over.status, over.body]).toEqual([403, 'Test period over']);
    });

    it('406: invalid, not mobile, blacklisted', async () => {
      expect((await send({ clientId: '7903655' })).status).toBe(406);
      const landline = await send({ clientId: '+74951234567' });
      expect(landline.status).toBe(406);
      await ing.pool.query("INSERT INTO blacklisted_number (msisdn) VALUES ('79036559999')");
      await ing.redis.publish(`${ing.prefix}:partner-changed`, 'blacklist');
      await new Promise((r) => setTimeout(r, 150));
      const bl = await send({ clientId: '+79036559999' });
      expect([bl.status, bl.body]).toEqual([406, 'Number is blacklisted']);
    });

    it('408: 12 requests in one second against a limit of 10 give 10 OK and 2 × 408', async () => {
      const p = await ing.createPartner({ rate_limit: 10 });
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: p.password, clientId: `7903655${String(1000 + i)}`, message: 'rl' }) })),
      );
      const codes = results.map((r) => r.status).sort();
      expect(codes.filter((c) => c === 200)).toHaveLength(10);
      expect(codes.filter((c) => c === 408)).toHaveLength(2);
      const { rows } = await ing.pool.query('SELECT count(*)::int AS n FROM message WHERE partner_id = $1', [p.id]);
      expect(rows[0].n).toBe(10);
    });

    it('408 with partnerMsgId: the id is not kept, a retry is processed afresh; a repeat of an answered id takes no token', async () => {
      const p = await ing.createPartner({ rate_limit: 2 });
      const s = (id: string, i: number) =>
        request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: p.password, clientId: `7903656${String(2000 + i)}`, message: 'rl', partnerMsgId: id }) });
      // Four in one instant against a bucket of two: the partner's requests of one turn share one
      // admission; the two over the limit leave their ids unclaimed.
      const first = await Promise.all(['a', 'b', 'c', 'd'].map((id, i) => s(id, i)));
      const ok = ['a', 'b', 'c', 'd'].filter((_, i) => first[i]!.status === 200);
      const limited = ['a', 'b', 'c', 'd'].filter((_, i) => first[i]!.status === 408);
      expect([ok.length, limited.length]).toEqual([2, 2]);
      for (const id of limited) expect(await ing.redis.exists(`${ing.prefix}:idem:${p.id}:${id}`)).toBe(0);
      // The bucket is empty: a repeat of an answered id is still answered with its first id.
      const repeat = await s(ok[0]!, 9);
      expect(repeat.status).toBe(200);
      expect(repeat.body).toBe(first[['a', 'b', 'c', 'd'].indexOf(ok[0]!)]!.body);
      // Once tokens are back, the limited ids go through as new messages.
      await new Promise((r) => setTimeout(r, 1100));
      const retried = await Promise.all(limited.map((id, i) => s(id, 20 + i)));
      expect(retried.map((r) => r.status)).toEqual([200, 200]);
      const { rows } = await ing.pool.query('SELECT count(*)::int AS n FROM message WHERE partner_id = $1', [p.id]);
      expect(rows[0].n).toBe(4);
    });

    it('409: duplicate filter', async () => {
      const p = await ing.createPartner({ duplicate_filter: true, duplicate_max: 1 });
      const s = (text: string) => request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: p.password, clientId: NUMBER, message: text }) });
      expect((await s('same text')).status).toBe(200);
      expect((await s('same text')).status).toBe(409);
      expect((await s('other text')).status).toBe(200);
    });

    it('414: text over 2000 characters, flash over one segment', async () => {
      expect((await send({ message: 'a'.repeat(2000) })).status).toBe(200);
      expect((await send({ message: 'a'.repeat(2001) })).status).toBe(414);
      expect((await send({ message: 'a'.repeat(160), flash: '1' })).status).toBe(200);
      expect((await send({ message: 'a'.repeat(161), flash: '1' })).status).toBe(414);
    });

    it('500: a database that refuses the insert never gives 200', async () => {
      const before = await count(ing.pool);
      await ing.pool.query('ALTER TABLE message ADD CONSTRAINT refuse_all CHECK (false) NOT VALID');
      try {
        const res = await send({ message: 'must not be accepted', partnerMsgId: 'refused-1' });
        expect(res.status).toBe(500);
        expect(res.body).toMatch(/nothing was accepted/);
      } finally {
        await ing.pool.query('ALTER TABLE message DROP CONSTRAINT refuse_all');
      }
      expect(await count(ing.pool)).toBe(before);
      // The failed partnerMsgId is free again: the retry is accepted.
      expect((await send({ message: 'now accepted', partnerMsgId: 'refused-1' })).status).toBe(200);
    });

    it('503 while the first request with a partnerMsgId is in flight, then the first answer', async () => {
      const blocker = new Pool({ connectionString: ing.config.DATABASE_URL, max: 1 });
      const client = await blocker.connect();
      await client.query('BEGIN');
      await client.query('LOCK TABLE message IN EXCLUSIVE MODE');
      const first = send({ partnerMsgId: 'inflight-1' });
      await new Promise((r) => setTimeout(r, 300));
      const second = await send({ partnerMsgId: 'inflight-1' });
      expect(second.status).toBe(503);
      await client.query('COMMIT');
      client.release();
      await blocker.end();
      const firstRes = await first;
      expect(firstRes.status).toBe(200);
      const third = await send({ partnerMsgId: 'inflight-1' });
      expect(third.body).toBe(firstRes.body);
    });
  });

  it('idempotency: a repeated partnerMsgId returns the first id and sends nothing new, even after Redis forgot it', async () => {
    const first = await send({ partnerMsgId: 'order-42' });
    const again = await send({ partnerMsgId: 'order-42', message: 'different text' });
    expect(again.status).toBe(200);
    expect(again.body).toBe(first.body);
    await ing.redis.del(`${ing.prefix}:idem:${partner.id}:order-42`);
    const afterFlush = await send({ partnerMsgId: 'order-42' });
    expect(afterFlush.body).toBe(first.body);
    const { rows } = await ing.pool.query("SELECT count(*)::int AS n FROM message WHERE partner_msg_id = 'order-42'");
    expect(rows[0].n).toBe(1);
  });

  it('renamed parameters: the partner\'s own names are used, the canonical ones ignored', async () => {
    const p = await ing.createPartner({ request_param_names: { serviceId: 'login', pass: 'password', clientId: 'to', message: 'text' } });
    const res = await request(ing.port, '/send', { form: qs({ login: p.login, password: p.password, to: '89036550550', text: 'renamed' }) });
    expect(res.status).toBe(200);
    expect((await row(res.body.split('\n')[1]!)).text).toBe('renamed');
    const canonical = await request(ing.port, '/send', { form: qs({ login: p.login, password: p.password, clientId: NUMBER, text: 'x' }) });
    expect([canonical.status, canonical.body]).toEqual([400, 'Missing parameter: to']);
  });

  it('accepts requests over IPv6 loopback', async () => {
    const res = await send({}, { host: '::1' });
    expect(res.status).toBe(200);
  });

  it('a settings change reaches the running ingress without a restart', async () => {
    const p = await ing.createPartner({ senders: ['OLD'], default_sender: 'OLD' });
    const s = (source: string) => request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: p.password, clientId: NUMBER, message: 'x', source }) });
    expect((await s('NEWNAME')).status).toBe(400);
    await ing.updatePartner(p.id, "senders = ARRAY['OLD','NEWNAME']");
    expect((await s('NEWNAME')).status).toBe(200);
  });

  it('postponed and windowed messages are stored with their release time and not enqueued', async () => {
    const at = new Date(Date.now() + 3600_000);
    const res = await send({ send_at: at.toISOString().replace(/\.\d+Z$/, '+00:00') });
    expect(res.status).toBe(200);
    const id = res.body.split('\n')[1]!;
    const r = await row(id);
    expect(new Date(r.release_at).getTime()).toBe(Math.floor(at.getTime() / 1000) * 1000);
    await new Promise((r2) => setTimeout(r2, 100));
    expect(await batchJobOf(id)).toBeUndefined();
    expect(await queue.getJob(dispatchJobId(id))).toBeUndefined();

    const hourNow = new Date().getUTCHours();
    const windowed = await send({ sending_time: `${(hourNow + 2) % 24}_${(hourNow + 3) % 24}`, time_zone: '+00:00' });
    const w = await row(windowed.body.split('\n')[1]!);
    expect(w.window_start).toBe((hourNow + 2) % 24);
    expect(new Date(w.release_at).getUTCHours()).toBe((hourNow + 2) % 24);
  });

  it('a partner without postponed delivery gets 400 for send_at', async () => {
    const p = await ing.createPartner({ postponed_enabled: false });
    const res = await request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: p.password, clientId: NUMBER, message: 'x', send_at: '2030-01-01 10:00:00' }) });
    expect(res.status).toBe(400);
  });

  it('high priority is carried to the job', async () => {
    const res = await send({ smsPriority: '2' });
    const id = res.body.split('\n')[1]!;
    await waitFor(async () => (await batchJobOf(id)) !== undefined);
    const job = await batchJobOf(id);
    expect((job!.data as MtDispatchBatch).messages[0]!.priority).toBe(2);
    expect(job!.opts.priority).toBe(1);
  });
});

describe('/send: queuing committed messages together', () => {
  const batchJobs = async (queue: Queue) =>
    (await queue.getJobs(['prioritized', 'waiting'])).map((j) => ({ priority: j.opts.priority, ids: (j.data as MtDispatchBatch).messages.map((m) => m.messageId) }));

  /** An ingress gathering for `gatherMs`, a partner of it, its writer, its mt.dispatch queue and its pool; all closed afterwards. */
  async function withGathering(gatherMs: number, test: (t: { partnerId: number; writer: MessageWriter; queue: Queue; pool: Pool }) => Promise<void>): Promise<void> {
    const ing = await startIngress({ INGRESS_DISPATCH_GATHER_MS: String(gatherMs) });
    const queue = new Queue(QUEUES.MT_DISPATCH, { prefix: ing.prefix, connection: { url: REDIS_URL } as never });
    try {
      const partner = await ing.createPartner();
      await test({ partnerId: partner.id, writer: ing.app.get(MessageWriter), queue, pool: ing.pool });
    } finally {
      await queue.close();
      await ing.close();
    }
  }

  it('messages of commits that end within INGRESS_DISPATCH_GATHER_MS share one batch job per priority', () =>
    withGathering(400, async ({ partnerId, writer, queue }) => {
      // Two group commits, one after the other.
      const first = await Promise.all([1, 1, 2].map((p, i) => writer.write(immediateMessage(partnerId, p as 1 | 2, `7903656000${i}`))));
      const second = await Promise.all([1, 2].map((p, i) => writer.write(immediateMessage(partnerId, p as 1 | 2, `7903656001${i}`))));
      expect(await batchJobs(queue)).toEqual([]); // still gathering
      await waitFor(async () => (await batchJobs(queue)).length === 2);
      const jobs = (await batchJobs(queue)).sort((a, b) => a.priority! - b.priority!);
      expect(jobs).toEqual([
        { priority: bullPriority(2), ids: [first[2]!.id, second[1]!.id] },
        { priority: bullPriority(1), ids: [first[0]!.id, first[1]!.id, second[0]!.id] },
      ]);
    }));

  it('a partnerMsgId repeated within one batch and in a later one: the first message answers, nothing new is stored or queued', () =>
    withGathering(0, async ({ partnerId, writer, queue, pool }) => {
      const keyed = (key: string | null, text: string): NewMessage => ({ ...immediateMessage(partnerId, 1, '79036560030', text), partnerMsgId: key });
      // Written in one turn of the event loop: one group commit, with rows without a key beside them.
      const batch = await Promise.all([keyed(null, 'a'), keyed('batch-1', 'first'), keyed('batch-1', 'repeat'), keyed('batch-2', 'other'), keyed(null, 'b')].map((m) => writer.write(m)));
      const [plain, first, repeat, other, plain2] = batch as [StoredMessage, StoredMessage, StoredMessage, StoredMessage, StoredMessage];
      expect(repeat).toEqual({ id: first.id, segments: 1, existing: true });
      expect([plain, first, other, plain2].map((r) => r.existing)).toEqual([false, false, false, false]);
      const later = await writer.write({ ...keyed('batch-1', 'later repeat'), segments: 3 });
      expect(later).toEqual({ id: first.id, segments: 1, existing: true });
      const { rows } = await pool.query<{ id: string; text: string }>('SELECT id::text AS id, text FROM message WHERE partner_id = $1 ORDER BY id', [partnerId]);
      expect(rows.map((r) => r.text)).toEqual(['a', 'first', 'other', 'b']);
      const keys = await pool.query<{ partner_msg_id: string; message_id: string }>(
        'SELECT partner_msg_id, message_id::text AS message_id FROM message_key WHERE partner_id = $1 ORDER BY partner_msg_id',
        [partnerId],
      );
      expect(keys.rows).toEqual([{ partner_msg_id: 'batch-1', message_id: first.id }, { partner_msg_id: 'batch-2', message_id: other.id }]);
      await waitFor(async () => (await batchJobs(queue)).flatMap((j) => j.ids).length === 4);
      expect((await batchJobs(queue)).flatMap((j) => j.ids).sort()).toEqual([plain, first, other, plain2].map((r) => r.id).sort());
    }));

  it('a stopping ingress queues what it gathered before it closes', () =>
    withGathering(1000, async ({ partnerId, writer, queue }) => {
      const stored = await writer.write(immediateMessage(partnerId, 1, '79036560020'));
      const started = Date.now();
      await writer.onApplicationShutdown(); // what Nest runs when the app closes
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await batchJobs(queue)).toEqual([{ priority: bullPriority(1), ids: [stored.id] }]);
    }));
});

/** A message as /send stores it for immediate sending, written through MessageWriter directly. */
function immediateMessage(partnerId: number, priority: 0 | 1 | 2, msisdn: string, text = 'gather'): NewMessage {
  return {
    partnerId, partnerMsgId: null, ptag: null, sender: 'TEST', msisdn, text, encoding: 0, segments: 1,
    flash: false, priority, test: false, releaseAt: null, windowStart: null, windowEnd: null, windowZone: null,
    validUntil: new Date(Date.now() + 3600_000),
  };
}

async function count(pool: Pool): Promise<number> {
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM message');
  return rows[0].n;
}

async function waitFor(cond: () => Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
