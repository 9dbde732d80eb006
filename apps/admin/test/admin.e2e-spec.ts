// The operator CLI as operators run it: the built apps/admin/dist/main.js in a child process,
// against a throw-away database and its own Redis key prefix. The last block starts the built
// ingress (apps/ingress-api/dist/main.js) as a child process too, so no code of another app is
// imported, and checks that what the CLI does reaches a running service.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import Redis from 'ioredis';
import { createPrismaClient, hashApiPassword, type PrismaClient, verifyApiPassword, verifyUserPassword } from '@smsgw/db';
import { createTestDatabase, freePort, type TestDatabase } from '@smsgw/db/dist/testing';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'apps', 'admin', 'dist', 'main.js');
const INGRESS = path.join(ROOT, 'apps', 'ingress-api', 'dist', 'main.js');
const CALLBACK_WORKER = path.join(ROOT, 'apps', 'callback-worker', 'dist', 'main.js');
const PEPPER = 'test-pepper-0123456789';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `tadm${process.pid}_${randomBytes(3).toString('hex')}`;
const PARTNER_CHANNEL = `${PREFIX}:partner-changed`;
const SMSC_CHANNEL = `${PREFIX}:smsc-changed`;

let db: TestDatabase;
let prisma: PrismaClient;
let sub: Redis;
const published: { channel: string; message: string }[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run admin -- <args>`, as a child process with this test's database and prefix. */
function admin(...args: string[]): Promise<Run> {
  return adminWith({}, ...args);
}

function adminWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return adminIn(undefined, env, ...args);
}

/** With `input` piped to the CLI's standard input (then closed), as `printf … | npm run admin -- …`. */
function adminIn(input: string | undefined, env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      // CALLBACK_ALLOW_PRIVATE_TARGETS: the partners here have hooks on 127.0.0.1 (or names with no
      // DNS); the test of the policy turns it off.
      { env: { ...process.env, DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX: PREFIX, API_PASSWORD_PEPPER: PEPPER, CALLBACK_ALLOW_PRIVATE_TARGETS: 'true', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** A command that must succeed, given `input` on standard input. */
async function okIn(input: string, ...args: string[]): Promise<string> {
  const r = await adminIn(input, {}, ...args);
  if (r.code !== 0) throw new Error(`admin ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  expect(r.stderr).toBe('');
  return r.stdout;
}

