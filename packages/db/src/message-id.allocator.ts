import type { Pool } from 'pg';

/** Ids per block drawn from `message_id_block_seq`. */
export const ID_BLOCK_SIZE = 1024;
/** An id's hour (since 1970, UTC) is its value divided by 2^30 (migration message_partitions). */
export const ID_HOUR_FACTOR = 2 ** 30;
const HOUR_MS = 3_600_000;
/** Blocks per hour before their numbers repeat: 2^20 blocks of 1024 ids, 2^30 ids an hour. */
const BLOCKS_PER_HOUR = 2 ** 20;

/**
 * The lowest id a message stored at or after `at` can have (ids carry the hour they were drawn in),
 * as a decimal string: a bound that lets PostgreSQL read only the partitions from that hour on.
 */
export function messageIdFloor(at: Date | number): string {
  const ms = typeof at === 'number' ? at : at.getTime();
  return String(Math.floor(ms / HOUR_MS) * ID_HOUR_FACTOR);
}

/** When an id was drawn, to the hour (its hour's start); ids of before the partitioning give 1970. */
export function messageIdHour(id: string | number | bigint): Date {
  return new Date(Math.floor(Number(id) / ID_HOUR_FACTOR) * HOUR_MS);
}

// One statement per block: the database's clock gives the hour, the sequence the block.
const BLOCK_SQL = `SELECT h::text AS hour, (h * ${ID_HOUR_FACTOR} + (nextval('message_id_block_seq') % ${BLOCKS_PER_HOUR}) * ${ID_BLOCK_SIZE})::text AS first
FROM (SELECT floor(extract(epoch FROM clock_timestamp()) / 3600)::bigint AS h) AS t`;

/**
 * Message ids unique across every writer (ingress instances, the SMPP server, the callback
 * worker's MO replies) without a query per message: each value of the PostgreSQL sequence is a
 * block of 1024 ids owned by one process, prefixed with the hour it was drawn in. A block is used
 * only within that hour (by this process's clock, a few seconds either way do not matter), so an
 * id tells when its message was stored and which partition holds it; the 2^20 blocks of an hour
 * cannot repeat within it.
 */
export class MessageIdAllocator {
  private next = 0;
  private end = 0;
  private hourEnds = 0;
  private refill: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly now: () => number = Date.now,
  ) {}

  async take(count: number): Promise<string[]> {
    const ids: string[] = [];
    while (ids.length < count) {
      if (this.next >= this.end || this.now() >= this.hourEnds) await this.fetchBlock();
      while (ids.length < count && this.next < this.end) ids.push(String(this.next++));
    }
    return ids;
  }

  private fetchBlock(): Promise<void> {
    this.refill ??= this.pool
      .query<{ hour: string; first: string }>(BLOCK_SQL)
      .then(({ rows }) => {
        const first = Number(rows[0]?.first);
        if (!Number.isSafeInteger(first + ID_BLOCK_SIZE)) throw new Error(`message id block ${rows[0]?.first} out of range`);
        this.next = first;
        this.end = first + ID_BLOCK_SIZE;
        // This process's clock a little ahead of the database's: the block is still used, for a second.
        this.hourEnds = Math.max((Number(rows[0]?.hour) + 1) * HOUR_MS, this.now() + 1000);
      })
      .finally(() => {
        this.refill = null;
      });
    return this.refill;
  }
}

/**
 * The lowest and the highest of a batch's message ids (decimal strings; others are left out, and
 * none gives an empty range), for `id BETWEEN $lo AND $hi` beside a statement's join on the ids:
 * PostgreSQL then plans and opens only the partitions of that range. Without it, a statement that
 * finds its rows through a join or a LATERAL is planned over every partition of message and
 * message_part, each time it runs (milliseconds with half a year of weekly partitions).
 */
export function messageIdRange(ids: Iterable<string>): { min: string; max: string } {
  let min: bigint | null = null;
  let max: bigint | null = null;
  for (const id of ids) {
    if (!/^-?\d{1,19}$/.test(id)) continue;
    const n = BigInt(id);
    if (min === null || n < min) min = n;
    if (max === null || n > max) max = n;
  }
  return min === null || max === null ? { min: '0', max: '-1' } : { min: String(min), max: String(max) };
}
