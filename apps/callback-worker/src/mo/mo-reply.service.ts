import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type Redis from 'ioredis';
import * as path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { bullPriority, dispatchJobId, enqueueBulk, QUEUES, type TypedJob } from '@smsgw/contracts';
import { analyzeText } from '@smsgw/sms';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { CallbackLog, type CallbackRecord, fromJournal, type JournaledRecord, toJournal } from '../delivery/callback-log.service';
import { moReplies } from '../delivery/callback-metrics';
import { MT_DISPATCH_QUEUE, PG_POOL, REDIS } from '../infra/tokens';
import { type CallbackPartner, PartnerSettings } from '../partners/partner-settings.service';
import { MessageIdAllocator } from '@smsgw/db';
import { Batcher, databaseName, inTransaction, isStatementRefused, type Journal, openJournalSlot } from '@smsgw/common';

/** The MO being acknowledged. */
export interface AcknowledgedMo {
  id: string;
  msisdn: string;
  serviceNumber: string;
}

/** Reply messages are normal priority, like a /send without smsPriority. */
const REPLY_PRIORITY = 1 as const;

// The same columns the ingress writes (apps/ingress-api/src/send/message-writer.service.ts), for
// the replies to several MO (of one or more partners) at once.
const INSERT_SQL = `
INSERT INTO message (id, partner_id, partner_msg_id, ptag, sender, msisdn, text, encoding, segments, flash, priority, test, release_at,
  window_start, window_end, window_zone, valid_until)
SELECT id, partner_id, NULL, NULL, sender, msisdn, text, encoding, segments, false, $1, test, NULL, NULL, NULL, NULL, valid_until
FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::smallint[], $8::smallint[], $9::boolean[], $10::timestamptz[])
  AS r(id, partner_id, sender, msisdn, text, encoding, segments, test, valid_until)`;