/** Runs a command that must succeed; shows its output if it does not. */
async function ok(...args: string[]): Promise<string> {
  const r = await admin(...args);
  if (r.code !== 0) throw new Error(`admin ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  expect(r.stderr).toBe('');
  return r.stdout;
}

/** Runs a command that must fail with exit 1 and one `error: …` line. */
async function fails(...args: string[]): Promise<string> {
  return failsIn(undefined, ...args);
}

/** As fails(), given `input` on standard input. */
async function failsIn(input: string | undefined, ...args: string[]): Promise<string> {
  const r = await adminIn(input, {}, ...args);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
  const first = r.stderr.split('\n')[0]!;
  expect(first).toMatch(/^error: /);
  return first;
}

/** Waits for (and consumes) a notification on `channel` with `message`. */
async function expectPublished(channel: string, message: string): Promise<void> {
  const until = Date.now() + 3000;
  for (;;) {
    const i = published.findIndex((p) => p.channel === channel && p.message === message);
    if (i >= 0) {
      published.splice(i, 1);
      return;
    }
    if (Date.now() > until) throw new Error(`nothing published on ${channel} with ${message}; got ${JSON.stringify(published)}`);
    await sleep(20);
  }
}

/** What `partner show` and `partner list` print, as text and as JSON; `all`: every output, to search for secrets. */
async function shown(login: string) {
  const text = await ok('partner', 'show', login);
  const jsonText = await ok('partner', 'show', login, '--json');
  const list = await ok('partner', 'list');
  return { text, json: JSON.parse(jsonText) as Record<string, unknown>, list, all: [text, jsonText, list, await ok('partner', 'list', '--json')] };
}

async function lastAudit(entity: string) {
  return prisma.auditLog.findFirst({ where: { entity }, orderBy: { id: 'desc' } });
}

/** JSON of a row as a whole (ids are bigint), to look for strings that must not be anywhere in it. */
const str = (x: unknown) => JSON.stringify(x, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function passwordFrom(stdout: string, login: string, kind: 'API' | 'SMPP' = 'API'): string {
  const m = new RegExp(`${kind} password for ${login} \\(shown once, stored hashed\\):\\n  (\\S+)\\n`).exec(stdout);
  if (!m) throw new Error(`no password in:\n${stdout}`);
  return m[1]!;
}

beforeAll(async () => {
  // The tests run the compiled CLI: a stale build would test old code.
  const built = fs.existsSync(CLI) ? fs.statSync(CLI).mtimeMs : 0;
  const sources = fs.readdirSync(path.join(ROOT, 'apps', 'admin', 'src')).map((f) => fs.statSync(path.join(ROOT, 'apps', 'admin', 'src', f)).mtimeMs);
  if (built < Math.max(...sources)) throw new Error('apps/admin/dist is missing or older than apps/admin/src: run npm run build first');

  db = await createTestDatabase();
  prisma = createPrismaClient(db.url);
  sub = new Redis(REDIS_URL);
  sub.on('message', (channel: string, message: string) => published.push({ channel, message }));
  await sub.subscribe(PARTNER_CHANNEL, SMSC_CHANNEL);
});

afterAll(async () => {
  await prisma?.$disconnect();
  if (sub) {
    await sub.quit();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${PREFIX}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
  await db?.drop();
});

describe('partner', () => {
  let acmeId: number;
  let acmePassword: string;

  it('create: prints the generated password once, stores only its hash, audits and announces', async () => {
    const out = await ok('partner', 'create', '--login', 'acme', '--allowed-ips', '127.0.0.1,2001:db8::/32', '--senders', 'ACME,4565', '--rate-limit', '50', '--country', 'RU');
    acmePassword = passwordFrom(out, 'acme');
    expect(acmePassword).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(out.split(acmePassword)).toHaveLength(2); // exactly once

    const row = await prisma.partner.findUniqueOrThrow({ where: { login: 'acme' } });
    acmeId = row.id;
    expect(row).toMatchObject({ allowedIps: ['127.0.0.1', '2001:db8::/32'], senders: ['ACME', '4565'], rateLimit: 50, status: 'active' });
    expect(row.apiPasswordHash).toBe(hashApiPassword(acmePassword, PEPPER));
    expect(out).not.toContain(row.apiPasswordHash);

    const a = await lastAudit(`partner:${acmeId}`);
    expect(a).toMatchObject({ action: 'partner.create', before: null, after: expect.objectContaining({ login: 'acme', rateLimit: 50 }) });
    expect(a!.actor).toMatch(/^cli:/);
    expect(str(a)).not.toContain(row.apiPasswordHash);
    expect(a!.after).not.toHaveProperty('apiPasswordHash');
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
  });

  it('show and list never print the password or its hash', async () => {
    const { apiPasswordHash } = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    const { text, json, list, all } = await shown('acme');
    expect(text).toMatch(/^login\s+acme$/m);
    expect(text).toMatch(/^rateLimit\s+50$/m);
    expect(json).toMatchObject({ login: 'acme', rateLimit: 50, serviceNumbers: [] });
    expect(json).not.toHaveProperty('apiPasswordHash');
    expect(list).toMatch(new RegExp(`^\\s+${acmeId}\\s+acme\\s+active\\s+50\\s+no\\s+ACME, 4565$`, 'm'));
    for (const out of all) {
      expect(out).not.toContain(apiPasswordHash);
      expect(out).not.toContain(acmePassword);
      expect(out).not.toMatch(/apiPasswordHash/);
    }
  });

  it('update: changes settings, audits before and after, announces', async () => {
    const out = await ok('partner', 'update', 'acme', '--rate-limit', '70', '--request-params', 'clientId=to,message=text', '--duplicate-filter', 'yes', '--signing-secret', 'generate');
    expect(out).toMatch(/^rateLimit\s+70$/m);
    expect(out).toMatch(/^signingSecret\s+\(set\)$/m);
    const row = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    expect(row).toMatchObject({ rateLimit: 70, requestParamNames: { clientId: 'to', message: 'text' }, duplicateFilter: true });
    expect(row.signingSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(out).not.toContain(row.signingSecret);

    const a = await lastAudit(`partner:${acmeId}`);
    expect(a).toMatchObject({
      action: 'partner.update',
      before: expect.objectContaining({ rateLimit: 50, duplicateFilter: false, requestParamNames: {}, signingSecret: null }),
      after: expect.objectContaining({ rateLimit: 70, duplicateFilter: true, requestParamNames: { clientId: 'to', message: 'text' }, signingSecret: '(set)' }),
    });
    expect(str(a)).not.toContain(row.apiPasswordHash);
    expect(str(a)).not.toContain(row.signingSecret);
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
  });

  it('update: wrong values are refused with a clear error and exit 1, and change nothing', async () => {
    const audits = await prisma.auditLog.count();
    const before = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    expect(await fails('partner', 'update', 'acme', '--rate-limit', '0')).toBe('error: "0" must be a whole number from 1 to 100000');
    expect(await fails('partner', 'update', 'acme', '--rate-limit', '12abc')).toBe('error: "12abc" must be a whole number from 1 to 100000');
    expect(await fails('partner', 'update', 'acme', '--allowed-ips', '10.0.0.1,999.1.1.1')).toBe('error: "999.1.1.1" is not an IPv4/IPv6 address or CIDR range');
    expect(await fails('partner', 'update', 'acme', '--duplicate-filter', 'maybe')).toBe('error: "maybe" is not a yes/no value (use true or false)');
    expect(await fails('partner', 'update', 'acme', '--time-zone', 'Mars/Olympus')).toMatch(/^error: "Mars\/Olympus" is not a time zone/);
    expect(await fails('partner', 'update', 'acme', '--request-params', 'phone=to')).toMatch(/^error: "phone=to": use canonical=name/);
    expect(await fails('partner', 'update', 'acme')).toBe('error: nothing to change: give at least one setting option (see --help)');
    expect(await fails('partner', 'update', 'nobody', '--rate-limit', '5')).toBe('error: no partner with login "nobody" (see: npm run admin -- partner list)');
    expect(await fails('partner', 'create', '--login', 'acme')).toBe('error: that login or number exists already');
    expect(await fails('partner', 'create', '--login', 'bad login')).toBe('error: login: 1-64 characters of letters, digits, _ . -');
    expect(await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).toEqual(before);
    expect(await prisma.auditLog.count()).toBe(audits);
    expect(await prisma.partner.count()).toBe(1);
  });

  it('update: status and MO URLs aimed inside the network are refused unless CALLBACK_ALLOW_PRIVATE_TARGETS is on', async () => {
    const off = { CALLBACK_ALLOW_PRIVATE_TARGETS: 'false' };
    const before = await prisma.partner.findUniqueOrThrow({ where: { login: 'acme' } });
    const metadata = await adminWith(off, 'partner', 'update', 'acme', '--status-url', 'http://169.254.169.254/latest');
    expect({ code: metadata.code, stdout: metadata.stdout }).toEqual({ code: 1, stdout: '' });
    expect(metadata.stderr).toMatch(/^error: the status URL "http:\/\/169\.254\.169\.254\/latest" is refused: 169\.254\.169\.254 is a cloud metadata address; .*CALLBACK_ALLOW_PRIVATE_TARGETS is off/);
    const mapped = await adminWith(off, 'partner', 'update', 'acme', '--mo-url', 'http://[::ffff:7f00:1]:8080/mo');
    expect(mapped.stderr).toMatch(/^error: the MO URL .* is refused: .*loopback/);
    const unresolved = await adminWith(off, 'partner', 'update', 'acme', '--status-url', 'https://no-such-host.invalid/dlr');
    expect(unresolved.stderr).toMatch(/^error: the status URL .* is refused: its host could not be resolved .*retry if DNS was down/);
    const typo = await adminWith({ CALLBACK_ALLOW_PRIVATE_TARGETS: 'sometimes' }, 'partner', 'update', 'acme', '--status-url', 'http://127.0.0.1/dlr');
    expect(typo.stderr).toBe('error: CALLBACK_ALLOW_PRIVATE_TARGETS: "sometimes" is not a yes/no value (use true or false)\n');
    const after = await prisma.partner.findUniqueOrThrow({ where: { login: 'acme' } });
    expect({ statusUrl: after.statusUrl, moUrl: after.moUrl }).toEqual({ statusUrl: before.statusUrl, moUrl: before.moUrl });
  });

  it('update: --callback-concurrency takes 1 to 1000, "default" clears it; audited and announced', async () => {
    expect(await ok('partner', 'update', 'acme', '--callback-concurrency', '16')).toMatch(/^callbackConcurrency\s+16$/m);
    expect((await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).callbackConcurrency).toBe(16);
    expect(await lastAudit(`partner:${acmeId}`)).toMatchObject({
      action: 'partner.update',
      before: expect.objectContaining({ callbackConcurrency: null }),
      after: expect.objectContaining({ callbackConcurrency: 16 }),
    });
    await expectPublished(PARTNER_CHANNEL, String(acmeId));

    const audits = await prisma.auditLog.count();
    expect(await fails('partner', 'update', 'acme', '--callback-concurrency', '0')).toBe('error: "0" must be a whole number from 1 to 1000');
    expect(await fails('partner', 'update', 'acme', '--callback-concurrency', '1001')).toBe('error: "1001" must be a whole number from 1 to 1000');
    expect(await fails('partner', 'update', 'acme', '--callback-concurrency', 'lots')).toBe('error: "lots" must be a whole number from 1 to 1000');
    expect(await prisma.auditLog.count()).toBe(audits);
    expect((await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).callbackConcurrency).toBe(16);

    expect(await ok('partner', 'update', 'acme', '--callback-concurrency', 'default')).toMatch(/^callbackConcurrency\s+$/m);
    expect((await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).callbackConcurrency).toBeNull();
    expect(await lastAudit(`partner:${acmeId}`)).toMatchObject({ before: expect.objectContaining({ callbackConcurrency: 16 }), after: expect.objectContaining({ callbackConcurrency: null }) });
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
  });

  it('set-password: a new password printed once, the hash replaced, audited without either', async () => {
    const out = await ok('partner', 'set-password', 'acme');
    const fresh = passwordFrom(out, 'acme');
    expect(fresh).not.toBe(acmePassword);
    const row = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    expect(row.apiPasswordHash).toBe(hashApiPassword(fresh, PEPPER));
    const a = await lastAudit(`partner:${acmeId}`);
    expect(a).toMatchObject({ action: 'partner.set-password', before: null, after: null });
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
    acmePassword = fresh;
  });

  it('smpp-password: a generated password of at most 8 characters, printed once, stored hashed, audited without either', async () => {
    const { apiPasswordHash } = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    expect(await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).toMatchObject({ smppPasswordHash: null, smppMaxBinds: null });
    const out = await ok('partner', 'smpp-password', 'acme');
    const smpp = passwordFrom(out, 'acme', 'SMPP');
    expect(smpp).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(out.split(smpp)).toHaveLength(2); // exactly once

    const row = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    expect(verifyApiPassword(smpp, row.smppPasswordHash!, PEPPER)).toBe(true);
    expect(row.smppPasswordHash).not.toContain(smpp);
    expect(row.apiPasswordHash).toBe(apiPasswordHash); // the API password is another secret
    expect(out).not.toContain(row.smppPasswordHash);

    const a = await lastAudit(`partner:${acmeId}`);
    expect(a).toMatchObject({ action: 'partner.set-smpp-password', before: null, after: null });
    expect(str(a)).not.toContain(row.smppPasswordHash);
    expect(str(a)).not.toContain(smpp);
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
  });

  it('smpp-password --password-stdin: a chosen password; an invalid one is refused with a clear error and changes nothing', async () => {
    const chosen = 'Xq7#pw9!';
    expect(await okIn(`${chosen}\n`, 'partner', 'smpp-password', 'acme', '--password-stdin')).toBe('acme: SMPP password set (stored hashed)\n');
    const row = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    expect(verifyApiPassword(chosen, row.smppPasswordHash!, PEPPER)).toBe(true);
    const a = await lastAudit(`partner:${acmeId}`);
    expect(a).toMatchObject({ action: 'partner.set-smpp-password', before: null, after: null });
    expect(str(a)).not.toContain(chosen);
    expect(str(a)).not.toContain(row.smppPasswordHash);
    await expectPublished(PARTNER_CHANNEL, String(acmeId));

    const audits = await prisma.auditLog.count();
    const smppPassword = ['partner', 'smpp-password', 'acme', '--password-stdin'];
    expect(await failsIn('ninechars\n', ...smppPassword)).toBe('error: the SMPP password has 9 characters: SMPP 3.4 allows at most 8');
    expect(await failsIn('two word\n', ...smppPassword)).toBe('error: the SMPP password may only have printable ASCII characters, without spaces (! to ~)');
    expect(await failsIn('\n', ...smppPassword)).toBe('error: the SMPP password is empty: give 1 to 8 characters');
    expect(await failsIn('', ...smppPassword)).toBe('error: --password-stdin: nothing on standard input (expected SMPP password on one line)');
    expect(await failsIn('pw\n', ...smppPassword, '--disable')).toBe('error: give --disable or --password-stdin, not both');
    expect(await fails('partner', 'smpp-password', 'nobody')).toBe('error: no partner with login "nobody" (see: npm run admin -- partner list)');
    expect(await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).toEqual(row);
    expect(await prisma.auditLog.count()).toBe(audits);
  });

  it('update: --smpp-max-binds takes 1 to 1000, "default" clears it; the column refuses 0 too', async () => {
    expect(await ok('partner', 'update', 'acme', '--smpp-max-binds', '4')).toMatch(/^smppMaxBinds\s+4$/m);
    const row = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    expect(row.smppMaxBinds).toBe(4);
    const a = await lastAudit(`partner:${acmeId}`);
    expect(a).toMatchObject({
      action: 'partner.update',
      before: expect.objectContaining({ smppMaxBinds: null, smppEnabled: true }),
      after: expect.objectContaining({ smppMaxBinds: 4, smppEnabled: true }),
    });
    expect(str(a)).not.toContain(row.smppPasswordHash);
    expect(str(a)).not.toMatch(/smppPasswordHash|apiPasswordHash/);
    await expectPublished(PARTNER_CHANNEL, String(acmeId));

    const audits = await prisma.auditLog.count();
    expect(await fails('partner', 'update', 'acme', '--smpp-max-binds', '0')).toBe('error: "0" must be a whole number from 1 to 1000');
    expect(await fails('partner', 'update', 'acme', '--smpp-max-binds', '-2')).toBe('error: "-2" must be a whole number from 1 to 1000');
    await expect(prisma.$executeRaw`UPDATE partner SET smpp_max_binds = 0 WHERE id = ${acmeId}`).rejects.toThrow(/partner_smpp_max_binds_check/);
    expect(await prisma.auditLog.count()).toBe(audits);
    expect((await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).smppMaxBinds).toBe(4);

    expect(await ok('partner', 'update', 'acme', '--smpp-max-binds', 'default')).toMatch(/^smppMaxBinds\s+$/m);
    expect((await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).smppMaxBinds).toBeNull();
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
    await ok('partner', 'update', 'acme', '--smpp-max-binds', '4');
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
  });

  it('show and list say whether SMPP is enabled and never print the SMPP password hash', async () => {
    const { smppPasswordHash } = await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } });
    const { text, json, all } = await shown('acme');
    expect(text).toMatch(/^smppEnabled\s+true$/m);
    expect(text).toMatch(/^smppMaxBinds\s+4$/m);
    expect(json).toMatchObject({ smppEnabled: true, smppMaxBinds: 4 });
    for (const out of all) {
      expect(out).not.toContain(smppPasswordHash);
      expect(out).not.toMatch(/smppPasswordHash/);
    }
  });

  it('smpp-password --disable: clears the password (binds refused), audited and announced; a second time changes nothing', async () => {
    expect(await ok('partner', 'smpp-password', 'acme', '--disable')).toBe('acme: SMPP disabled (binds refused)\n');
    expect((await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).smppPasswordHash).toBeNull();
    expect(await lastAudit(`partner:${acmeId}`)).toMatchObject({ action: 'partner.disable-smpp', before: null, after: null });
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
    expect(await ok('partner', 'show', 'acme')).toMatch(/^smppEnabled\s+false$/m);

    const audits = await prisma.auditLog.count();
    expect(await ok('partner', 'smpp-password', 'acme', '--disable')).toBe('acme: SMPP was disabled already; nothing changed\n');
    expect(await prisma.auditLog.count()).toBe(audits);
  });

  it('block and unblock', async () => {
    expect(await ok('partner', 'block', 'acme')).toBe('acme: blocked\n');
    expect((await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).status).toBe('blocked');
    expect(await lastAudit(`partner:${acmeId}`)).toMatchObject({ action: 'partner.block', before: expect.objectContaining({ status: 'active' }), after: expect.objectContaining({ status: 'blocked' }) });
    await expectPublished(PARTNER_CHANNEL, String(acmeId));

    expect(await ok('partner', 'unblock', 'acme')).toBe('acme: active\n');
    expect((await prisma.partner.findUniqueOrThrow({ where: { id: acmeId } })).status).toBe('active');
    expect(await lastAudit(`partner:${acmeId}`)).toMatchObject({ action: 'partner.unblock', after: expect.objectContaining({ status: 'active' }) });
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
  });

  it('service-number add and remove; a number of another partner is refused', async () => {
    expect(await ok('partner', 'service-number', 'acme', 'add', '+4565')).toBe('acme: service number 4565 added\n');
    expect(await prisma.serviceNumber.findUnique({ where: { number: '4565' } })).toMatchObject({ partnerId: acmeId });
    expect(await lastAudit(`partner:${acmeId}`)).toMatchObject({ action: 'service-number.add', after: { number: '4565' } });
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
    expect(JSON.parse(await ok('partner', 'show', 'acme', '--json'))).toMatchObject({ serviceNumbers: ['4565'] });

    await ok('partner', 'create', '--login', 'other');
    const other = await prisma.partner.findUniqueOrThrow({ where: { login: 'other' } });
    await expectPublished(PARTNER_CHANNEL, String(other.id));
    expect(await fails('partner', 'service-number', 'other', 'add', '4565')).toBe(`error: 4565 already belongs to partner ${acmeId}`);
    expect(await prisma.serviceNumber.findUnique({ where: { number: '4565' } })).toMatchObject({ partnerId: acmeId });
    expect(await fails('partner', 'service-number', 'acme', 'add', '45-65')).toBe('error: "45-65" is not a service number');
    expect(await fails('partner', 'service-number', 'acme', 'move', '4566')).toBe('error: action is add or remove');

    // Removing through the wrong partner leaves the number where it is.
    await ok('partner', 'service-number', 'other', 'remove', '4565');
    expect(await prisma.serviceNumber.count({ where: { number: '4565' } })).toBe(1);
    expect(await ok('partner', 'service-number', 'acme', 'remove', '4565')).toBe('acme: service number 4565 removed\n');
    expect(await prisma.serviceNumber.count()).toBe(0);
    expect(await lastAudit(`partner:${acmeId}`)).toMatchObject({ action: 'service-number.remove', after: { number: '4565' } });
    await expectPublished(PARTNER_CHANNEL, String(acmeId));
  });
});

describe('blacklist', () => {
  it('add, list and remove, audited and announced', async () => {
    expect(await ok('blacklist', 'add', '+7 999 123-45-67', '79991234568', '--reason', 'opted out')).toBe('blacklisted: 79991234567, 79991234568\n');
    expect(await prisma.blacklistedNumber.findMany({ orderBy: { msisdn: 'asc' } })).toEqual([
      expect.objectContaining({ msisdn: '79991234567', reason: 'opted out' }),
      expect.objectContaining({ msisdn: '79991234568', reason: 'opted out' }),
    ]);
    expect(await lastAudit('blacklist')).toMatchObject({ action: 'blacklist.add', after: { numbers: ['79991234567', '79991234568'] } });
    await expectPublished(PARTNER_CHANNEL, 'blacklist');
    expect(await ok('blacklist', 'list')).toBe('79991234567  opted out\n79991234568  opted out\n');

    expect(await ok('blacklist', 'remove', '79991234568')).toBe('removed: 79991234568\n');
    expect((await prisma.blacklistedNumber.findMany()).map((r) => r.msisdn)).toEqual(['79991234567']);
    expect(await lastAudit('blacklist')).toMatchObject({ action: 'blacklist.remove', before: { numbers: ['79991234568'] }, after: null });
    await expectPublished(PARTNER_CHANNEL, 'blacklist');
  });
});

describe('smsc', () => {
  const SECRET = 'Xq7#pw9';
  let id: number;

  // The password comes on standard input (--password-stdin), as operators are told to give it.
  const create = ['smsc', 'create', '--name', 'mts', '--host', 'smsc.example.net', '--port', '2775', '--system-id', 'smsgw01', '--password-stdin'];

  it('create: stores the password as given, never prints it, audits without it, announces the id', async () => {
    const out = await okIn(`${SECRET}\n`, ...create, '--routes', '7910,+7911', '--tps', '200', '--window', '20', '--priority', '3');
    const row = await prisma.smscConnection.findUniqueOrThrow({ where: { name: 'mts' } });
    id = row.id;
    expect(row).toMatchObject({
      host: 'smsc.example.net',
      port: 2775,
      systemId: 'smsgw01',
      password: SECRET,
      systemType: '',
      bindMode: 'transceiver',
      tps: 200,
      window: 20,
      routes: ['7910', '7911'],
      priority: 3,
      enabled: true,
    });
    expect(out).toMatch(/^password\s+\(set\)$/m);
    expect(out).toMatch(/^routes\s+7910, 7911$/m);
    expect(out).not.toContain(SECRET);

    const a = await lastAudit(`smsc:${id}`);
    expect(a).toMatchObject({ action: 'smsc.create', before: null, after: expect.objectContaining({ name: 'mts', tps: 200, routes: ['7910', '7911'] }) });
    expect(a!.after).not.toHaveProperty('password');
    expect(str(a)).not.toContain(SECRET);
    await expectPublished(SMSC_CHANNEL, String(id));
  });

  it('create: defaults, and wrong or missing values are refused with exit 1', async () => {
    const audits = await prisma.auditLog.count();
    const bad: [string[], string | RegExp][] = [
      [[...create.slice(0, 3), 'mts2', ...create.slice(4, 6), '--port', '70000', ...create.slice(8)], 'error: --port: "70000" must be a whole number from 1 to 65535'],
      [['smsc', 'create', '--name', 'x', '--host', 'bad host', '--port', '2775', '--system-id', 's', '--password', 'p'], 'error: --host: "bad host" is not a host name, IPv4 or IPv6 address'],
      [['smsc', 'create', '--name', 'x', '--host', '10.0.0.300', '--port', '2775', '--system-id', 's', '--password', 'p'], 'error: --host: "10.0.0.300" is not a host name, IPv4 or IPv6 address'],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 'a-very-long-system-id', '--password', 'p'], 'error: --system-id: 1 to 15 characters in SMPP 3.4 (got 21)'],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 's', '--password', 'ninechars'], 'error: --password: at most 8 characters in SMPP 3.4 (got 9)'],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 's', '--password', 'p', '--bind-mode', 'trx'], 'error: --bind-mode: "trx" is not a bind mode: use transceiver or transmitter_receiver'],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 's', '--password', 'p', '--routes', '7,MTS'], 'error: --routes: "MTS" is not a number prefix: 1-15 digits in international form, e.g. 7 or 7903'],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 's', '--password', 'p', '--tps', '0'], 'error: --tps: "0" must be a whole number from 1 to 100000'],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 's', '--password', 'p', '--enabled', 'perhaps'], 'error: --enabled: "perhaps" is not a yes/no value (use true or false)'],
      [['smsc', 'create', '--name', 'no spaces', '--host', 'h', '--port', '2775', '--system-id', 's', '--password', 'p'], /^error: --name: "no spaces" is not a connection name/],
      [['smsc', 'create', '--name', 'x', '--port', '2775', '--system-id', 's', '--password', 'p'], "error: required option '--host <value>' not specified"],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--system-id', 's', '--password', 'p'], "error: required option '--port <value>' not specified"],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 's'], 'error: SMSC password needed: pipe it in with --password-stdin, or run the command in a terminal to be prompted'],
      [['smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 's', '--password', 'p', '--password-stdin'], 'error: give --password-stdin or --password, not both'],
      [create, 'error: an SMSC connection named "mts" exists already'],
    ];
    for (const [args, message] of bad) {
      const r = await adminIn('p\n', {}, ...args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: '' });
      // After the --password warning, where the command gave one.
      const error = r.stderr.split('\n').find((line) => !line.startsWith('warning: --password '));
      expect(error).toMatch(message instanceof RegExp ? message : new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    }
    // No input at all is a mistake, not an empty password.
    const empty = await adminIn('', {}, 'smsc', 'create', '--name', 'x', '--host', 'h', '--port', '2775', '--system-id', 's', '--password-stdin');
    expect({ code: empty.code, stderr: empty.stderr }).toEqual({ code: 1, stderr: 'error: --password-stdin: nothing on standard input (expected SMSC password on one line)\n' });
    expect(await prisma.smscConnection.count()).toBe(1);
    expect(await prisma.auditLog.count()).toBe(audits);

    // An empty line is an empty password (an SMSC may have none).
    const out = await okIn('\n', 'smsc', 'create', '--name', 'v6', '--host', '[2001:db8::5]', '--port', '2776', '--system-id', 'gw', '--password-stdin', '--json');
    expect(JSON.parse(out)).toMatchObject({ name: 'v6', host: '2001:db8::5', password: '(empty)', bindMode: 'transceiver', tps: 100, window: 50, routes: [], priority: 0, enabled: true });
    const v6 = await prisma.smscConnection.findUniqueOrThrow({ where: { name: 'v6' } });
    await expectPublished(SMSC_CHANNEL, String(v6.id));
  });

  it('update: changes settings (the password too), audits before/after without the password, announces', async () => {
    // Only the first line is read; a Windows line ending is dropped with it.
    const out = await okIn('n3wpass\r\nignored\n', 'smsc', 'update', 'mts', '--tps', '300', '--routes', '7,8', '--bind-mode', 'transmitter_receiver', '--system-type', 'VMA', '--password-stdin');
    expect(out).toMatch(/^tps\s+300$/m);
    expect(out).toMatch(/^password\s+\(set\)$/m);
    expect(out).not.toContain('n3wpass');
    const row = await prisma.smscConnection.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ tps: 300, routes: ['7', '8'], bindMode: 'transmitter_receiver', systemType: 'VMA', password: 'n3wpass', window: 20 });

    const a = await lastAudit(`smsc:${id}`);
    expect(a).toMatchObject({
      action: 'smsc.update',
      before: expect.objectContaining({ tps: 200, routes: ['7910', '7911'], bindMode: 'transceiver' }),
      after: expect.objectContaining({ tps: 300, routes: ['7', '8'], bindMode: 'transmitter_receiver', passwordChanged: true }),
    });
    expect(a!.before).not.toHaveProperty('password');
    expect(a!.after).not.toHaveProperty('password');
    expect(str(a)).not.toContain(SECRET);
    expect(str(a)).not.toContain('n3wpass');
    await expectPublished(SMSC_CHANNEL, String(id));

    // routes '' (or all): every number
    await ok('smsc', 'update', 'mts', '--routes', 'all');
    expect((await prisma.smscConnection.findUniqueOrThrow({ where: { id } })).routes).toEqual([]);
    await expectPublished(SMSC_CHANNEL, String(id));

    const audits = await prisma.auditLog.count();
    expect(await fails('smsc', 'update', 'mts', '--window', '0')).toBe('error: --window: "0" must be a whole number from 1 to 10000');
    expect(await fails('smsc', 'update', 'mts')).toBe('error: nothing to change: give at least one setting option (see --help)');
    expect(await fails('smsc', 'update', 'mts', '--name', 'v6')).toBe('error: an SMSC connection named "v6" exists already');
    expect(await fails('smsc', 'update', 'nope', '--tps', '5')).toBe('error: no SMSC connection named "nope" (see: npm run admin -- smsc list)');
    expect(await prisma.auditLog.count()).toBe(audits);
  });

  it('--password VALUE still works, with a warning on stderr that arguments are visible to other users', async () => {
    const r = await admin('smsc', 'update', 'mts', '--password', 'n3wpass');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'warning: --password puts the password on the command line, where other users of this machine can see it (ps) and shell history keeps it; ' +
        'use --password-stdin (or leave both out to be prompted)\n',
    );
    expect(r.stdout).not.toContain('n3wpass');
    expect((await prisma.smscConnection.findUniqueOrThrow({ where: { id } })).password).toBe('n3wpass');
    await expectPublished(SMSC_CHANNEL, String(id));
  });

  it('list and show: one line each, never the password', async () => {
    const list = await ok('smsc', 'list');
    const lines = list.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*id\s+name\s+host:port\s+system_id\s+bind\s+tps\s+window\s+routes\s+priority\s+enabled$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^\\s*${id}\\s+mts\\s+smsc\\.example\\.net:2775\\s+smsgw01\\s+transmitter_receiver\\s+300\\s+20\\s+all\\s+3\\s+yes$`));
    expect(lines[2]).toMatch(/^\s*\d+\s+v6\s+\[2001:db8::5\]:2776\s+gw\s+transceiver\s+100\s+50\s+all\s+0\s+yes$/);

    const show = await ok('smsc', 'show', 'mts');
    expect(show).toMatch(/^name\s+mts$/m);
    expect(show).toMatch(/^systemId\s+smsgw01$/m);
    expect(show).toMatch(/^routes\s+\(every number\)$/m);
    const json = JSON.parse(await ok('smsc', 'show', 'mts', '--json')) as Record<string, unknown>;
    expect(json).toMatchObject({ id, name: 'mts', password: '(set)', tps: 300 });
    for (const out of [list, show, JSON.stringify(json), await ok('smsc', 'list', '--json')]) expect(out).not.toContain('n3wpass');
    expect(await fails('smsc', 'show', 'nope')).toBe('error: no SMSC connection named "nope" (see: npm run admin -- smsc list)');
  });

  it('disable and enable', async () => {
    expect(await ok('smsc', 'disable', 'mts')).toBe('mts: disabled\n');
    expect((await prisma.smscConnection.findUniqueOrThrow({ where: { id } })).enabled).toBe(false);
    const a = await lastAudit(`smsc:${id}`);
    expect(a).toMatchObject({ action: 'smsc.disable', before: expect.objectContaining({ enabled: true }), after: expect.objectContaining({ enabled: false }) });
    expect(a!.after).not.toHaveProperty('passwordChanged');
    await expectPublished(SMSC_CHANNEL, String(id));
    expect(await ok('smsc', 'list')).toMatch(/\s+mts\s.*\sno$/m);

    const audits = await prisma.auditLog.count();
    expect(await ok('smsc', 'disable', 'mts')).toBe('mts: already disabled, nothing changed\n');
    expect(await prisma.auditLog.count()).toBe(audits);

    expect(await ok('smsc', 'enable', 'mts')).toBe('mts: enabled\n');
    expect((await prisma.smscConnection.findUniqueOrThrow({ where: { id } })).enabled).toBe(true);
    expect(await lastAudit(`smsc:${id}`)).toMatchObject({ action: 'smsc.enable', after: expect.objectContaining({ enabled: true }) });
    await expectPublished(SMSC_CHANNEL, String(id));
  });

  it('delete', async () => {
    expect(await ok('smsc', 'delete', 'mts')).toBe(`mts: deleted (was #${id})\n`);
    expect(await prisma.smscConnection.findUnique({ where: { id } })).toBeNull();
    const a = await lastAudit(`smsc:${id}`);
    expect(a).toMatchObject({ action: 'smsc.delete', before: expect.objectContaining({ name: 'mts', tps: 300 }), after: null });
    expect(str(a)).not.toContain('n3wpass');
    await expectPublished(SMSC_CHANNEL, String(id));
    expect(await fails('smsc', 'delete', 'mts')).toBe('error: no SMSC connection named "mts" (see: npm run admin -- smsc list)');
    expect(await fails('smsc', 'show', 'mts')).toBe('error: no SMSC connection named "mts" (see: npm run admin -- smsc list)');

    // Nothing of the SMSC passwords anywhere in the audit log.
    const all = str(await prisma.auditLog.findMany({ where: { entity: { startsWith: 'smsc:' } } }));
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain('n3wpass');
  });
});

