// Found by `npm run test:fuzz`: a query parameter given twice arrived as an array where routes read
// a string (`q.msisdn.trim is not a function`: 500), and a NUL character in a query value or a JSON
// body reached PostgreSQL, which refuses it (500). Now the first value counts, and NUL is a 400.
import { createPartner, createTestEnv, createUser, loggedIn, type Portal, startPortal, type TestEnv, Client } from './harness';

let t: TestEnv;
let portal: Portal;
let operator: Client;
let pid = 0;

beforeAll(async () => {
  t = await createTestEnv();
  await createUser(t, 'op', 'operator-password', 'operator');
  pid = (await createPartner(t, 'acme')).id;
  portal = await startPortal(t);
  operator = await loggedIn(portal.url, 'op', 'operator-password');
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await t?.close();
});

test.each([
  '/api/mo?partnerId=1&msisdn=1&msisdn=2',
  '/api/mo?partnerId=1&serviceNumber=4565&serviceNumber=x',
  '/api/operator/audit?action=a&action=b',
  '/api/operator/audit?entity=x&entity',
  '/api/messages?partnerId=1&msisdn=79036550550&msisdn=1',
  '/api/messages/export.csv?partnerId=1&status=2&status=5',
  '/api/stats?partnerId=1&from=2026-01-01&from=2026-01-02',
  '/api/callbacks?partnerId=1&state=parked&state=parked',
])('a parameter given twice: the first counts, %s answers 200', async (path) => {
  const r = await operator.get(path.replace('partnerId=1', `partnerId=${pid}`));
  expect(r.status).toBe(200);
});

test.each(['/api/mo?partnerId=1&serviceNumber=%00', '/api/operator/audit?entity=a%00b', '/api/messages?partnerId=1&sender=%00'])('NUL in a query value, %s: 400', async (path) => {
  expect((await operator.get(path.replace('partnerId=1', `partnerId=${pid}`))).status).toBe(400);
});

test('NUL in a JSON body: 400', async () => {
  const anon = new Client(portal.url);
  expect((await anon.post('/api/auth/login', { login: 'op\u0000', password: 'x' })).status).toBe(400);
  expect((await operator.post('/api/operator/users', { login: 'u1', role: 'operator', password: 'a-password\u0000x' })).status).toBe(400);
});

// Found by `npm run test:fuzz` (seed 444041254): a lone surrogate in a JSON string, and a user moved
// to a partner that does not exist, reached PostgreSQL (500).
test('a lone surrogate anywhere in a JSON body: 400, nothing stored', async () => {
  const before = await t.prisma.partner.findUniqueOrThrow({ where: { id: pid } });
  // JSON.stringify keeps a lone surrogate as the escape \udef8.
  const r = await operator.patch(`/api/operator/partners/${pid}`, { rateLimit: 87, senders: 'AB\udef8CD' });
  expect(r.status).toBe(400);
  expect((await operator.patch(`/api/operator/partners/${pid}`, { requestParamNames: { ['\ud800x']: 'to' } })).status).toBe(400);
  expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: pid } })).rateLimit).toBe(before.rateLimit);
});

test('moving a user to a partner that does not exist: 400 naming partnerId', async () => {
  const id = await createUser(t, 'mover', 'mover-password-1', 'operator');
  const r = await operator.patch(`/api/operator/users/${id}`, { role: 'partner', partnerId: 740888934 });
  expect(r.status).toBe(400);
  expect(r.body.field).toBe('partnerId');
  expect((await t.prisma.user.findUniqueOrThrow({ where: { id } })).role).toBe('operator');
});