// The ingress's test-quota counter (`<prefix>:testq:<partnerId>`) counts reply messages too, if it exists;
// when it does not, the ingress seeds it from the table, which already holds them.
const TEST_QUOTA_ADD = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end return 0`;

/** One MO to acknowledge, with the reply lines of its partner's answer. */
interface Ack {
  mo: AcknowledgedMo;
  partner: CallbackPartner;
  lines: string[];
  record: CallbackRecord;
}

/** An MO the partner acknowledged, as journaled until its acknowledgement is committed. */
interface JournaledAck {
  mo: AcknowledgedMo;
  partnerId: number;
  lines: string[];
  record: JournaledRecord;
}

/** The ids of the reply messages stored, and why lines were not sent, if so. */
export interface AckResult {
  replyIds: string[];
  refused: string | null;
}

/**
 * Acknowledges MO and turns the partners' replies into messages (PROTOCOL §6), sent from the
 * service number the subscriber wrote to. Acknowledgements are group-committed: the MO answered
 * at the same moment (a pump's concurrent pushes, every partner's) share one transaction, in
 * which each MO's acknowledgement, its reply rows and its attempt record go together. A repeated
 * push (after a crash) finds the MO acknowledged and creates no second reply. The rows are queued
 * on `mt.dispatch` after the commit, one single `m<id>` job each (the ingress queues batch jobs; a
 * reply is a few messages); a failed enqueue leaves status-1 rows for the outbox sweep.
 */
/** How long the acknowledgement of MO the partner has is written again while the database is away. */
const ACK_RETRY_MS = 120_000;

@Injectable()
export class MoReplyWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(MoReplyWriter.name);
  private readonly ids: MessageIdAllocator;
  private readonly enqueues = new Set<Promise<void>>();
  private journal: Journal<JournaledAck> | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(MT_DISPATCH_QUEUE) private readonly queue: Queue,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
    private readonly log: CallbackLog,
    private readonly partners: PartnerSettings,
  ) {
    this.ids = new MessageIdAllocator(pool);
  }

  /**
   * Opens this instance's journal of MO acknowledgements and commits what a killed predecessor
   * left in it (MO the partner had answered, with its reply lines), before any MO job is taken:
   * the pump that comes next finds them acknowledged and pushes none of them again.
   */
  async open(): Promise<void> {
    const base = path.join(this.config.CALLBACK_JOURNAL_DIR, databaseName(this.config.DATABASE_URL), 'callback-worker-mo');
    // Not flushed to disk: an entry lost with the machine only makes its push again (docs/architecture.md 10.5).
    const { journal, unfinished, slot } = await openJournalSlot<JournaledAck>(base, { name: 'mo-ack', sync: false, writeAt: 'turn' });
    this.journal = journal;
    if (unfinished.length === 0) return;
    this.logger.warn(`journal slot ${slot}: ${unfinished.length} MO acknowledged by their partner in an earlier run not recorded yet: recording them`);
    await Promise.all(
      unfinished.map(async ({ id, data }) => {
        const partner = await this.partners.get(data.partnerId);
        if (!partner) {
          this.logger.warn(`MO ${data.mo.id}: partner ${data.partnerId} is gone; its acknowledgement is dropped`);
          return journal.done([id]);
        }
        await this.commit({ mo: data.mo, partner, lines: data.lines, record: fromJournal(data.record) }, id);
      }),
    );
  }

  /**
   * A batch's transaction failing fails each of its MO alone once more, so one MO the database
   * refuses (a reply it cannot store) does not hold back the others.
   */
  private readonly acks = new Batcher<Ack, AckResult | Error>(
    async (acks) => {
      try {
        return await this.storeOnceBack(acks);
      } catch (e) {
        if (acks.length === 1) return [e instanceof Error ? e : new Error(String(e))];
        return Promise.all(acks.map((a) => this.store([a]).then((r) => r[0]!, (err: unknown) => (err instanceof Error ? err : new Error(String(err))))));
      }
    },
    { maxBatch: 200, maxInFlight: 2, name: 'mo.ack' },
  );

  /**
   * The partner has these MO: failing them while the database is away would push them again. The
   * batch is written again with backoff (250 ms doubling to 5 s) for up to ACK_RETRY_MS; only a
   * batch the database refuses for itself, or an outage longer than that, fails.
   */
  private async storeOnceBack(acks: Ack[]): Promise<AckResult[]> {
    const giveUpAt = Date.now() + ACK_RETRY_MS;
    let delay = 0;
    for (;;) {
      try {
        const results = await this.store(acks);
        if (delay > 0) this.logger.log(`${acks.length} MO acknowledgement(s) written after the database came back`);
        return results;
      } catch (e) {
        if (isStatementRefused(e) || Date.now() >= giveUpAt) throw e;
        if (delay === 0) this.logger.error(`MO acknowledgements cannot be written (${(e as Error).message}); kept and written again when the database answers`);
        delay = Math.min(5000, delay === 0 ? 250 : delay * 2);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Acknowledges `mo` with its attempt record and stores its reply lines as messages, once it is committed. */
  async acknowledge(mo: AcknowledgedMo, partner: CallbackPartner, lines: string[], record: CallbackRecord): Promise<AckResult> {
    // On this machine's disk first (the task's write survives a kill at once): a crash before the
    // commit does not make the push again.
    const journalId = this.journal ? await this.journal.append({ mo, partnerId: partner.id, lines, record: toJournal(record) }) : undefined;
    return this.commit({ mo, partner, lines, record }, journalId);
  }

  private async commit(ack: Ack, journalId: string | undefined): Promise<AckResult> {
    const result = await this.acks.submit(ack);
    // Committed, or refused for good (retrying it at every start would change nothing).
    if (journalId !== undefined) this.journal?.done([journalId]);
    if (result instanceof Error) throw result;
    return result;
  }

  /** One transaction for the batch (one statement when no MO has a reply); the replies are queued after its commit. */
  private async store(acks: Ack[]): Promise<AckResult[]> {
    const results: AckResult[] = acks.map(() => ({ replyIds: [], refused: null }));
    // One record per MO: a statement may not upsert the same callback twice (two pushes of one MO
    // only meet here if a partner's lock was lost mid-push).
    const records = [...new Map(acks.map((a) => [a.mo.id, a.record])).values()];
    if (acks.every((a) => a.lines.length === 0)) {
      await this.log.recordAcknowledgedMo(records);
      return results;
    }
    const replies: { ack: Ack; ids: string[] }[] = [];
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string }>(
        'UPDATE mo_message SET callback_done_at = now() WHERE id = ANY($1::bigint[]) AND callback_done_at IS NULL RETURNING id::text AS id',
        [[...new Set(acks.map((a) => a.mo.id))]],
      );
      // Replies only for an MO this transaction acknowledged, and once if it came twice.
      const fresh = new Set(rows.map((r) => r.id));
      const answering = acks.flatMap((ack, i) => (ack.lines.length > 0 && fresh.delete(ack.mo.id) ? [{ ack, i }] : []));
      if (answering.length > 0) {
        const blacklisted = await this.blacklisted(client, answering.map(({ ack }) => ack.mo.msisdn));
        const sending: { ack: Ack; i: number }[] = [];
        for (const a of answering) {
          const refused = refusal(a.ack.partner) ?? (blacklisted.has(a.ack.mo.msisdn) ? 'the number is blacklisted' : null);
          if (refused === null) sending.push(a);
          else {
            results[a.i]!.refused = refused;
            if (a.ack.record.attempt) a.ack.record.attempt.error = `reply not sent: ${refused}`;
          }
        }
        if (sending.length > 0) {
          const ids = await this.insert(client, sending.map((x) => x.ack));
          sending.forEach(({ ack, i }, k) => {
            results[i]!.replyIds = ids[k]!;
            replies.push({ ack, ids: ids[k]! });
          });
        }
      }
      await this.log.recordWith(client, records);
    });
    for (const { ack, ids } of replies) {
      moReplies.inc(ids.length);
      this.enqueue(ids, ack.partner);
    }
    return results;
  }

  /** After the workers stopped, before the queues close: let the last enqueues finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.enqueues]);
    await this.journal?.close();
    this.journal = null;
  }

  /** The numbers among `msisdns` that may not receive messages. */
  private async blacklisted(client: PoolClient, msisdns: string[]): Promise<Set<string>> {
    const { rows } = await client.query<{ msisdn: string }>('SELECT msisdn FROM blacklisted_number WHERE msisdn = ANY($1::text[])', [[...new Set(msisdns)]]);
    return new Set(rows.map((r) => r.msisdn));
  }

  /** The reply rows of each MO; returns their ids, per MO. */
  private async insert(client: PoolClient, acks: Ack[]): Promise<string[][]> {
    const ids = await this.ids.take(acks.reduce((n, a) => n + a.lines.length, 0));
    const perMo: string[][] = [];
    const rows = { id: [] as string[], partner: [] as number[], sender: [] as string[], msisdn: [] as string[], text: [] as string[], encoding: [] as number[], segments: [] as number[], test: [] as boolean[], validUntil: [] as Date[] };
    let next = 0;
    for (const { mo, partner, lines } of acks) {
      const mine = ids.slice(next, next + lines.length);
      next += lines.length;
      perMo.push(mine);
      const validUntil = new Date(Date.now() + partner.validityMinutes * 60_000);
      lines.forEach((line, k) => {
        const analysis = analyzeText(line);
        rows.id.push(mine[k]!);
        rows.partner.push(partner.id);
        rows.sender.push(mo.serviceNumber);
        rows.msisdn.push(mo.msisdn.replace(/^\+/, ''));
        rows.text.push(line);
        rows.encoding.push(analysis.dataCoding);
        rows.segments.push(analysis.segments);
        rows.test.push(partner.testMode);
        rows.validUntil.push(validUntil);
      });
    }
    await client.query(INSERT_SQL, [REPLY_PRIORITY, rows.id, rows.partner, rows.sender, rows.msisdn, rows.text, rows.encoding, rows.segments, rows.test, rows.validUntil]);
    return perMo;
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

/** The checks of /send that still apply to a reply, besides the blacklist: the partner may send. */
function refusal(partner: CallbackPartner): string | null {
  if (partner.blocked) return 'the partner is blocked';
  if (partner.testMode && partner.testEndsAt && partner.testEndsAt.getTime() <= Date.now()) return 'the test period is over';
  return null;
}
