import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { failSpan, MESSAGE_ID_ATTRIBUTE, sampledTraceparent, startAcceptSpan, tracing, withSpan } from '@smsgw/common';
import { isBinaryEncoding } from '@smsgw/sms';
import { LimitsService } from './limits.service';
import { MessageWriter, type NewMessage, type StoredMessage } from './message-writer.service';
import type { CachedPartner } from './partner';
import { ProtocolError } from './protocol-error';
import { PG_POOL } from './tokens';

/** The longest text a partner may send, in characters (code points), whichever interface it uses. */
export const MAX_TEXT_CHARS = 2000;
/**
 * The most octets of 8-bit data a partner may send in one message (SMPP only): ten segments of a
 * concatenated message (134 octets each behind the concatenation header).
 */
export const MAX_BINARY_OCTETS = 1340;
/** The longest validity a partner may ask for, in minutes (the partner's own setting caps it further). */
export const MAX_VALIDITY_MINUTES = 2880;

/** Alphanumeric sender: 1–11 characters, at least one letter. */
const ALPHA_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 ._&-]{1,11}$/;
/** Numeric sender: short code or long number. */
const NUMERIC_SENDER = /^\+?[0-9]{1,15}$/;

/**
 * Taking a checked message in, whichever interface it came by (the HTTP `/send`, the SMPP server's
 * `submit_sm`): the partner's limits (rate, `partnerMsgId` idempotency, duplicate filter, test
 * quota), then the durable store and the hand-over to `mt.dispatch`. Every limit taken is given back
 * if the message is not stored.
 */
@Injectable()
export class Intake {
  private readonly logger = new Logger(Intake.name);

  constructor(
    private readonly limits: LimitsService,
    private readonly writer: MessageWriter,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /**
   * With tracing on, a message is taken in its `sms.accept` span (a child of the request's span),
   * whose traceparent, when sampled, the message carries on: stored with it and in its job.
   */
  async take(partner: CachedPartner, message: NewMessage, partnerMsgId: string | null): Promise<StoredMessage> {
    const span = tracing.on ? startAcceptSpan({ 'smsgw.partner_id': partner.id }) : undefined;
    if (!span) return this.takeUntraced(partner, message, partnerMsgId);
    const traceparent = sampledTraceparent(span);
    if (traceparent) message.traceparent = traceparent;
    try {
      const stored = await withSpan(span, undefined, () => this.takeUntraced(partner, message, partnerMsgId));
      span.setAttributes({ [MESSAGE_ID_ATTRIBUTE]: stored.id, 'smsgw.existing': stored.existing, 'smsgw.segments': stored.segments });
      return stored;
    } catch (e) {
      failSpan(span, e);
      throw e;
    } finally {
      span.end();
    }
  }

  private async takeUntraced(partner: CachedPartner, message: NewMessage, partnerMsgId: string | null): Promise<StoredMessage> {
    // The partnerMsgId's claim and the rate token in one round trip; a repeat takes no token.
    const admission = await this.limits.admit(partner.id, partner.row.rate_limit, partnerMsgId);
    if (admission.state === 'limited') throw new ProtocolError(408, 'Rate limit exceeded');
    if (admission.state === 'pending') throw new ProtocolError(503, 'A request with this partnerMsgId is still being processed');
    if (admission.state === 'done') return { id: admission.id, segments: admission.segments, existing: true };
    if (partnerMsgId === null) return this.accept(partner, message);
    let stored: StoredMessage;
    try {
      stored = await this.accept(partner, message);
    } catch (e) {
      await this.limits.abandonPartnerMsgId(partner.id, partnerMsgId).catch(() => undefined);
      throw e;
    }
    // Not awaited: the command is on this instance's Redis connection before the answer is written,
    // so a repeat sent after the answer finds the id (through this instance, its SET NX follows on the
    // same connection; through another, it reaches Redis a network round trip later). The answer
    // does not wait for a Redis round trip.
    void this.limits.finishPartnerMsgId(partner.id, partnerMsgId, stored.id, stored.segments).catch((e) => {
      // PostgreSQL's unique key still answers repeats with the first id.
      this.logger.warn(`could not record partnerMsgId answer in Redis: ${(e as Error).message}`);
    });
    return stored;
  }

  /**
   * The sender a message goes out with: the one asked for if it is one of the partner's, or any
   * well-formed one with a dynamic signature; the partner's default when none is asked for.
   * `param` is the name the refusal gives the parameter.
   */
  sender(partner: CachedPartner, value: string | null, param: string): string {
    if (value === null) {
      const fallback = partner.row.default_sender ?? partner.row.senders[0];
      if (!fallback) throw new ProtocolError(400, `Missing parameter: ${param} (no default sender is configured)`);
      return fallback;
    }
    if (partner.senders.has(value)) return value;
    if (!partner.row.dynamic_signature) throw new ProtocolError(400, `Invalid parameter: ${param} is not one of your senders`);
    if (!ALPHA_SENDER.test(value) && !NUMERIC_SENDER.test(value)) {
      throw new ProtocolError(400, `Invalid parameter: ${param} must be up to 11 letters/digits or up to 15 digits`);
    }
    return value;
  }

  /**
   * The other limits (the rate token is taken with the admission), then the insert; every limit
   * taken is given back if the message is not stored.
   */
  private async accept(partner: CachedPartner, message: NewMessage): Promise<StoredMessage> {
    const row = partner.row;

    const undo: Array<() => Promise<void>> = [];
    try {
      if (row.duplicate_filter) {
        // 8-bit data is compared as its octets: a NUL (which no text holds) keeps the hex of
        // 8-bit data apart from a text of the same digits.
        const content = isBinaryEncoding(message.encoding) ? `\0${message.text}` : message.text;
        const ok = await this.limits.takeDuplicateSlot(partner.id, message.msisdn, content, row.duplicate_max, row.duplicate_window_hours);
        if (!ok) throw new ProtocolError(409, 'Duplicate message');
        undo.push(() => this.limits.releaseDuplicateSlot(partner.id, message.msisdn, content));
      }
      if (message.test) {
        let taken = await this.limits.takeTestQuota(partner.id, row.test_quota);
        if (taken === null) {
          await this.limits.seedTestQuota(partner.id, await this.testMessagesUsed(partner.id));
          taken = await this.limits.takeTestQuota(partner.id, row.test_quota);
        }
        if (!taken) throw new ProtocolError(402, 'Test quota used up');
        undo.push(() => this.limits.releaseTestQuota(partner.id));
      }
      const stored = await this.writer.write(message);
      if (stored.existing) for (const u of undo) await u();
      return stored;
    } catch (e) {
      await Promise.all(undo.map((u) => u().catch(() => undefined)));
      if (e instanceof ProtocolError) throw e;
      this.logger.error({ partnerId: partner.id, err: (e as Error).message }, 'message not accepted: store failed');
      throw new ProtocolError(500, 'Internal error: nothing was accepted, retry in a minute');
    }
  }

  private async testMessagesUsed(partnerId: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message WHERE partner_id = $1 AND test', [partnerId]);
    return Number(rows[0]?.n ?? 0);
  }
}
