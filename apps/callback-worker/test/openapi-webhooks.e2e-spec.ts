import { CALLBACK_PARAMS } from '@smsgw/contracts';
import { OpenApiContract } from '@smsgw/contracts/dist/openapi-contract';
import { createTestEnv, startPartnerServer, waitFor, type PartnerServer, type Received, type TestEnv } from './harness';

// The requests the real callback worker makes to a partner's server, checked against the
// `webhooks` of docs/openapi.yaml: deliveryReport (status URL) and incomingMessage (MO URL).
jest.setTimeout(30_000);

describe('callbacks as docs/openapi.yaml describes them', () => {
  const contract = new OpenApiContract();
  let t: TestEnv;
  let partner: PartnerServer;
  const check = (webhook: string, r: Received) => contract.checkCallback(webhook, { method: 'GET', query: r.query, headers: r.headers });

  beforeAll(async () => {
    [t, partner] = await Promise.all([createTestEnv(), startPartnerServer()]);
    await t.startWorker();
  });
  afterAll(() => Promise.all([partner?.close(), t?.close()]));

  it('documents every callback parameter the platform sends (CALLBACK_PARAMS)', () => {
    const names = new Set([...contract.queryParameterNames('#/webhooks/deliveryReport/get'), ...contract.queryParameterNames('#/webhooks/incomingMessage/get')]);
    expect(CALLBACK_PARAMS.filter((p) => !names.has(p))).toEqual([]);
  });

  it('delivery reports: delivered, not delivered, intermediate; with and without ptag, partnerMsgId, signature', async () => {
    const plain = await t.createPartner({ status_url: partner.url('/dlr'), intermediate_reports: true });
    const signed = await t.createPartner({ status_url: partner.url('/dlr-signed'), signing_secret: 's3cret' });
    const [delivered] = await t.insertMessages(plain, 1, { ptag: 'promo-1', partner_msg_id: 'order 42/ü', segments: 3 });
    const [failed] = await t.insertMessages(signed, 1, { status: 5, ext_status: 8 });
    const [handedOver] = await t.insertMessages(plain, 1, { status: 0, done_at: null });
    await t.enqueueDlr(plain, [delivered!]);
    await t.enqueueDlr(signed, [failed!], 5);
    await t.enqueueDlr(plain, [handedOver!], 0);
    await waitFor('three reports', () => partner.received.filter((r) => r.path.startsWith('/dlr')).length >= 3);

    const reports = partner.received.filter((r) => r.path.startsWith('/dlr'));
    expect(reports.map((r) => r.query.get('status')).sort()).toEqual(['0', '2', '5']);
    for (const r of reports) expect([r.url, check('deliveryReport', r)]).toEqual([r.url, []]);
    expect(reports.find((r) => r.query.get('status') === '5')!.headers['x-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('incoming messages, with and without a signing secret (hash), answered with a reply', async () => {
    partner.answer = (r) => (r.path === '/mo' ? { status: 200, body: 'Thanks\r\nSee you', contentType: 'text/plain; charset=utf-8' } : { status: 200 });
    const plain = await t.createPartner({ mo_url: partner.url('/mo') });
    const signed = await t.createPartner({ mo_url: partner.url('/mo-signed?token=abc'), signing_secret: 's3cret' });
    const a = await t.insertMo(plain, { text: 'Привет, 1+1=2 & more', smsc_connection_id: null, segments: 2 });
    const b = await t.insertMo(signed, { text: 'hi' });
    await t.enqueueMo(plain, [a]);
    await t.enqueueMo(signed, [b]);
    await waitFor('two MO', () => partner.received.filter((r) => r.path.startsWith('/mo')).length >= 2);

    const mo = partner.received.filter((r) => r.path.startsWith('/mo'));
    for (const r of mo) {
      // The partner's own query string is kept in front of the callback's parameters.
      const query = new URLSearchParams(r.query);
      if (r.path === '/mo-signed') {
        expect(query.get('token')).toBe('abc');
        query.delete('token');
        expect(query.get('hash')).not.toBeNull();
      }
      expect([r.url, contract.checkCallback('incomingMessage', { method: 'GET', query, headers: r.headers })]).toEqual([r.url, []]);
    }
    expect(mo.find((r) => r.path === '/mo')!.query.get('message')).toBe('Привет, 1+1=2 & more');
  });

  it('the check has teeth: a request unlike the document is caught', () => {
    const headers = { 'user-agent': 'smsgw-callback/1' };
    const bad = [
      new URLSearchParams('transactionId=1&status=3&msgType=SMS&segments=1&doneDate=2026-11-25%2012%3A00%3A30'),
      new URLSearchParams('transactionId=1&status=2&msgType=SMS&segments=1&doneDate=2026-11-25T12%3A00%3A30Z'),
      new URLSearchParams('transactionId=1&status=2&msgType=SMS&segments=1'),
      new URLSearchParams('transactionId=1&status=2&msgType=SMS&segments=1&doneDate=2026-11-25%2012%3A00%3A30&extra=1'),
    ];
    for (const query of bad) expect(contract.checkCallback('deliveryReport', { method: 'GET', query, headers }).length).toBeGreaterThan(0);
    const good = new URLSearchParams('transactionId=1&status=2&msgType=SMS&segments=1&doneDate=2026-11-25%2012%3A00%3A30');
    expect(contract.checkCallback('deliveryReport', { method: 'GET', query: good, headers })).toEqual([]);
    expect(contract.checkCallback('deliveryReport', { method: 'GET', query: good, headers: {} })).toEqual(['header parameter User-Agent is missing']);
  });
});
