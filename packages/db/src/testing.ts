// Throw-away migrated databases for e2e tests (this package's and the apps'):
//   import { createTestDatabase } from '@smsgw/db/test-helpers';   // or '@smsgw/db/dist/testing'
//   const db = await createTestDatabase();   // db.url -> a fresh, fully migrated database
//   ...
//   await db.drop();
// Migrating a fresh database takes ~0.3 s (node start, CREATE DATABASE, the migrations), so no
// template database is kept.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { Client } from 'pg';
import { databaseUrl } from './database-url';

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open on it. */
  drop(): Promise<void>;
}

/** scripts/migrate.mjs, found from src/ (ts-jest) and dist/ (compiled) alike. */
export const MIGRATE_SCRIPT = path.resolve(__dirname, '..', 'scripts', 'migrate.mjs');

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs scripts/migrate.mjs against `url` (creating the database if needed); rejects with its output. */
export function runMigrate(url: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--no-warnings', MIGRATE_SCRIPT],
      { env: { ...process.env, DATABASE_URL: url }, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`migrate failed for ${url}: ${(stderr || stdout || err.message).trim()}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** Runs one statement on the server's `postgres` database. */
export async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Creates and migrates `smsgw_t_<pid>_<random>` on the server of `serverUrl` (default: the
 * DATABASE_URL server, whatever database it names).
 */
export async function createTestDatabase(serverUrl: string = databaseUrl()): Promise<TestDatabase> {
  const name = `smsgw_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(serverUrl, name);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  try {
    await runMigrate(url);
  } catch (err) {
    await drop().catch(() => {});
    throw err;
  }
  return { url, name, drop };
}

/** A TCP port free on 127.0.0.1 at the time of the call (for a process a test starts itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A TCP relay to a real server that can be cut: `down()` drops every connection through it and
 * refuses new ones (the server as its clients see it during an outage), `up()` relays again.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private dropping = false;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private readonly server: Server;
  port = 0;

  private constructor(
    private readonly targetPort: number,
    private readonly targetHost: string,
  ) {
    this.server = createServer((client) => this.relay(client));
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, targetHost);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  private relay(client: Socket): void {
    if (this.cut) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    const pair = { client, upstream };
    this.pairs.add(pair);
    if (this.dropping) this.dropFrom(client, upstream);
    client.on('close', () => {
      this.pairs.delete(pair);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  }

  /** `url` with its host and port replaced by this relay's. */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /**
   * From now on what clients send is dropped, what the target sends still reaches them (until
   * `down`): the answers of a client lost on the way, as on a link about to break.
   */
  dropFromClients(): void {
    this.dropping = true;
    for (const { client, upstream } of this.pairs) this.dropFrom(client, upstream);
  }

  private dropFrom(client: Socket, upstream: Socket): void {
    client.unpipe(upstream);
    client.resume(); // flowing, with nobody reading: dropped
  }

  down(): void {
    this.cut = true;
    this.dropping = false;
    this.pairs.clear();
    for (const s of this.sockets) s.destroy();
  }

  /**
   * Like `down`, and nothing listens on the port until `up`: connections are refused, as when the
   * server's process is stopped (`down` accepts them and drops them at once).
   */
  async refuse(): Promise<void> {
    this.down();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async up(): Promise<void> {
    this.cut = false;
    if (this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}
