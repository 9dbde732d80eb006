import { Client, Pool } from 'pg';
import { ID_BLOCK_SIZE, ID_HOUR_FACTOR, MessageIdAllocator, messageIdFloor, messageIdHour } from '../src/message-id.allocator';
import { createTestDatabase, type TestDatabase } from './helpers';

const HOUR_MS = 3_600_000;

describe('message ids and the partitioned message store (migration message_partitions)', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 4 });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  async function insert(ids: string[], partnerMsgId: string | null = null): Promise<void> {
    await pool.query(
      `INSERT INTO message (id, partner_id, partner_msg_id, sender, msisdn, text, encoding, segments, valid_until)
       SELECT id, 1, $2, 'Shop', '79001234567', 'hi', 0, 1, now() + interval '1 day' FROM unnest($1::bigint[]) AS id`,
      [ids, partnerMsgId],
    );
  }

  async function partitionsOf(ids: string[]): Promise<string[]> {
    const { rows } = await pool.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM message WHERE id = ANY($1::bigint[]) ORDER BY id`, [ids]);
    return rows.map((r) => r.p);
  }

  it('draws ids that carry the hour they were drawn in, unique across allocators', async () => {
    const a = new MessageIdAllocator(pool);
    const b = new MessageIdAllocator(pool);
    const before = Date.now();
    const [x, y] = await Promise.all([a.take(ID_BLOCK_SIZE + 10), b.take(ID_BLOCK_SIZE + 10)]);
    const all = [...x, ...y];
    expect(new Set(all).size).toBe(all.length);
    for (const id of all) {
      expect(Number.isSafeInteger(Number(id))).toBe(true);
      const hour = messageIdHour(id).getTime();
      expect(hour).toBeGreaterThanOrEqual(Math.floor(before / HOUR_MS) * HOUR_MS - HOUR_MS);
      expect(hour).toBeLessThanOrEqual(Date.now());
      expect(BigInt(id) >= BigInt(messageIdFloor(hour))).toBe(true);
    }
    // Two blocks per allocator, each 1024 consecutive ids.
    expect(Number(x[ID_BLOCK_SIZE - 1]) - Number(x[0])).toBe(ID_BLOCK_SIZE - 1);
  });

  it('takes a new block when its hour is over, though the block has ids left', async () => {
    let now = Date.now();
    const allocator = new MessageIdAllocator(pool, () => now);
    const [first] = await allocator.take(1);
    const [second] = await allocator.take(1);
    expect(Number(second) - Number(first)).toBe(1);
    now = (Math.floor(now / HOUR_MS) + 1) * HOUR_MS + 5;
    const [third] = await allocator.take(1);
    // A new block (the database's hour may still be the old one: a block is drawn either way).
    expect(Math.floor(Number(third) / ID_BLOCK_SIZE)).not.toBe(Math.floor(Number(first) / ID_BLOCK_SIZE));
  });

  it('messageIdFloor is the first id of the hour', () => {
    expect(messageIdFloor(Date.UTC(2026, 11, 6, 21, 59, 59))).toBe(String(Math.floor(Date.UTC(2026, 11, 6, 21) / HOUR_MS) * ID_HOUR_FACTOR));
    expect(messageIdHour(messageIdFloor(Date.UTC(2026, 11, 6, 21, 30))).toISOString()).toBe('2026-12-06T21:00:00.000Z');
  });

  it('stores each message in the week of its id, and ids of before the partitioning in message_before', async () => {
    const ids = await new MessageIdAllocator(pool).take(2);
    await insert([...ids, '1000', '2000']);
    const day = Math.floor(Date.now() / 86_400_000);
    const week = new Date((day - (day % 7)) * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    expect(await partitionsOf([...ids, '1000', '2000'])).toEqual(['message_before', 'message_before', `message_p${week}`, `message_p${week}`]);
    // The segments follow their message's partition.
    await pool.query(`INSERT INTO message_part (message_id, seq) SELECT id, 1 FROM unnest($1::bigint[]) AS id`, [[ids[0], '1000']]);
    const { rows } = await pool.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM message_part ORDER BY message_id`);
    expect(rows.map((r) => r.p)).toEqual(['message_part_before', `message_part_p${week}`]);
  });

  it('has the partitions of this week and the three after it ready', async () => {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'message'::regclass AND inhrelid::regclass::text <> 'message_before'`,
    );
    expect(Number(rows[0]!.n)).toBe(4);
    const [id] = await new MessageIdAllocator(pool, () => Date.now()).take(1);
    const threeWeeks = BigInt(id!) + BigInt(21 * 24) * BigInt(ID_HOUR_FACTOR);
    await insert([String(threeWeeks)]);
    await expect(insert([String(threeWeeks + BigInt(7 * 24) * BigInt(ID_HOUR_FACTOR))])).rejects.toThrow(/no partition of relation "message" found/);
  });

  it('keeps statistics triggers on the partitioned table: one message_stat_delta row per INSERT statement', async () => {
    await pool.query('DELETE FROM message_stat_delta');
    const ids = await new MessageIdAllocator(pool).take(3);
    await insert(ids);
    const { rows } = await pool.query<{ messages: number }>('SELECT messages FROM message_stat_delta');
    expect(rows.map((r) => Number(r.messages))).toEqual([3]);
  });

  it('message_key holds (partner, partnerMsgId) unique per partner', async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`INSERT INTO message_key (partner_id, partner_msg_id, message_id) VALUES (1, 'k-1', 1000)`);
      await expect(client.query(`INSERT INTO message_key (partner_id, partner_msg_id, message_id) VALUES (1, 'k-1', 2000)`)).rejects.toThrow(/message_key_pkey/);
      await client.query(`INSERT INTO message_key (partner_id, partner_msg_id, message_id) VALUES (2, 'k-1', 2000)`);
    } finally {
      await client.end();
    }
  });
});
