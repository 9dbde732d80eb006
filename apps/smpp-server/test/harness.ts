import { connect as tcpConnect } from 'node:net';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { hashApiPassword } from '@smsgw/db';
import { createTestDatabase, type TestDatabase } from '@smsgw/db/dist/testing';
import { decodePdu, PduFramer, type Pdu } from '@smsgw/sms';
import { startSmppServer, type RunningSmppServer } from '../src/bootstrap';
import { loadSmppServerConfig } from '../src/config';

export const PEPPER = 'smpp-server-test-pepper';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestSmppServer {
  server: RunningSmppServer;
  /** The test database's URL, for other services started on it. */
  dbUrl: string;
  pool: Pool;
  prefix: string;
  /** Adds a partner allowed from 127.0.0.1 with SMPP password `password` (null: none); returns its id. */
  partner(login: string, password: string | null, settings?: Record<string, unknown>): Promise<number>;
  close(): Promise<void>;
}

/** A migrated database of its own, a Redis prefix of its own, and the server on ports the system picks. */
export async function startTestSmppServer(env: Record<string, string> = {}): Promise<TestSmppServer> {
  const db: TestDatabase = await createTestDatabase();
  const pool = new Pool({ connectionString: db.url });
  const prefix = `smsgwtestsmpp${process.pid}${Date.now() % 100000}`;
  const server = await startSmppServer(
    loadSmppServerConfig({
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      API_PASSWORD_PEPPER: PEPPER,
      SMPP_SERVER_PORT: '0',
      SMPP_SERVER_HOST: '127.0.0.1',
      SMPP_SERVER_HTTP_PORT: '0',
      SMPP_SERVER_HTTP_HOST: '127.0.0.1',
      ...env,
    }),
  );
  const { Startup } = await import('@smsgw/common');
  await server.app.get(Startup).started();
  return {
    server,
    dbUrl: db.url,
    pool,
    prefix,
    async partner(login, password, settings = {}) {
      const columns = { allowed_ips: ['127.0.0.1'], ...settings };
      const names = Object.keys(columns);
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO partner (login, api_password_hash, smpp_password_hash, ${names.join(', ')})
         VALUES ($1, 'x', $2, ${names.map((_, i) => `$${i + 3}`).join(', ')}) RETURNING id`,
        [login, password === null ? null : hashApiPassword(password, PEPPER), ...Object.values(columns)],
      );
      // The server's partner cache learns of it as from the CLI: a full reload.
      const { PartnerCache } = await import('@smsgw/intake');
      await server.app.get(PartnerCache).reloadAll();
      return rows[0]!.id;
    },
    async close() {
      await server.close();
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await pool.end();
      await db.drop();
    },
  };
}

/** A raw TCP client speaking the platform's codec: for what ordinary clients never send. */
export async function rawSession(port: number) {
  const socket = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const framer = new PduFramer();
  const received: Pdu[] = [];
  const waiters: (() => void)[] = [];
  let closed = false;
  socket.on('data', (c: Buffer) => {
    for (const f of framer.push(c)) received.push(decodePdu(f));
    waiters.splice(0).forEach((w) => w());
  });
  socket.on('close', () => {
    closed = true;
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (): Promise<Pdu | null> => {
    while (received.length === 0 && !closed) await new Promise<void>((r) => waiters.push(r));
    return received.shift() ?? null;
  };
  return { socket, next, closed: () => closed, write: (b: Buffer) => socket.write(b), close: () => socket.destroy() };
}
