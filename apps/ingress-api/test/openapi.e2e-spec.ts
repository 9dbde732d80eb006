import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REQUEST_PARAMS } from '@smsgw/contracts';
import { qs, request, startIngress, type Ingress, type RequestOptions, type Response, type TestPartner } from './harness';
import { OPENAPI_PATH, OpenApiContract, validateOpenApiDocument } from '@smsgw/contracts/dist/openapi-contract';

// docs/openapi.yaml against the real ingress: every answer of every case below, in every format,
// must conform to the document (status, content type, body), and every documented status of every
// operation must be met by some case.
jest.setTimeout(60_000);

type Path = '/send' | '/status' | '/cancel';
type Format = 'text' | 'xml' | 'json';
interface Run {
  format: Format;
  method: 'GET' | 'POST';
}
/** Every answer format, and both methods for plain text (whose HTTP status is the code). */
const RUNS: Run[] = [
  { format: 'text', method: 'GET' },
  { format: 'text', method: 'POST' },
  { format: 'xml', method: 'POST' },
  { format: 'json', method: 'GET' },
];
const label = (r: Run) => `${r.format} ${r.method}`;
const JSON_GET = RUNS[3]!;
const XML_POST = RUNS[2]!;

describe('docs/openapi.yaml', () => {
  const contract = new OpenApiContract();

  it('is a valid OpenAPI 3.1 document', () => {
    expect(contract.doc.openapi).toMatch(/^3\.1\./);
    const result = validateOpenApiDocument();
    expect(result).toEqual({ valid: true, output: expect.any(String) });
    // The validator refuses a document that breaks the specification (a response without its
    // required description).
    const broken = path.join(mkdtempSync(path.join(tmpdir(), 'openapi-')), 'broken.yaml');
    writeFileSync(broken, readFileSync(OPENAPI_PATH, 'utf8').replace(/( {6}description: acknowledged; the body is not read\n)/, ''));
    expect(readFileSync(broken, 'utf8')).not.toEqual(readFileSync(OPENAPI_PATH, 'utf8'));
    expect(validateOpenApiDocument(broken).valid).toBe(false);
    rmSync(path.dirname(broken), { recursive: true });
  });

  it("names every request parameter the ingress reads (REQUEST_PARAMS) and every endpoint's", () => {
    const named = new Set<string>();
    for (const op of ['/send/get', '/status/get', '/cancel/get']) for (const n of contract.queryParameterNames(`#/paths/${op.replace(/^\//, '~1')}`)) named.add(n);
    const schemes = contract.locate('#/components/securitySchemes').value as Record<string, { name: string }>;
    for (const s of Object.values(schemes)) named.add(s.name);
    expect([...REQUEST_PARAMS].filter((p) => !named.has(p))).toEqual([]);
  });
});

