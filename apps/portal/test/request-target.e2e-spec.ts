// Found by `npm run test:fuzz`: a request target in absolute form (`GET http://host/api/...`) or
// with escaped letters (`/%61pi/...`) reached /api routes (and Bull Board) without a session,
// because the session check looked at the raw target.
import * as net from 'node:net';
import { createTestEnv, createUser, type Portal, startPortal, type TestEnv } from './harness';

let t: TestEnv;
let portal: Portal;

beforeAll(async () => {
  t = await createTestEnv();
  await createUser(t, 'op', 'operator-password', 'operator');
  portal = await startPortal(t);
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await t?.close();
});

/** One request on its own connection, the target written exactly as given; the status code. */
function statusOf(target: string): Promise<number> {
  const { port } = new URL(portal.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  });
}

test.each([
  '/api/operator/users',
  'http://127.0.0.1/api/operator/users',
  'http://example.com/api/operator/partners',
  '/%61pi/operator/users',
  '/%61%70%69/operator/audit',
  'http://127.0.0.1/api/auth/me',
  '/%61pi/auth/me',
])('no session, %s: 401', async (target) => {
  expect(await statusOf(target)).toBe(401);
});

test.each(['http://127.0.0.1/operator/queues/api/queues', '/%6Fperator/queues/api/queues'])('no session, Bull Board as %s: not served', async (target) => {
  const status = await statusOf(target);
  expect([302, 401, 403, 404]).toContain(status);
});
