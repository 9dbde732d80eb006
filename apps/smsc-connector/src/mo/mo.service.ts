import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { Batcher, inTransaction, PeriodicTask } from '@smsgw/common';
import { ConcatAssembler, concatKey, type IncompleteConcat } from '@smsgw/sms';
import { PartnerCallbacks } from '../callbacks/partner-callbacks.service';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { InboundJournal, type InboundRecord } from '../inbound/inbound-journal';
import { PG_POOL } from '../infra/tokens';
import { connectorMetrics } from '../metrics';

/** A subscriber's message ready to be stored. */
export interface IncomingMo {
  msisdn: string;
  serviceNumber: string;
  text: string;
  segments: number;
  complete: boolean;
  smscConnectionId: number;
  connectionName: string;
  /** The journal entry of its (first) segment: a replay of the journal stores it once. */
  inboundKey: string;
  /** Its segments' journal entries, done once it is stored. */
  journalIds: string[];
}

interface OpenSetOrigin {
  msisdn: string;
  serviceNumber: string;
  smscConnectionId: number;
  connectionName: string;
  journalIds: string[];
}

type MoRecord = Extract<InboundRecord, { kind: 'mo' }>;

/** Subscriber numbers and service numbers are stored as digits without '+'. */
export const normaliseNumber = (addr: string): string => addr.trim().replace(/^\+/, '');

/**
 * MO: a deliver_sm that is not a receipt, taken from the inbound journal (see InboundService). A
 * single message is stored at once. A segment of a concatenated message (UDH 8/16-bit reference
 * or SAR TLVs) is held in memory (and stays in the journal); the message is stored when its last
 * segment arrives, or, missing segments, MO_REASSEMBLY_TIMEOUT_MS after the latest one
 * (complete = false), and its segments' journal entries are done then. The owner is the partner of
 * the service number it was sent to; nobody's number is stored with partner_id null.
 */