describe('passwords from standard input', () => {
  it('partner create --password-stdin: the chosen API password is stored (hashed) and not printed', async () => {
    const chosen = 'chosen-api-password-0123';
    const out = await okIn(`${chosen}\n`, 'partner', 'create', '--login', 'chosen', '--password-stdin');
    expect(out).not.toContain(chosen);
    expect(out).not.toContain('API password for');
    expect((await prisma.partner.findUniqueOrThrow({ where: { login: 'chosen' } })).apiPasswordHash).toBe(hashApiPassword(chosen, PEPPER));
  });

  it('user set-password: from standard input; audited without the password; ends the user\'s portal sessions', async () => {
    const user = await prisma.user.create({ data: { login: 'op1', role: 'operator', passwordHash: 'scrypt$not-a-real-hash' } });
    const redis = new Redis(REDIS_URL);
    const session = `${PREFIX}:portal:session:abc`;
    await redis.set(session, '{}');
    await redis.sadd(`${PREFIX}:portal:user-sessions:${user.id}`, session);

    expect(await okIn('a-long-new-password\n', 'user', 'set-password', 'op1', '--password-stdin')).toBe('op1: password changed; open portal sessions ended\n');
    const row = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    await expect(verifyUserPassword('a-long-new-password', row.passwordHash)).resolves.toBe(true);
    expect(await redis.exists(session, `${PREFIX}:portal:user-sessions:${user.id}`)).toBe(0);
    await redis.quit();
    const a = await lastAudit(`user:${user.id}`);
    expect(a).toMatchObject({ action: 'user.reset-password', after: { login: 'op1', role: 'operator' } });
    expect(str(a)).not.toContain('a-long-new-password');

    for (const [input, args, message] of [
      ['short\n', ['op1', '--password-stdin'], 'error: the new password needs at least 10 characters'],
      ['a-long-new-password\n', ['nobody', '--password-stdin'], 'error: no portal user with login "nobody"'],
      [undefined, ['op1'], 'error: new portal password for op1 needed: pipe it in with --password-stdin, or run the command in a terminal to be prompted'],
    ] as const) {
      const r = await adminIn(input, {}, 'user', 'set-password', ...args);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 1, stdout: '', stderr: `${message}\n` });
    }
  });

  it('NODE_ENV=production: the development pepper and the seeded passwords are refused', async () => {
    const prod = { NODE_ENV: 'production' };
    let r = await adminWith({ ...prod, API_PASSWORD_PEPPER: 'dev-pepper-change-me' }, 'partner', 'create', '--login', 'prod1');
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^error: API_PASSWORD_PEPPER is the development default \(dev-pepper-change-me\) and NODE_ENV=production: set it to a long random secret of your own/);
    r = await adminIn('demo-pass\n', prod, 'partner', 'create', '--login', 'prod1', '--password-stdin');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: 'error: that is the seeded demo API password, which production refuses: choose another or leave it out to have one generated\n' });
    r = await adminIn('operator-pass\n', prod, 'user', 'set-password', 'op1', '--password-stdin');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: 'error: that is a seeded development password, which production refuses: choose another\n' });
    expect(await prisma.partner.findUnique({ where: { login: 'prod1' } })).toBeNull();
    // With a pepper of its own, production works as usual.
    const out = await adminWith({ ...prod, API_PASSWORD_PEPPER: 'a-production-pepper' }, 'partner', 'create', '--login', 'prod1');
    expect(out.code).toBe(0);
    expect((await prisma.partner.findUniqueOrThrow({ where: { login: 'prod1' } })).apiPasswordHash).toBe(hashApiPassword(passwordFrom(out.stdout, 'prod1'), 'a-production-pepper'));
  });
});

