import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { Batcher, inTransaction } from '@smsgw/common';
import { ConcatAssembler, concatKey, type IncompleteConcat, readMoSegment } from '@smsgw/sms';
import { PartnerCallbacks } from '../callbacks/partner-callbacks.service';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import type { DeliverSm } from '../inbound/deliver-sm';
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
}

interface OpenSetOrigin {
  msisdn: string;
  serviceNumber: string;
  smscConnectionId: number;
  connectionName: string;
}

/** Subscriber numbers and service numbers are stored as digits without '+'. */
const normaliseNumber = (addr: string): string => addr.trim().replace(/^\+/, '');

/**
 * MO: a deliver_sm that is not a receipt. A single message is stored before its deliver_sm is
 * answered. A segment of a concatenated message (UDH 8/16-bit reference or SAR TLVs) is held in
 * memory and answered at once; the message is stored when its last segment arrives, or, missing
 * segments, MO_REASSEMBLY_TIMEOUT_MS after the latest one (complete = false). The owner is the
 * partner of the service number it was sent to; nobody's number is stored with partner_id null.
 */
@Injectable()
export class MoService {
  private readonly log = new Logger(MoService.name);
  private readonly assembler = new ConcatAssembler();
  private readonly origins = new Map<string, OpenSetOrigin>();
  /** Reassembled MO whose store failed: tried again on the next tick, never dropped. */
  private unsaved: IncomingMo[] = [];
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly callbacks: PartnerCallbacks,
  ) {}

  start(): void {
    const every = Math.max(50, Math.min(1000, Math.floor(this.config.MO_REASSEMBLY_TIMEOUT_MS / 4)));
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.expireIncomplete().finally(() => (this.ticking = null));
    }, every);
    this.timer.unref();
  }

  /** At shutdown, after the SMSC sessions are closed: stores every set still open, as received. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    const open = this.assembler.flushAll().map((set) => this.incomplete(set));
    await this.storeAll([...this.unsaved.splice(0), ...open]);
    if (this.unsaved.length > 0) this.log.error(`${this.unsaved.length} MO could not be stored at shutdown: lost`);
  }

  async onMoSegment(smscConnectionId: number, connectionName: string, pdu: DeliverSm): Promise<void> {
    const segment = readMoSegment(pdu);
    const msisdn = normaliseNumber(pdu.sourceAddr);
    const serviceNumber = normaliseNumber(pdu.destinationAddr);
    const base = { msisdn, serviceNumber, smscConnectionId, connectionName };
    if (!segment.concat || segment.concat.total <= 1) {
      await this.store({ ...base, text: segment.text, segments: 1, complete: true });
      return;
    }
    const key = concatKey(msisdn, serviceNumber, segment.concat);
    if (!this.origins.has(key)) this.origins.set(key, base);
    const result = this.assembler.add({ key, seq: segment.concat.seq, total: segment.concat.total, text: segment.text, receivedAt: Date.now() });
    if (result.evicted) void this.storeAll(result.evicted.map((set) => this.incomplete(set)));
    if (!result.complete) return;
    this.origins.delete(key);
    const mo: IncomingMo = { ...base, text: result.text, segments: result.parts, complete: true };
    try {
      await this.store(mo);
    } catch (e) {
      // The earlier segments were acknowledged and are only here: asking the SMSC to resend this
      // last one would not bring them back. Keep the whole message and store it on the next tick.
      this.log.error(`MO from ${msisdn} not stored, will retry: ${(e as Error).message}`);
      this.unsaved.push(mo);
    }
  }

  private async expireIncomplete(): Promise<void> {
    const expired = this.assembler.expire(Date.now(), this.config.MO_REASSEMBLY_TIMEOUT_MS).map((set) => this.incomplete(set));
    await this.storeAll([...this.unsaved.splice(0), ...expired]);
  }

  private incomplete(set: IncompleteConcat): IncomingMo {
    const origin = this.origins.get(set.key);
    this.origins.delete(set.key);
    const [msisdn = '', serviceNumber = ''] = set.key.split('|');
    return {
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
      const { rows } = await db.query<{ id: string; partner_id: number | null; wants_callback: boolean }>(
        `WITH input AS (
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bool[], $6::int[]) WITH ORDINALITY
             AS i(msisdn, service_number, text, segments, complete, smsc_connection_id, n)
         ), owner AS (
           SELECT s.number, s.partner_id, p.mo_url FROM service_number s JOIN partner p ON p.id = s.partner_id
           WHERE s.number IN (SELECT DISTINCT service_number FROM input)
         ), stored AS (
           INSERT INTO mo_message (partner_id, msisdn, service_number, text, segments, complete, smsc_connection_id)
           SELECT o.partner_id, i.msisdn, i.service_number, i.text, i.segments, i.complete, i.smsc_connection_id
           FROM input i LEFT JOIN owner o ON o.number = i.service_number ORDER BY i.n
           RETURNING id, partner_id, service_number
         )
         SELECT s.id::text, s.partner_id, (o.mo_url IS NOT NULL) AS wants_callback
         FROM stored s LEFT JOIN owner o ON o.number = s.service_number ORDER BY s.id`,
        [
          batch.map((m) => m.msisdn),
          batch.map((m) => m.serviceNumber),
          // PostgreSQL text cannot hold NUL, which a binary or UCS-2 payload may carry.
          batch.map((m) => m.text.replace(/\u0000/g, '')),
          batch.map((m) => m.segments),
          batch.map((m) => m.complete),
          batch.map((m) => m.smscConnectionId || null),
        ],
      );
      if (rows.length !== batch.length) throw new Error(`MO insert stored ${rows.length} of ${batch.length} rows`);
      const callbacks = rows.filter((r) => r.partner_id !== null && r.wants_callback).map((r) => ({ moId: r.id, partnerId: r.partner_id! }));
      if (callbacks.length > 0) await this.callbacks.incomingMessages(callbacks);
      return rows;
    });
    for (const mo of batch) connectorMetrics.moReceived.inc({ connection: mo.connectionName, complete: String(mo.complete) });
    for (const [i, row] of rows.entries()) {
      if (row.partner_id !== null) continue;
      connectorMetrics.moUnowned.inc();
      this.log.warn(`MO ${row.id} to ${batch[i]!.serviceNumber}, a number no partner owns: stored without a partner`);
    }
    return batch.map(() => undefined);
  }
}
