import { Pool } from 'pg';
import { checkOut, inTransaction } from './postgres';

const URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

describe('a connection held across statements when the server drops it', () => {
  let pool: Pool;
  let admin: Pool;
  beforeAll(() => {
    pool = new Pool({ connectionString: URL, max: 2 });
    pool.on('error', () => undefined);
    admin = new Pool({ connectionString: URL, max: 1 });
  });
  afterAll(async () => {
    await pool.end();
    await admin.end();
  });

  const terminate = async (pid: number): Promise<void> => {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await new Promise((r) => setTimeout(r, 200)); // the 'error' event reaches the client
  };

  it('keeps the process alive, fails the next statement, and gives the pool a fresh connection', async () => {
    const { client, release } = await checkOut(pool);
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(rows[0]!.pid);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    release();
    const again = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(again.rows[0]!.one).toBe(1);
  });

  it('rolls back inTransaction whose connection is dropped between statements', async () => {
    await expect(
      inTransaction(pool, async (db) => {
        const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await terminate(rows[0]!.pid);
        await db.query('SELECT 1');
      }),
    ).rejects.toThrow();
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });
});