describe('the ingress answers as docs/openapi.yaml says', () => {
  const contract = new OpenApiContract();
  let ing: Ingress;
  const partners: Record<string, TestPartner> = {};
  /** `${method} ${path} ${HTTP status}` of every answer seen. */
  const seen = new Set<string>();
  /** Protocol codes seen per path and format. */
  const codes = new Map<string, Set<number>>();

  beforeAll(async () => {
    ing = await startIngress();
    const make = async (key: string, settings: Parameters<Ingress['createPartner']>[0] = {}) => {
      partners[key] = await ing.createPartner(settings);
    };
    await make('main');
    await make('noSender', { senders: [], default_sender: null });
    await make('dynamic', { dynamic_signature: true });
    await make('notPostponed', { postponed_enabled: false });
    await make('elsewhere', { allowed_ips: ['192.0.2.1/32'] });
    await make('blocked', { status: 'blocked' });
    await make('testOver', { test_mode: true, test_ends_at: new Date(Date.now() - 60_000) });
    await make('quota', { test_mode: true, test_quota: 0 });
    await make('slow', { rate_limit: 1 });
    await make('dupes', { duplicate_filter: true, duplicate_max: 1 });
    await make('noPolling', { polling_enabled: false });
    await make('renamed', { request_param_names: { clientId: 'to', message: 'text', transactionId: 'ids' } });
    await ing.pool.query("INSERT INTO blacklisted_number (msisdn) VALUES ('79036559999')");
    await ing.redis.publish(`${ing.prefix}:partner-changed`, 'blacklist');
  });
  afterAll(() => ing?.close());

  /** One request, checked against the document; returns the answer and its protocol code. */
  async function call(path: Path, run: Run, partner: string | null, params: Record<string, string | undefined>, opts: RequestOptions = {}): Promise<{ res: Response; code: number; text: string }> {
    const { format, method } = run;
    const p = partner ? partners[partner]! : null;
    const form = qs({ ...(p ? { serviceId: p.login, pass: p.password } : {}), ...params, output: format === 'text' ? undefined : format });
    const res = await request(ing.port, path, { form, method, ...opts });
    const errors = contract.checkAnswer(method, path, res);
    if (errors.length > 0) throw new Error(`${method} ${path}?${form} answered ${res.status} ${res.contentType}\n${res.body}\n${errors.join('\n')}`);
    seen.add(`${method} ${path} ${res.status}`);
    const { code, text } = protocolCode(format, res);
    const key = `${path} ${format}`;
    if (!codes.has(key)) codes.set(key, new Set());
    codes.get(key)!.add(code);
    return { res, code, text };
  }

  /** Every format: the case's code and, where given, its reason text. */
  async function each(path: Path, partner: string | null, params: (run: Run) => Record<string, string | undefined>, code: number, text?: string | RegExp) {
    for (const run of RUNS) {
      const r = await call(path, run, partner, params(run));
      expect([label(run), r.code]).toEqual([label(run), code]);
      if (text !== undefined) expect(r.text).toMatch(typeof text === 'string' ? new RegExp(`^${escapeRe(text)}$`) : text);
    }
  }
  const send = (extra: Record<string, string> = {}) => () => ({ clientId: '79036550550', message: 'openapi check', ...extra });

  it('/send 200 in every format, and an idempotent repeat', async () => {
    for (const run of RUNS) {
      const r = await call('/send', run, 'main', { clientId: '+79036550551', message: `hello ${label(run)}` });
      expect(r.code).toBe(200);
    }
    const first = await call('/send', JSON_GET, 'main', send({ partnerMsgId: 'oa-1' })());
    const again = await call('/send', XML_POST, 'main', send({ partnerMsgId: 'oa-1', message: 'other text' })());
    expect(again.res.body).toContain(`<id>${(JSON.parse(first.res.body) as { id: string }).id}</id>`);
    const { rows } = await ing.pool.query('SELECT msisdn, text FROM message WHERE partner_id = $1 AND text LIKE $2 ORDER BY id', [partners.main!.id, 'hello %']);
    expect(rows).toEqual(RUNS.map((run) => ({ msisdn: '79036550551', text: `hello ${label(run)}` })));
  });

  it('/send 400 for each parameter check', async () => {
    await each('/send', null, send(), 400, 'Missing parameter: serviceId');
    await each('/send', 'main', () => ({ message: 'x' }), 400, 'Missing parameter: clientId');
    await each('/send', 'main', () => ({ clientId: '79036550550' }), 400, 'Missing parameter: message');
    await each('/send', 'main', send({ message: 'a\u0000b' }), 400, 'Invalid parameter: message contains a NUL character');
    await each('/send', 'noSender', send(), 400, 'Missing parameter: source (no default sender is configured)');
    await each('/send', 'main', send({ source: 'OTHER' }), 400, 'Invalid parameter: source is not one of your senders');
    await each('/send', 'dynamic', send({ source: '!!!' }), 400, 'Invalid parameter: source must be up to 11 letters/digits or up to 15 digits');
    await each('/send', 'main', send({ ptag: 'a b' }), 400, 'Invalid parameter: ptag must be 1-50 characters of 0-9, A-Z, a-z, -');
    await each('/send', 'main', send({ partnerMsgId: 'x'.repeat(51) }), 400, 'Invalid parameter: partnerMsgId is longer than 50 characters');
    await each('/send', 'main', send({ partnerMsgId: 'a\u0000' }), 400, 'Invalid parameter: partnerMsgId contains a NUL character');
    await each('/send', 'main', send({ flash: '2' }), 400, 'Invalid parameter: flash must be 0 or 1');
    await each('/send', 'main', send({ smsPriority: '3' }), 400, 'Invalid parameter: smsPriority must be 0, 1 or 2');
    await each('/send', 'main', send({ validity: '0' }), 400, 'Invalid parameter: validity must be 1-2880 minutes');
    await each('/send', 'main', send({ time_zone: 'Moscow' }), 400, 'Invalid parameter: time_zone must be ±hh:mm');
    await each('/send', 'notPostponed', send({ send_at: '2030-01-01T00:00:00Z' }), 400, 'Invalid parameter: send_at: postponed delivery is not enabled for you');
    await each('/send', 'main', send({ send_at: 'tomorrow' }), 400, 'Invalid parameter: send_at must be ISO 8601 with offset or YYYY-MM-DD HH:MM:SS');
    await each('/send', 'main', send({ send_at: '2099-01-01T00:00:00Z' }), 400, 'Invalid parameter: send_at is more than 30 days ahead');
    await each('/send', 'main', send({ sending_time: '25' }), 400, 'Invalid parameter: sending_time must be hh_hh, e.g. 10_20');
    await each('/send', 'main', send({ clientId: 'abc' }), 400, 'Invalid parameter: clientId is not a phone number');
    // A partner's own parameter names, in its error texts.
    await each('/send', 'renamed', send(), 400, 'Missing parameter: to');
    await each('/send', 'renamed', () => ({ to: 'abc', text: 'x' }), 400, 'Invalid parameter: to is not a phone number');
    await each('/status', 'renamed', () => ({ transactionId: '1' }), 400, 'Missing parameter: ids or partnerMsgId');
    await each('/cancel', 'renamed', () => ({ ids: '1' }), 400, 'Unknown ids');
    // Not valid UTF-8: the raw %FF cannot go through qs(), so it is appended as is.
    for (const run of RUNS) {
      const p = partners.main!;
      const form = `${qs({ serviceId: p.login, pass: p.password, clientId: '79036550550', output: run.format === 'text' ? undefined : run.format })}&message=%FF`;
      const res = await request(ing.port, '/send', { form, method: run.method });
      expect(contract.checkAnswer(run.method, '/send', res)).toEqual([]);
      expect(protocolCode(run.format, res)).toEqual({ code: 400, text: 'Invalid parameter: message is not valid UTF-8' });
    }
  });

  it('/send 401, 402, 403, 406, 409, 408, 414', async () => {
    await each('/send', 'main', () => ({ ...send()(), pass: 'wrong' }), 401, 'Invalid password');
    await each('/send', null, () => ({ ...send()(), serviceId: 'nobody', pass: 'x' }), 401, 'Invalid password');
    await each('/send', 'quota', send(), 402, 'Test quota used up');
    await each('/send', 'elsewhere', send(), 403, 'Address not allowed');
    await each('/send', 'blocked', send(), 403, 'Partner blocked');
    await each('/send', 'testOver', send(), 403, 'Test period over');
    await each('/send', 'main', send({ clientId: '12345' }), 406, 'Invalid number');
    await each('/send', 'main', send({ clientId: '84951234567' }), 406, 'Number is not a mobile number');
    await each('/send', 'main', send({ clientId: '79036559999' }), 406, 'Number is blacklisted');
    await each('/send', 'main', send({ message: 'x'.repeat(2001) }), 414, 'Message too long: more than 2000 characters');
    await each('/send', 'main', send({ flash: '1', message: 'x'.repeat(161) }), 414, 'Flash message must fit one SMS');
    for (const run of RUNS) {
      expect((await call('/send', run, 'dupes', send({ message: `dupe ${label(run)}` })())).code).toBe(200);
      const r = await call('/send', run, 'dupes', send({ message: `dupe ${label(run)}` })());
      expect([r.code, r.text]).toEqual([409, 'Duplicate message']);
    }
    for (const run of RUNS) {
      // A bucket of one token a second: of two requests in a row, the second is over the limit.
      await call('/send', run, 'slow', send()());
      const second = await call('/send', run, 'slow', send()());
      expect([second.code, second.text]).toEqual([408, 'Rate limit exceeded']);
    }
  });

  it('/send 503 while a request with the same partnerMsgId is in flight', async () => {
    for (const run of RUNS) {
      const lock = await ing.pool.connect();
      try {
        // The first request waits for the table, so it is in flight when the second comes.
        await lock.query('BEGIN');
        await lock.query('LOCK TABLE message IN ACCESS EXCLUSIVE MODE');
        const first = call('/send', JSON_GET, 'main', send({ partnerMsgId: `in-flight-${label(run)}` })());
        // In flight once its insert waits for the lock.
        for (let i = 0; i < 200; i++) {
          const { rows } = await ing.pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
          if (rows[0].n > 0) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        const r = await call('/send', run, 'main', send({ partnerMsgId: `in-flight-${label(run)}` })());
        expect([r.code, r.text]).toEqual([503, 'A request with this partnerMsgId is still being processed']);
        await lock.query('COMMIT');
        expect((await first).code).toBe(200);
      } finally {
        lock.release();
      }
    }
  });

  it('/status: statuses in every format, and its errors', async () => {
    const id = JSON.parse((await call('/send', JSON_GET, 'main', send({ partnerMsgId: 'st-1' })())).res.body).id as string;
    const failed = JSON.parse((await call('/send', JSON_GET, 'main', send({ message: 'y'.repeat(200) })())).res.body).id as string;
    await ing.pool.query('UPDATE message SET status = 5, ext_status = 8 WHERE id = $1', [failed]);
    for (const run of RUNS) {
      const many = await call('/status', run, 'main', { transactionId: `${id}, ${failed},999999999,abc` });
      expect([many.code, many.res.body]).toEqual([200, expect.stringContaining(failed)]);
      const one = await call('/status', run, 'main', { partnerMsgId: 'st-1' });
      expect(one.res.body).toContain(id);
      const unknown = await call('/status', run, 'main', { partnerMsgId: 'no-such' });
      expect([unknown.code, unknown.res.body]).toEqual([200, expect.stringContaining('no-such')]);
    }
    await each('/status', 'main', () => ({}), 400, 'Missing parameter: transactionId or partnerMsgId');
    await each('/status', 'main', () => ({ transactionId: ' , ,' }), 400, 'Missing parameter: transactionId');
    await each('/status', 'main', () => ({ transactionId: Array.from({ length: 101 }, (_, i) => String(i + 1)).join(',') }), 400, 'Invalid parameter: transactionId: at most 100 ids');
    await each('/status', 'main', () => ({ partnerMsgId: 'a\u0000' }), 400, 'Invalid parameter: partnerMsgId contains a NUL character');
    await each('/status', null, () => ({ transactionId: id }), 400, 'Missing parameter: serviceId');
    await each('/status', 'main', () => ({ transactionId: id, pass: 'wrong' }), 401, 'Invalid password');
    await each('/status', 'noPolling', () => ({ transactionId: id }), 403, 'Status polling is not enabled for you');
    await each('/status', 'blocked', () => ({ transactionId: id }), 403, 'Partner blocked');
  });

  it('/cancel: cancelled (twice), and its errors', async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    for (const run of RUNS) {
      const id = JSON.parse((await call('/send', JSON_GET, 'main', send({ send_at: at })())).res.body).id as string;
      expect((await call('/cancel', run, 'main', { transactionId: id })).code).toBe(200);
      expect((await call('/cancel', run, 'main', { transactionId: id })).code).toBe(200);
      const { rows } = await ing.pool.query('SELECT status FROM message WHERE id = $1', [id]);
      expect(rows).toEqual([{ status: 8 }]);
    }
    const sent = JSON.parse((await call('/send', JSON_GET, 'main', send()())).res.body).id as string;
    await ing.pool.query('UPDATE message SET status = 0 WHERE id = $1', [sent]);
    await each('/cancel', 'main', () => ({ transactionId: sent }), 406, 'Already sent');
    await each('/cancel', 'main', () => ({ transactionId: '999999999' }), 400, 'Unknown transactionId');
    await each('/cancel', 'main', () => ({ transactionId: 'abc' }), 400, 'Invalid parameter: transactionId is not a message id');
    await each('/cancel', 'main', () => ({}), 400, 'Missing parameter: transactionId');
    await each('/cancel', 'main', () => ({ transactionId: sent, pass: 'wrong' }), 401, 'Invalid password');
    await each('/cancel', 'testOver', () => ({ transactionId: sent }), 403, 'Test period over');
  });

  it("the web framework's answers: a body type with no parser (415), a body over 64 KiB (413), malformed JSON (400)", async () => {
    for (const path of ['/send', '/status', '/cancel'] as const) {
      const badJson = await request(ing.port, path, { method: 'POST', form: '{bad', headers: { 'content-type': 'application/json' } });
      expect([badJson.status, badJson.contentType]).toEqual([400, 'application/json; charset=utf-8']);
      expect(contract.checkAnswer('POST', path, badJson)).toEqual([]);
      const xmlBody = await request(ing.port, path, { method: 'POST', form: '<send/>', headers: { 'content-type': 'text/xml' } });
      expect(xmlBody.status).toBe(415);
      expect(contract.checkAnswer('POST', path, xmlBody)).toEqual([]);
      seen.add(`POST ${path} 415`);
      const big = await request(ing.port, path, { method: 'POST', form: `message=${'x'.repeat(65 * 1024)}` });
      expect(big.status).toBe(413);
      expect(contract.checkAnswer('POST', path, big)).toEqual([]);
      seen.add(`POST ${path} 413`);
    }
  });

  it('500 when the platform cannot store or read (its message table gone)', async () => {
    await ing.pool.query('ALTER TABLE message RENAME TO message_away');
    try {
      await each('/send', 'main', send(), 500, 'Internal error: nothing was accepted, retry in a minute');
      await each('/status', 'main', () => ({ transactionId: '1' }), 500, 'Internal error: nothing was accepted, retry in a minute');
      await each('/cancel', 'main', () => ({ transactionId: '1' }), 500, 'Internal error: nothing was accepted, retry in a minute');
    } finally {
      await ing.pool.query('ALTER TABLE message_away RENAME TO message');
    }
  });

  it('the checks have teeth: answers that differ from the document are caught', () => {
    const text = 'text/plain; charset=utf-8';
    const xml = 'application/xml; charset=utf-8';
    const json = 'application/json; charset=utf-8';
    const head = '<?xml version="1.0" encoding="utf-8"?>';
    const wrong: Array<[string, string, { status: number; contentType: string; body: string }]> = [
      ['GET', '/send', { status: 400, contentType: text, body: 'Bad clientId' }],
      ['GET', '/send', { status: 402, contentType: json, body: '{"code":402,"text":"Test quota used up"}' }],
      ['GET', '/send', { status: 200, contentType: 'text/plain', body: 'OK\n1000' }],
      ['GET', '/send', { status: 200, contentType: text, body: 'OK\n1000\n' }],
      ['GET', '/send', { status: 200, contentType: json, body: '{"code":200,"text":"OK","id":1000,"segments":1}' }],
      ['GET', '/send', { status: 200, contentType: json, body: '{"code":409,"text":"Rate limit exceeded"}' }],
      ['GET', '/send', { status: 418, contentType: text, body: 'teapot' }],
      ['POST', '/send', { status: 200, contentType: xml, body: `${head}<response><code>200</code><text>OK</text><payload><id>x1</id><segments>1</segments></payload></response>` }],
      ['POST', '/send', { status: 200, contentType: xml, body: `${head}<answer><code>200</code><text>OK</text></answer>` }],
      ['POST', '/send', { status: 200, contentType: xml, body: `<response><code>200</code><text>OK</text><payload><id>1</id><segments>1</segments></payload></response>` }],
      ['POST', '/status', { status: 200, contentType: xml, body: `${head}<response><code>200</code><text>OK</text><payload><message><transactionId>5</transactionId><status>3</status></message></payload></response>` }],
      ['GET', '/status', { status: 200, contentType: text, body: 'OK\n1000;1;0;yesterday;1' }],
      ['GET', '/cancel', { status: 406, contentType: text, body: 'Number is gone' }],
    ];
    for (const [method, path, answer] of wrong) expect([path, answer.body, contract.checkAnswer(method, path, answer).length > 0]).toEqual([path, answer.body, true]);
  });

  it('every documented status of every operation was answered above, and every code in every format', () => {
    const missing: string[] = [];
    for (const path of ['/send', '/status', '/cancel'] as const) {
      for (const method of ['GET', 'POST']) {
        for (const status of contract.statuses(method, path)) {
          // A body's answers (413, 415) come to a POST; /status's and /cancel's 503 is only the
          // framework's of an instance starting or shutting down, not provoked here.
          if (method === 'GET' && (status === '413' || status === '415')) continue;
          if (status === '503' && path !== '/send') continue;
          if (!seen.has(`${method} ${path} ${status}`)) missing.push(`${method} ${path} ${status}`);
        }
      }
      const byFormat = (f: Format) => [...(codes.get(`${path} ${f}`) ?? [])].sort();
      expect(byFormat('text').length).toBeGreaterThan(3);
      for (const f of ['xml', 'json'] as const) expect([path, f, byFormat(f)]).toEqual([path, f, byFormat('text')]);
    }
    expect(missing).toEqual([]);
  });
});

/** The protocol code and reason of an answer: the HTTP status in plain text, the body's code otherwise. */
function protocolCode(format: Format, res: Response): { code: number; text: string } {
  if (format === 'json') {
    const b = JSON.parse(res.body) as { code: number; text: string };
    return { code: b.code, text: b.text };
  }
  if (format === 'xml') {
    const code = /<code>(\d+)<\/code>/.exec(res.body)?.[1];
    const text = /<text>([^<]*)<\/text>/.exec(res.body)?.[1] ?? '';
    return { code: Number(code), text: text.replace(/&lt;|&gt;|&amp;|&quot;|&apos;/g, (e) => ({ '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&apos;': "'" })[e]!) };
  }
  return { code: res.status, text: res.status === 200 ? 'OK' : res.body };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
