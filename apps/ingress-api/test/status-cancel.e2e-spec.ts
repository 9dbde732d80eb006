import { messageIdFloor } from '@smsgw/db';
import { qs, request, startIngress, type Ingress, type TestPartner } from './harness';

jest.setTimeout(30_000);

describe('/status and /cancel', () => {
  let ing: Ingress;
  let a: TestPartner;
  let b: TestPartner;

  beforeAll(async () => {
    ing = await startIngress();
    a = await ing.createPartner();
    b = await ing.createPartner();
  });
  afterAll(() => ing.close());

  const call = (path: string, p: TestPartner, params: Record<string, string | undefined>) =>
    request(ing.port, path, { form: qs({ serviceId: p.login, pass: p.password, ...params }) });
  const sendAs = async (p: TestPartner, params: Record<string, string> = {}) => {
    const res = await call('/send', p, { clientId: '79036550550', message: 'status test', ...params });
    expect(res.status).toBe(200);
    return res.body.split('\n')[1]!;
  };

  it('reports status lines for several ids, unknown and foreign ids as -1', async () => {
    const id1 = await sendAs(a);
    const id2 = await sendAs(a, { message: 'x'.repeat(200) });
    const foreign = await sendAs(b);
    await ing.pool.query('UPDATE message SET status = 5, ext_status = 8 WHERE id = $1', [id2]);
    const res = await call('/status', a, { transactionId: `${id1},${id2},${foreign},999999999,abc` });
    expect(res.status).toBe(200);
    const lines = res.body.split('\n');
    expect(lines[0]).toBe('OK');
    expect(lines[1]).toMatch(new RegExp(`^${id1};1;0;\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ;1$`));
    expect(lines[2]).toMatch(new RegExp(`^${id2};5;8;[^;]+;2$`));
    expect(lines.slice(3)).toEqual([`${foreign};-1`, '999999999;-1', 'abc;-1']);
  });

  it('finds a message by partnerMsgId, only the partner\'s own', async () => {
    const id = await sendAs(a, { partnerMsgId: 'shared-id' });
    await sendAs(b, { partnerMsgId: 'shared-id' });
    const res = await call('/status', a, { partnerMsgId: 'shared-id' });
    expect(res.body.split('\n')[1]).toMatch(new RegExp(`^${id};1;`));
  });

  it('finds a message by partnerMsgId in whichever partition holds it', async () => {
    // Next week's partition, and message_before (an id of before the partitioning), beside this week's.
    const nextWeek = String(BigInt(messageIdFloor(Date.now() + 7 * 86_400_000)) + 5n);
    const stored = [
      { id: nextWeek, key: 'next-week' },
      { id: '4242', key: 'before' },
    ];
    for (const m of stored) {
      await ing.pool.query(
        `INSERT INTO message (id, partner_id, partner_msg_id, sender, msisdn, text, encoding, segments, status, valid_until)
         VALUES ($1, $2, $3, 'TEST', '79036550550', 'stored', 0, 2, 2, now() + interval '1 day')`,
        [m.id, a.id, m.key],
      );
      await ing.pool.query('INSERT INTO message_key (partner_id, partner_msg_id, message_id) VALUES ($1, $2, $3)', [a.id, m.key, m.id]);
    }
    const { rows } = await ing.pool.query<{ id: string; p: string }>('SELECT id::text AS id, tableoid::regclass::text AS p FROM message WHERE id = ANY($1::bigint[]) ORDER BY id', [stored.map((m) => m.id)]);
    expect(rows.map((r) => r.p)).toEqual(['message_before', expect.stringMatching(/^message_p\d{8}$/)]);
    for (const m of stored) {
      const res = await call('/status', a, { partnerMsgId: m.key });
      expect(res.body.split('\n')[1]).toMatch(new RegExp(`^${m.id};2;0;[^;]+;2$`));
      expect((await call('/status', b, { partnerMsgId: m.key })).body.split('\n')[1]).toBe(`${m.key};-1`);
    }
  });

  it('answers json and xml', async () => {
    const id = await sendAs(a);
    const json = JSON.parse((await call('/status', a, { transactionId: id, output: 'json' })).body);
    expect(json).toMatchObject({ code: 200, text: 'OK', messages: [{ transactionId: id, status: 1, unifiedExtStatus: 0, segments: 1 }] });
    const xml = (await call('/status', a, { transactionId: id, output: 'xml' })).body;
    expect(xml).toContain(`<message><transactionId>${id}</transactionId><status>1</status>`);
  });

  it('400 without an id, 400 for more than 100 ids', async () => {
    expect((await call('/status', a, {})).status).toBe(400);
    const many = Array.from({ length: 101 }, (_, i) => String(i + 1)).join(',');
    expect((await call('/status', a, { transactionId: many })).status).toBe(400);
  });

  it('cancels a postponed message; afterwards 406 Already sent; foreign ids unknown', async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    const id = await sendAs(a, { send_at: at });
    expect((await call('/cancel', b, { transactionId: id })).status).toBe(400);
    const ok = await call('/cancel', a, { transactionId: id });
    expect([ok.status, ok.body]).toEqual([200, 'OK']);
    const st = await call('/status', a, { transactionId: id });
    expect(st.body.split('\n')[1]).toMatch(new RegExp(`^${id};8;`));
    // Cancelling again is harmless.
    expect((await call('/cancel', a, { transactionId: id })).status).toBe(200);

    const sent = await sendAs(a);
    await ing.pool.query('UPDATE message SET status = 0 WHERE id = $1', [sent]);
    const late = await call('/cancel', a, { transactionId: sent });
    expect([late.status, late.body]).toEqual([406, 'Already sent']);
  });

  it('/health and /metrics', async () => {
    const health = await request(ing.port, '/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
    const metrics = await request(ing.port, '/metrics');
    expect(metrics.body).toMatch(/smsgw_ingress_requests_total\{endpoint="send",code="200"\} \d+/);
    expect(metrics.body).toMatch(/smsgw_ingress_request_duration_seconds_bucket/);
    expect(metrics.body).toMatch(/smsgw_messages_accepted_total\{kind="live"\} \d+/);
  });
});
