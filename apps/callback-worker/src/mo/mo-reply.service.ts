import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type Redis from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import { bullPriority, dispatchJobId, enqueueBulk, QUEUES, type TypedJob } from '@smsgw/contracts';
import { analyzeText } from '@smsgw/sms';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { CallbackLog, type CallbackRecord } from '../delivery/callback-log.service';
import { moReplies } from '../delivery/callback-metrics';
import { MT_DISPATCH_QUEUE, PG_POOL, REDIS } from '../infra/tokens';
import type { CallbackPartner } from '../partners/partner-settings.service';
import { MessageIdAllocator } from '@smsgw/db';
import { Batcher, inTransaction } from '@smsgw/common';

/** The MO being acknowledged. */
export interface AcknowledgedMo {
  id: string;
  msisdn: string;
  serviceNumber: string;
}

/** Reply messages are normal priority, like a /send without smsPriority. */
const REPLY_PRIORITY = 1 as const;

// The same columns the ingress writes (apps/ingress-api/src/send/message-writer.service.ts).
const INSERT_SQL = `
INSERT INTO message (id, partner_id, partner_msg_id, ptag, sender, msisdn, text, encoding, segments, flash, priority, test, release_at,
  window_start, window_end, window_zone, valid_until)
SELECT id, $2, NULL, NULL, $3, $4, text, encoding, segments, false, $5, $6, NULL, NULL, NULL, NULL, $7
FROM unnest($1::bigint[], $8::text[], $9::smallint[], $10::smallint[]) AS r(id, text, encoding, segments)`;

// The ingress's test-quota counter (`<prefix>:testq:<partnerId>`) counts reply messages too, if it exists;
// when it does not, the ingress seeds it from the table, which already holds them.
const TEST_QUOTA_ADD = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end return 0`;

/**
 * Acknowledges an MO and turns the partner's reply into messages (PROTOCOL §6), sent from the
 * service number the subscriber wrote to. The acknowledgement, the reply rows and the attempt
 * record are one transaction: a repeated push (after a crash) finds the MO acknowledged and
 * creates no second reply. The rows are queued on `mt.dispatch` after the commit, one single `m<id>`
 * job each (the ingress queues batch jobs; a reply is a few messages); a failed enqueue leaves
 * status-1 rows for the outbox sweep.
 */
@Injectable()
export class MoReplyWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(MoReplyWriter.name);
  private readonly ids: MessageIdAllocator;
  private readonly enqueues = new Set<Promise<void>>();

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(MT_DISPATCH_QUEUE) private readonly queue: Queue,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
    private readonly log: CallbackLog,
  ) {
    this.ids = new MessageIdAllocator(pool);
  }

  /**
   * MO answered without a reply, acknowledged together: concurrent pushes share one transaction
   * (the acknowledgements and their attempt records), so a partner taking hundreds of MO a second
   * costs a few commits a second, not one per MO.
   */
  private readonly plainAcks = new Batcher<{ moId: string; record: CallbackRecord }, void>(
    async (acks) => {
      await inTransaction(this.pool, async (client) => {
        await client.query('UPDATE mo_message SET callback_done_at = now() WHERE id = ANY($1::bigint[]) AND callback_done_at IS NULL', [acks.map((a) => a.moId)]);
        // One row per MO: a statement may not upsert the same callback twice (two pushes of one MO
        // only meet here if a line's lock was lost mid-push).
        await this.log.recordWith(client, [...new Map(acks.map((a) => [a.moId, a.record])).values()]);
      });
      return acks.map(() => undefined);
    },
    { maxBatch: 200, maxInFlight: 2, name: 'mo.ack' },
  );

  /** Returns the ids of the reply messages stored, and why lines were not sent, if so. */
  async acknowledge(mo: AcknowledgedMo, partner: CallbackPartner, lines: string[], record: CallbackRecord): Promise<{ replyIds: string[]; refused: string | null }> {
    if (lines.length === 0) {
      await this.plainAcks.submit({ moId: mo.id, record });
      return { replyIds: [], refused: null };
    }
    let replyIds: string[] = [];
    let refused: string | null = null;
    await inTransaction(this.pool, async (client) => {
      const ack = await client.query('UPDATE mo_message SET callback_done_at = now() WHERE id = $1 AND callback_done_at IS NULL', [mo.id]);
      if (ack.rowCount === 1) {
        refused = await this.refusal(client, partner, mo.msisdn);
        if (refused === null) replyIds = await this.insert(client, mo, partner, lines);
      }
      if (refused && record.attempt) record.attempt.error = `reply not sent: ${refused}`;
      await this.log.recordWith(client, [record]);
    });
    if (replyIds.length > 0) {
      moReplies.inc(replyIds.length);
      this.enqueue(replyIds, partner);
    }
    return { replyIds, refused };
  }

  /** After the workers stopped, before the queues close: let the last enqueues finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.enqueues]);
  }

  /** The checks of /send that still apply to a reply: the partner may send, the number may receive. */
  private async refusal(client: PoolClient, partner: CallbackPartner, msisdn: string): Promise<string | null> {
    if (partner.blocked) return 'the partner is blocked';
    if (partner.testMode && partner.testEndsAt && partner.testEndsAt.getTime() <= Date.now()) return 'the test period is over';
    const { rowCount } = await client.query('SELECT 1 FROM blacklisted_number WHERE msisdn = $1', [msisdn]);
    return rowCount ? 'the number is blacklisted' : null;
  }

  private async insert(client: PoolClient, mo: AcknowledgedMo, partner: CallbackPartner, lines: string[]): Promise<string[]> {
    const ids = await this.ids.take(lines.length);
    const analyses = lines.map((l) => analyzeText(l));
    await client.query(INSERT_SQL, [
      ids,
      partner.id,
      mo.serviceNumber,
      mo.msisdn.replace(/^\+/, ''),
      REPLY_PRIORITY,
      partner.testMode,
      new Date(Date.now() + partner.validityMinutes * 60_000),
      lines,
      analyses.map((a) => a.dataCoding),
      analyses.map((a) => a.segments),
    ]);
    return ids;
  }

  private enqueue(ids: string[], partner: CallbackPartner): void {
    const jobs: TypedJob<typeof QUEUES.MT_DISPATCH>[] = ids.map((id) => ({
      data: { messageId: id, partnerId: partner.id, priority: REPLY_PRIORITY },
      opts: { jobId: dispatchJobId(id), priority: bullPriority(REPLY_PRIORITY), removeOnComplete: true, removeOnFail: 10_000 },
    }));
    const work = async () => {
      await enqueueBulk(this.queue, QUEUES.MT_DISPATCH, jobs);
      if (partner.testMode) await this.redis.eval(TEST_QUOTA_ADD, 1, `${this.config.REDIS_PREFIX}:testq:${partner.id}`, ids.length);
    };
    const p = work()
      .catch((e: Error) => this.logger.error(`enqueue of ${ids.length} reply messages failed, the outbox sweep will retry them (${e.message}); ids ${ids.join(',')}`))
      .finally(() => this.enqueues.delete(p));
    this.enqueues.add(p);
  }
}