describe('callback', () => {
  let hooks: { id: number; login: string };
  let other: { id: number; login: string };
  const ago = (ms: number) => new Date(Date.now() - ms);
  type Seed = { partnerId: number; kind?: 'dlr' | 'mo'; messageId?: number; status?: number; moId?: number; state: 'pending' | 'delivered' | 'parked'; lastResult: string };
  const seed = (c: Seed) =>
    prisma.callback.create({
      data: {
        kind: c.kind ?? 'dlr',
        partnerId: c.partnerId,
        messageId: c.messageId === undefined ? null : BigInt(c.messageId),
        status: c.kind === 'mo' ? null : (c.status ?? 2),
        moId: c.moId === undefined ? null : BigInt(c.moId),
        state: c.state,
        attempts: c.state === 'pending' ? 3 : 41,
        dueAt: ago(c.state === 'pending' ? 60_000 : 73 * 3_600_000),
        lastAttemptAt: ago(30_000),
        nextAttemptAt: c.state === 'pending' ? new Date(Date.now() + 600_000) : null,
        lastResult: c.lastResult,
        deliveredAt: c.state === 'delivered' ? ago(30_000) : null,
        parkedAt: c.state === 'parked' ? ago(20_000) : null,
      },
    });
  const ids: Record<string, string> = {};
  const redis = () => new Redis(REDIS_URL);

  beforeAll(async () => {
    await ok('partner', 'create', '--login', 'hooks', '--status-url', 'http://hooks.example/dlr');
    hooks = await prisma.partner.findUniqueOrThrow({ where: { login: 'hooks' }, select: { id: true, login: true } });
    other = await prisma.partner.findUniqueOrThrow({ where: { login: 'other' }, select: { id: true, login: true } });
    await expectPublished(PARTNER_CHANNEL, String(hooks.id));
    ids.parked = String((await seed({ partnerId: hooks.id, messageId: 1000001, state: 'parked', lastResult: 'connection refused' })).id);
    ids.pending = String((await seed({ partnerId: hooks.id, messageId: 1000002, status: 5, state: 'pending', lastResult: '503' })).id);
    ids.delivered = String((await seed({ partnerId: hooks.id, messageId: 1000003, state: 'delivered', lastResult: '200' })).id);
    ids.mo = String((await seed({ partnerId: other.id, kind: 'mo', moId: 77, state: 'parked', lastResult: 'timeout after 10000 ms' })).id);
  });

  it('list: recent callbacks with state, attempts and last result; --parked and --partner (login or id) filter', async () => {
    const lines = (await ok('callback', 'list')).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*id\s+partner\s+kind\s+callback\s+state\s+attempts\s+last attempt\s+when\s+last result$/);
    expect(lines).toHaveLength(5);
    const row = (id: string) => lines.find((l) => l.trimStart().startsWith(`${id} `));
    expect(row(ids.parked!)).toMatch(/^\s*\d+\s+hooks\s+dlr\s+message 1000001 status 2\s+parked\s+41\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+parked \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+connection refused$/);
    expect(row(ids.pending!)).toMatch(/\s+message 1000002 status 5\s+pending\s+3\s+.*\s+next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+503$/);
    expect(row(ids.delivered!)).toMatch(/\s+delivered\s+41\s+.*\s+delivered \d{4}.*\s+200$/);
    expect(row(ids.mo!)).toMatch(/^\s*\d+\s+other\s+mo\s+MO 77\s+parked\s+41\s+.*timeout after 10000 ms$/);

    const parked = (await ok('callback', 'list', '--parked')).trimEnd().split('\n').slice(1);
    expect(parked.map((l) => l.trim().split(/\s+/)[0]).sort()).toEqual([ids.parked, ids.mo].sort());
    const mine = (await ok('callback', 'list', '--partner', String(hooks.id))).trimEnd().split('\n').slice(1);
    expect(mine.map((l) => l.trim().split(/\s+/)[0]).sort()).toEqual([ids.parked, ids.pending, ids.delivered].sort());
    expect((await ok('callback', 'list', '--partner', 'hooks', '--parked')).trimEnd().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0])).toEqual([ids.parked]);
    expect(await ok('callback', 'list', '--partner', 'acme')).toBe('no callbacks for acme (a callback acknowledged at its first attempt has no entry here)\n');

    const json = JSON.parse(await ok('callback', 'list', '--parked', '--partner', 'hooks', '--json')) as Array<Record<string, unknown>>;
    expect(json).toEqual([
      expect.objectContaining({ id: ids.parked, partnerId: hooks.id, partner: 'hooks', kind: 'dlr', messageId: '1000001', status: 2, moId: null, state: 'parked', attempts: 41, lastResult: 'connection refused', resends: 0 }),
    ]);
    expect(await ok('callback', 'list', '--limit', '1')).toMatch(/^[^\n]*\n[^\n]*\n$/);
    expect(await fails('callback', 'list', '--partner', 'nobody')).toBe('error: no partner with login or id "nobody" (see: npm run admin -- partner list)');
    expect(await fails('callback', 'list', '--limit', '0')).toBe('error: "0" must be a whole number from 1 to 10000');
  });

  it("resend --partner --id: re-queues the partner's parked callback, reports the others, audits it for the partner", async () => {
    const audits = await prisma.auditLog.count();
    expect(await fails('callback', 'resend', '--id', '999999')).toBe('error: no callback with id 999999 (see: npm run admin -- callback list)');
    expect(await fails('callback', 'resend', '--id', ids.parked!, 'x1')).toBe('error: --id: "x1" is not a callback id (see: npm run admin -- callback list)');
    expect(await fails('callback', 'resend', '--partner', 'nobody')).toBe('error: no partner with login or id "nobody" (see: npm run admin -- partner list)');
    expect(await prisma.auditLog.count()).toBe(audits);

    const out = await ok('callback', 'resend', '--partner', 'hooks', '--id', ids.parked!, ids.pending!, '--id', ids.mo!);
    expect(out).toBe(
      `re-sent 1 delivery report and 0 MO callbacks: ${ids.parked}\n` +
        `callback ${ids.pending} not re-sent: it is pending, not parked\n` +
        `callback ${ids.mo} not re-sent: it belongs to partner ${other.id}, not hooks\n`,
    );
    const row = await prisma.callback.findUniqueOrThrow({ where: { id: BigInt(ids.parked!) } });
    expect(row).toMatchObject({ state: 'pending', attempts: 0, resends: 1, parkedAt: null });
    expect(Math.abs(row.dueAt.getTime() - Date.now())).toBeLessThan(10_000);
    expect(await prisma.callback.findUniqueOrThrow({ where: { id: BigInt(ids.mo!) } })).toMatchObject({ state: 'parked', resends: 0 });
    expect(await prisma.callback.findUniqueOrThrow({ where: { id: BigInt(ids.pending!) } })).toMatchObject({ state: 'pending', attempts: 3 });

    // The job the workers consume: the producer's id with the re-send count, so it never collides with the original.
    const r = redis();
    try {
      expect(JSON.parse((await r.hget(`${PREFIX}:callback.dlr:d1000001-2-r1`, 'data'))!)).toEqual({ messageId: '1000001', partnerId: hooks.id, status: 2 });
    } finally {
      r.disconnect();
    }
    expect(await lastAudit(`partner:${hooks.id}`)).toMatchObject({ action: 'callback.resend', before: null, after: { callbacks: [ids.parked], dlr: 1, mo: 0 } });
    expect((await lastAudit(`partner:${hooks.id}`))!.actor).toMatch(/^cli:/);
    expect(await prisma.auditLog.count()).toBe(audits + 1);

    // Nothing parked is left for hooks: nothing changes, nothing is audited.
    expect(await ok('callback', 'resend', '--partner', 'hooks')).toBe('nothing re-sent: no parked callbacks for hooks\n');
    expect(await prisma.auditLog.count()).toBe(audits + 1);
  });

  it('resend with Redis unreachable: an error, and nothing changed', async () => {
    const audits = await prisma.auditLog.count();
    const r = await adminWith({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }, 'callback', 'resend');
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^error: Redis not reachable at redis:\/\/127\.0\.0\.1:\d+ \(.*\); nothing was re-sent\n$/);
    expect(await prisma.callback.findUniqueOrThrow({ where: { id: BigInt(ids.mo!) } })).toMatchObject({ state: 'parked' });
    expect(await prisma.auditLog.count()).toBe(audits);
  });

  it('resend (everything parked): the other partner’s MO, audited for that partner', async () => {
    expect(await ok('callback', 'resend')).toBe(`re-sent 0 delivery reports and 1 MO callback: ${ids.mo}\n`);
    expect(await prisma.callback.findUniqueOrThrow({ where: { id: BigInt(ids.mo!) } })).toMatchObject({ state: 'pending', resends: 1 });
    const r = redis();
    try {
      expect(JSON.parse((await r.hget(`${PREFIX}:callback.mo:mo77-r1`, 'data'))!)).toEqual({ moId: '77', partnerId: other.id });
    } finally {
      r.disconnect();
    }
    expect(await lastAudit(`partner:${other.id}`)).toMatchObject({ action: 'callback.resend', after: { callbacks: [ids.mo], dlr: 0, mo: 1 } });
    expect(await ok('callback', 'resend')).toBe('nothing re-sent: no parked callbacks\n');
  });
});

