import type { Pool } from 'pg';

/** Ids per value of `message_id_block_seq` (hi/lo). */
export const ID_BLOCK_SIZE = 1000;

/**
 * Message ids unique across every writer (ingress instances, the callback worker's MO replies)
 * without a query per message: each value of the PostgreSQL sequence is a block of ids
 * (value * 1000 + 0..999) owned by one process.
 */
export class MessageIdAllocator {
  private next = 0;
  private end = 0;
  private refill: Promise<void> | null = null;

  constructor(private readonly pool: Pool) {}

  async take(count: number): Promise<string[]> {
    const ids: string[] = [];
    while (ids.length < count) {
      if (this.next >= this.end) await this.fetchBlock();
      while (ids.length < count && this.next < this.end) ids.push(String(this.next++));
    }
    return ids;
  }

  private fetchBlock(): Promise<void> {
    this.refill ??= this.pool
      .query<{ v: string }>("SELECT nextval('message_id_block_seq')::text AS v")
      .then(({ rows }) => {
        const block = Number(rows[0]?.v);
        if (!Number.isSafeInteger(block * ID_BLOCK_SIZE)) throw new Error(`message id block ${rows[0]?.v} out of range`);
        this.next = block * ID_BLOCK_SIZE;
        this.end = this.next + ID_BLOCK_SIZE;
      })
      .finally(() => {
        this.refill = null;
      });
    return this.refill;
  }
}
