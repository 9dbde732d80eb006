// Found by `npm run test:fuzz`: /status?partnerMsgId=m1%00 reached PostgreSQL, which cannot hold
// U+0000 in text, and was answered 500. /send with such an id failed the same way. Both answer 400 now.
import { type Ingress, qs, request, startIngress, type TestPartner } from './harness';

let ing: Ingress;
let p: TestPartner;

beforeAll(async () => {
  ing = await startIngress();
  p = await ing.createPartner();
}, 60_000);

afterAll(async () => {
  await ing?.close();
});

test('/status with a NUL in partnerMsgId: 400', async () => {
  const r = await request(ing.port, '/status', { form: qs({ serviceId: p.login, pass: p.password, partnerMsgId: 'm1\u0000' }) });
  expect(r.status).toBe(400);
  expect(r.body).toBe('Invalid parameter: partnerMsgId contains a NUL character');
});

test('/send with a NUL in partnerMsgId: 400, nothing stored', async () => {
  const r = await request(ing.port, '/send', { form: qs({ serviceId: p.login, pass: p.password, clientId: '79036550550', message: 'Hi', partnerMsgId: 'm2\u0000' }) });
  expect(r.status).toBe(400);
  expect(r.body).toBe('Invalid parameter: partnerMsgId contains a NUL character');
  expect((await ing.pool.query('SELECT count(*)::int AS n FROM message')).rows[0].n).toBe(0);
});
