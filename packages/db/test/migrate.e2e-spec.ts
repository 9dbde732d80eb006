// scripts/migrate.mjs against a real PostgreSQL (DATABASE_URL's server, default 127.0.0.1:5432):
// a fresh database is created, migrated, migrated again (nothing to do), seeded, then dropped.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import { createPrismaClient, databaseUrl, hashApiPassword, PartnerStatus, type PrismaClient } from '../src';
import { DEMO_PARTNER_LOGIN, DEMO_PARTNER_PASSWORD, seedDemoPartner } from '../src/seed';
import { adminQuery, createTestDatabase, MIGRATE_SCRIPT } from '../src/testing';

jest.setTimeout(60_000);

const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'prisma', 'migrations');
const migrationNames = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

function urlFor(database: string): string {
  const url = new URL(databaseUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

function runMigrateScript(url: string) {
  const result = spawnSync(process.execPath, ['--no-warnings', MIGRATE_SCRIPT], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('db:migrate on a new database', () => {
  const name = `smsgw_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = urlFor(name);
  let sql: Client;

  afterAll(async () => {
    await sql?.end();
    await adminQuery(databaseUrl(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  it('creates the database and applies every migration, one line each', () => {
    const first = runMigrateScript(url);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`Created database ${name}`);
    const applied = first.stdout.split('\n').filter((line) => line.startsWith('Applied migration '));
    expect(applied).toEqual(migrationNames.map((m) => `Applied migration ${m}`));
  });

  it('applies nothing the second time, and says so', () => {
    const second = runMigrateScript(url);
    expect(second.status).toBe(0);
    expect(second.stdout).not.toContain('Applied migration');
    expect(second.stdout).not.toContain('Created database');
    expect(second.stdout).toMatch(/No pending migrations/);
  });

  it('builds the tables, the partial index and the id-block sequence', async () => {
    sql = new Client({ connectionString: url });
    await sql.connect();
    const tables = await sql.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        '_prisma_migrations',
        'app_user',
        'audit_log',
        'blacklisted_number',
        'message',
        'message_part',
        'partner',
        'service_number',
      ]),
    );

    const { rows: blocks } = await sql.query<{ a: string; b: string }>(
      `SELECT nextval('message_id_block_seq') AS a, nextval('message_id_block_seq') AS b`,
    );
    expect(BigInt(blocks[0].b) - BigInt(blocks[0].a)).toBe(1n);

    // The scheduler's partial index (it replaced message_status_release_at_idx).
    const { rows: index } = await sql.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE indexname = 'message_release_at_id_idx'`,
    );
    expect(index[0].indexdef).toMatch(/\(release_at, id\) WHERE \(status = 1\)$/);
    // Hand-written parts of the migrations: the statistics triggers.
    const { rows: triggers } = await sql.query<{ tgname: string }>(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'message'::regclass AND NOT tgisinternal ORDER BY tgname`,
    );
    expect(triggers.map((t) => t.tgname)).toEqual(['message_stat_insert', 'message_stat_update']);
  });

  it('records the migrations as prisma migrate deploy does (name, sha256 checksum, finished)', async () => {
    const { rows } = await sql.query<{ migration_name: string; checksum: string; finished: boolean; rolled_back: boolean }>(
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back
         FROM _prisma_migrations ORDER BY migration_name`,
    );
    expect(rows).toEqual(
      migrationNames.map((m) => ({
        migration_name: m,
        checksum: createHash('sha256').update(readFileSync(path.join(MIGRATIONS_DIR, m, 'migration.sql'))).digest('hex'),
        finished: true,
        rolled_back: false,
      })),
    );
  });

  describe('seed', () => {
    let prisma: PrismaClient;
    beforeAll(() => {
      prisma = createPrismaClient(url);
    });
    afterAll(async () => {
      await prisma.$disconnect();
    });

    it('creates the demo partner', async () => {
      const { created, partner } = await seedDemoPartner(prisma, 'test-pepper');
      expect(created).toBe(true);
      expect(partner).toMatchObject({
        login: DEMO_PARTNER_LOGIN,
        apiPasswordHash: hashApiPassword(DEMO_PARTNER_PASSWORD, 'test-pepper'),
        status: PartnerStatus.active,
        allowedIps: ['127.0.0.1/32', '::1/128'],
        senders: ['DEMO'],
        defaultSender: 'DEMO',
        defaultCountry: 'RU',
        timeZone: 'Europe/Moscow',
        rateLimit: 10,
        postponedEnabled: true,
      });
    });

    it('leaves an existing demo partner alone, password included', async () => {
      await prisma.partner.update({ where: { login: DEMO_PARTNER_LOGIN }, data: { rateLimit: 50 } });
      const { created, partner } = await seedDemoPartner(prisma, 'another-pepper');
      expect(created).toBe(false);
      expect(partner.rateLimit).toBe(50);
      expect(partner.apiPasswordHash).toBe(hashApiPassword(DEMO_PARTNER_PASSWORD, 'test-pepper'));
      expect(await prisma.partner.count()).toBe(1);
    });

    it('npm run db:seed (dist/seed.js) refuses NODE_ENV=production with one line, and creates nothing', async () => {
      const seed = path.resolve(__dirname, '..', 'dist', 'seed.js');
      const users = await prisma.user.count();
      const result = spawnSync(process.execPath, [seed], { env: { ...process.env, DATABASE_URL: url, NODE_ENV: 'production', API_PASSWORD_PEPPER: 'a-production-pepper' }, encoding: 'utf8', timeout: 30_000 });
      expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
      expect(result.stderr.trim().split('\n')).toEqual([
        'db:seed: NODE_ENV=production: the seed creates demo accounts with published passwords (demo-pass, operator-pass, demo-portal-pass), ' +
          'which production refuses; create partners and users with npm run admin instead (or seed with NODE_ENV=development for a trial)',
      ]);
      expect(await prisma.user.count()).toBe(users);
      expect(await prisma.smscConnection.count()).toBe(0);
    });
  });
});

describe('migration:new', () => {
  // The migrations' CHECK constraints are introspected on the shadow database: the engine reads
  // pg_constraint.contype, a "char", which the pg adapter needed help with (lib/schema-engine.mjs).
  it('finds schema.prisma and the migrations in agreement', () => {
    const script = pathToFileURL(path.resolve(__dirname, '..', 'scripts', 'new-migration.mjs')).href;
    const result = spawnSync(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', `const { diffMigrationsToSchema } = await import(${JSON.stringify(script)}); process.stdout.write(await diffMigrationsToSchema());`],
      { env: process.env, encoding: 'utf8', timeout: 60_000 },
    );
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});

describe('db:migrate without a server', () => {
  it('exits non-zero with one line naming the server', () => {
    const result = runMigrateScript('postgresql://postgres@127.0.0.1:1/smsgw');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^db:migrate: cannot connect to PostgreSQL at 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\)$/),
    ]);
  });
});

describe('createTestDatabase', () => {
  it('gives a migrated database and drops it', async () => {
    const db = await createTestDatabase();
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM _prisma_migrations`);
      expect(Number(rows[0].n)).toBe(migrationNames.length);
    } finally {
      await client.end();
    }
    await db.drop();
    const admin = new Client({ connectionString: urlFor('postgres') });
    await admin.connect();
    try {
      const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [db.name]);
      expect(rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