describe('through a running callback worker', () => {
  let worker: ChildProcess | undefined;
  let output = '';
  let sink: http.Server;
  let inFlight = 0;
  let maxInFlight = 0;
  const received: string[] = [];
  let sinkId: number;
  let nextMessage = 2_000_000;

  beforeAll(async () => {
    if (!fs.existsSync(CALLBACK_WORKER)) throw new Error(`${path.relative(ROOT, CALLBACK_WORKER)} is missing: build the callback worker first (npm run build)`);
    sink = http.createServer((req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        received.push(new URL(req.url ?? '/', 'http://x').searchParams.get('transactionId') ?? '');
        inFlight--;
        res.end('OK');
      }, 250);
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const sinkPort = (sink.address() as net.AddressInfo).port;
    await ok('partner', 'create', '--login', 'sink', '--status-url', `http://127.0.0.1:${sinkPort}/dlr`);
    sinkId = (await prisma.partner.findUniqueOrThrow({ where: { login: 'sink' } })).id;
    await expectPublished(PARTNER_CHANNEL, String(sinkId));

    const port = await freePort();
    worker = spawn(process.execPath, [CALLBACK_WORKER], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL,
        REDIS_PREFIX: PREFIX,
        CALLBACK_HTTP_PORT: String(port),
        CALLBACK_HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        CALLBACK_ALLOW_PRIVATE_TARGETS: 'true', // the sink is on 127.0.0.1
        // Only the CLI's notification can make a changed setting reach the worker within the test.
        PARTNER_RELOAD_SECONDS: '3600',
        CALLBACK_SWEEP_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    worker.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const until = Date.now() + 20_000;
    while ((await get(port, '/health').catch(() => ({ status: 0 }))).status !== 200) {
      if (worker.exitCode !== null || Date.now() > until) throw new Error(`the callback worker did not start:\n${output}`);
      await sleep(100);
    }
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      const timer = setTimeout(() => worker!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    sink?.closeAllConnections();
    await new Promise((r) => sink?.close(r));
  });

  /** n messages of the sink partner whose delivery reports were parked. */
  async function parkedReports(n: number): Promise<string[]> {
    const messageIds = Array.from({ length: n }, () => String(++nextMessage));
    await prisma.message.createMany({
      data: messageIds.map((id) => ({ id: BigInt(id), partnerId: sinkId, sender: 'SINK', msisdn: '79030000001', text: 'hi', encoding: 0, segments: 1, status: 2, validUntil: new Date(Date.now() + 86_400_000), doneAt: new Date() })),
    });
    await prisma.callback.createMany({
      data: messageIds.map((id) => ({ kind: 'dlr' as const, partnerId: sinkId, messageId: BigInt(id), status: 2, state: 'parked' as const, attempts: 40, dueAt: new Date(Date.now() - 73 * 3_600_000), parkedAt: new Date(), lastResult: '503' })),
    });
    return messageIds;
  }

  async function delivered(messageIds: string[]): Promise<void> {
    const until = Date.now() + 15_000;
    for (;;) {
      const n = await prisma.callback.count({ where: { messageId: { in: messageIds.map(BigInt) }, state: 'delivered' } });
      if (n === messageIds.length) return;
      if (Date.now() > until) throw new Error(`${n}/${messageIds.length} re-sent reports delivered; worker output:\n${output}`);
      await sleep(100);
    }
  }

  it('delivers what the CLI re-sends, at the callback concurrency the CLI set, and follows a change of it', async () => {
    const first = await parkedReports(6);
    await ok('partner', 'update', 'sink', '--callback-concurrency', '2');
    await expectPublished(PARTNER_CHANNEL, String(sinkId));
    expect(await ok('callback', 'resend', '--partner', 'sink')).toMatch(/^re-sent 6 delivery reports and 0 MO callbacks: /);
    await delivered(first);
    expect([...received].sort()).toEqual([...first].sort());
    expect(maxInFlight).toBe(2);

    // The worker has the partner cached (for an hour here): only the announcement can change that.
    maxInFlight = 0;
    const second = await parkedReports(10);
    await ok('partner', 'update', 'sink', '--callback-concurrency', '5');
    await expectPublished(PARTNER_CHANNEL, String(sinkId));
    await sleep(200);
    await ok('callback', 'resend', '--partner', String(sinkId));
    await delivered(second);
    expect(received).toHaveLength(16);
    expect(maxInFlight).toBe(5);
  });
});

describe('through a running ingress', () => {
  let ingress: ChildProcess | undefined;
  let port = 0;
  let output = '';

  beforeAll(async () => {
    if (!fs.existsSync(INGRESS)) throw new Error(`${path.relative(ROOT, INGRESS)} is missing: build the ingress first (npm run build)`);
    port = await freePort();
    ingress = spawn(process.execPath, [INGRESS], {
      env: { ...process.env, DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX: PREFIX, API_PASSWORD_PEPPER: PEPPER, INGRESS_PORT: String(port), INGRESS_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    ingress.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    ingress.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const until = Date.now() + 20_000;
    while ((await get(port, '/health').catch(() => ({ status: 0 }))).status !== 200) {
      if (ingress.exitCode !== null || Date.now() > until) throw new Error(`the ingress did not start:\n${output}`);
      await sleep(100);
    }
  });

  afterAll(async () => {
    if (ingress && ingress.exitCode === null) {
      const exited = new Promise((r) => ingress!.once('exit', r));
      ingress.kill('SIGTERM');
      const timer = setTimeout(() => ingress!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  });

  const send = (login: string, pass: string, msisdn = '79036550550') => get(port, `/send?serviceId=${login}&pass=${encodeURIComponent(pass)}&clientId=${msisdn}&message=Hello`);

  /** Changes reach the ingress through Redis: the promise is "within a second" (3 s for a busy test machine). */
  async function eventually(f: () => Promise<{ status: number; body: string }>, status: number, body: RegExp): Promise<string> {
    const until = Date.now() + 3000;
    for (;;) {
      const r = await f();
      if (r.status === status && body.test(r.body)) return r.body;
      if (Date.now() > until) throw new Error(`expected ${status} ${body}, still ${r.status} ${JSON.stringify(r.body)}`);
      await sleep(50);
    }
  }

  it('a partner created by the CLI can send; block, unblock, set-password and the blacklist take effect', async () => {
    const password = passwordFrom(await ok('partner', 'create', '--login', 'shop', '--allowed-ips', '127.0.0.1', '--senders', 'SHOP', '--rate-limit', '100'), 'shop');
    const accepted = await eventually(() => send('shop', password), 200, /^OK\n\d+$/);
    const row = await prisma.message.findUniqueOrThrow({ where: { id: BigInt(accepted.split('\n')[1]!) } });
    const shop = await prisma.partner.findUniqueOrThrow({ where: { login: 'shop' } });
    expect(row).toMatchObject({ partnerId: shop.id, sender: 'SHOP', msisdn: '79036550550', text: 'Hello', status: 1 });

    await ok('partner', 'block', 'shop');
    await eventually(() => send('shop', password), 403, /^Partner blocked$/);
    await ok('partner', 'unblock', 'shop');
    await eventually(() => send('shop', password), 200, /^OK\n\d+$/);

    const fresh = passwordFrom(await ok('partner', 'set-password', 'shop'), 'shop');
    await eventually(() => send('shop', password), 401, /^Invalid password$/);
    expect((await send('shop', fresh)).status).toBe(200);

    // 79991234567 was blacklisted above.
    await eventually(() => send('shop', fresh, '79991234567'), 406, /^Number is blacklisted$/);
    await ok('blacklist', 'remove', '79991234567');
    await eventually(() => send('shop', fresh, '79991234567'), 200, /^OK\n\d+$/);

    await ok('partner', 'update', 'shop', '--allowed-ips', '192.0.2.1');
    await eventually(() => send('shop', fresh), 403, /^Address not allowed$/);
  });
});

/** One GET over a fresh connection, so nothing keeps the test process alive. */
function get(port: number, pathAndQuery: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathAndQuery, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
}