@Injectable()
export class MoService {
  private readonly log = new Logger(MoService.name);
  private readonly assembler = new ConcatAssembler();
  private readonly origins = new Map<string, OpenSetOrigin>();
  /** Incomplete MO (timed out, evicted) whose store failed: tried again on the next tick, never dropped. */
  private unsaved: IncomingMo[] = [];
  /** Sets completed by a segment whose store failed, by that segment's journal entry (applied again by the journal). */
  private readonly completedUnsaved = new Map<string, IncomingMo>();
  /** Stores the sets whose reassembly time is over: a look every quarter of it (50 ms to 1 s). */
  private readonly expiry: PeriodicTask;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly callbacks: PartnerCallbacks,
    private readonly journal: InboundJournal,
  ) {
    const every = Math.max(50, Math.min(1000, Math.floor(config.MO_REASSEMBLY_TIMEOUT_MS / 4)));
    this.expiry = new PeriodicTask('MO reassembly expiry', every, () => this.expireIncomplete(), { firstDelayMs: every, unref: true });
  }

  start(): void {
    this.expiry.start();
  }

  /** At shutdown, after the SMSC sessions are closed: stores every set still open, as received. */
  async stop(): Promise<void> {
    await this.expiry.stop();
    const open = this.assembler.flushAll().map((set) => this.incomplete(set));
    await this.storeAll([...this.unsaved.splice(0), ...open]);
    if (this.unsaved.length > 0) this.log.warn(`${this.unsaved.length} MO could not be stored at shutdown: they stay in the journal for the next start`);
  }

  /**
   * One journaled MO segment. True: stored (its journal entry is done). False: held for its set;
   * its entry is done once the set is stored. Rejects when the message (single, or the set this
   * segment completes) could not be stored: the journal applies the segment again, in its place.
   */
  async onMoSegment(journalId: string, record: MoRecord): Promise<boolean> {
    const { segment, msisdn, serviceNumber, smscConnectionId, connectionName } = record;
    const base = { msisdn, serviceNumber, smscConnectionId, connectionName };
    const completed = this.completedUnsaved.get(journalId);
    if (completed) {
      // The journal applies again the segment that completed a set it could not store.
      await this.store(completed);
      this.completedUnsaved.delete(journalId);
      return false;
    }
    if (!segment.concat || segment.concat.total <= 1) {
      await this.store({ ...base, text: segment.text, segments: 1, complete: true, inboundKey: journalId, journalIds: [] });
      return true;
    }
    const key = concatKey(msisdn, serviceNumber, segment.concat);
    const origin = this.origins.get(key) ?? { ...base, journalIds: [] };
    origin.journalIds.push(journalId);
    this.origins.set(key, origin);
    const result = this.assembler.add({ key, seq: segment.concat.seq, total: segment.concat.total, text: segment.text, receivedAt: Date.now() });
    if (result.evicted) void this.storeAll(result.evicted.map((set) => this.incomplete(set)));
    if (!result.complete) return false;
    this.origins.delete(key);
    const mo: IncomingMo = { ...base, text: result.text, segments: result.parts, complete: true, inboundKey: origin.journalIds[0]!, journalIds: origin.journalIds };
    try {
      await this.store(mo);
    } catch (e) {
      // Kept until the journal applies this segment again, in its place among the others.
      this.completedUnsaved.set(journalId, mo);
      throw e;
    }
    return false;
  }

  private async expireIncomplete(): Promise<void> {
    const expired = this.assembler.expire(Date.now(), this.config.MO_REASSEMBLY_TIMEOUT_MS).map((set) => this.incomplete(set));
    await this.storeAll([...this.unsaved.splice(0), ...expired]);
  }

  private incomplete(set: IncompleteConcat): IncomingMo {
    const origin = this.origins.get(set.key);
    this.origins.delete(set.key);
    const [msisdn = '', serviceNumber = ''] = set.key.split('|');
    const journalIds = origin?.journalIds ?? [];
    return {
      inboundKey: journalIds[0] ?? `incomplete:${set.key}:${Date.now()}`,
      journalIds,
      msisdn: origin?.msisdn ?? msisdn,
      serviceNumber: origin?.serviceNumber ?? serviceNumber,
      smscConnectionId: origin?.smscConnectionId ?? 0,
      connectionName: origin?.connectionName ?? '',
      text: set.text,
      segments: set.parts,
      complete: false,
    };
  }

  private async storeAll(messages: IncomingMo[]): Promise<void> {
    for (const mo of messages) {
      try {
        await this.store(mo);
      } catch (e) {
        this.log.error(`MO from ${mo.msisdn} not stored, will retry: ${(e as Error).message}`);
        this.unsaved.push(mo);
      }
    }
  }

  /**
   * Stores the MO (with those of concurrent deliver_sm, in one transaction: group commit) and
   * queues their callbacks in the same transaction: if the callbacks cannot be queued nothing is
   * stored, the deliver_sm are answered with a temporary error and the SMSC sends them again, so a
   * Redis hiccup neither loses a push nor stores an MO twice. (A crash between the enqueue and the
   * commit leaves jobs for MO ids that do not exist; the worker drops them after a while, and the
   * resent MO has its own.)
   */
  private store(mo: IncomingMo): Promise<void> {
    return this.writer.submit(mo);
  }

  private readonly writer = new Batcher<IncomingMo, void>((batch) => this.storeBatch(batch), { maxBatch: 200, maxInFlight: 2, name: 'mo.store' });

  private async storeBatch(batch: IncomingMo[]): Promise<void[]> {
    const rows = await inTransaction(this.pool, async (db) => {
      // An MO whose key is stored already (the journal applied it once before a crash) is skipped:
      // its callback was queued with it.
      const { rows } = await db.query<{ id: string; partner_id: number | null; wants_callback: boolean; inbound_key: string }>(
        `WITH input AS (
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bool[], $6::int[], $7::text[]) WITH ORDINALITY
             AS i(msisdn, service_number, text, segments, complete, smsc_connection_id, inbound_key, n)
         ), owner AS (
           SELECT s.number, s.partner_id, p.mo_url FROM service_number s JOIN partner p ON p.id = s.partner_id
           WHERE s.number IN (SELECT DISTINCT service_number FROM input)
         ), stored AS (
           INSERT INTO mo_message (partner_id, msisdn, service_number, text, segments, complete, smsc_connection_id, inbound_key)
           SELECT o.partner_id, i.msisdn, i.service_number, i.text, i.segments, i.complete, i.smsc_connection_id, i.inbound_key
           FROM input i LEFT JOIN owner o ON o.number = i.service_number ORDER BY i.n
           ON CONFLICT (inbound_key) DO NOTHING
           RETURNING id, partner_id, service_number, inbound_key
         )
         SELECT s.id::text, s.partner_id, (o.mo_url IS NOT NULL) AS wants_callback, s.inbound_key
         FROM stored s LEFT JOIN owner o ON o.number = s.service_number ORDER BY s.id`,
        [
          batch.map((m) => m.msisdn),
          batch.map((m) => m.serviceNumber),
          // PostgreSQL text cannot hold NUL, which a binary or UCS-2 payload may carry.
          batch.map((m) => m.text.replace(/\u0000/g, '')),
          batch.map((m) => m.segments),
          batch.map((m) => m.complete),
          batch.map((m) => m.smscConnectionId || null),
          batch.map((m) => m.inboundKey),
        ],
      );
      const callbacks = rows.filter((r) => r.partner_id !== null && r.wants_callback).map((r) => ({ moId: r.id, partnerId: r.partner_id! }));
      if (callbacks.length > 0) await this.callbacks.incomingMessages(callbacks);
      return rows;
    });
    this.journal.done(batch.flatMap((m) => m.journalIds));
    const byKey = new Map(batch.map((m) => [m.inboundKey, m]));
    if (rows.length < batch.length) this.log.warn(`${batch.length - rows.length} MO were stored already (applied again from the journal after a restart): skipped`);
    for (const row of rows) {
      const mo = byKey.get(row.inbound_key)!;
      connectorMetrics.moReceived.inc({ connection: mo.connectionName, complete: String(mo.complete) });
      if (row.partner_id !== null) continue;
      connectorMetrics.moUnowned.inc();
      this.log.warn(`MO ${row.id} to ${mo.serviceNumber}, a number no partner owns: stored without a partner`);
    }
    return batch.map(() => undefined);
  }
}
