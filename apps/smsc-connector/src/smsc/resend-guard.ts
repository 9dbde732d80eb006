import type { PDU } from 'smpp';

/**
 * What an SMSC resends after a link loss. A deliver_sm answered OK in the last moments of a
 * session that then broke may have lost its answer on the way; the SMSC, not knowing, sends the same
 * PDU again on the next bind. Its record is already in the inbound journal: stored again, an MO
 * would reach the partner twice. SMPP gives a resend nothing to tell it from the subscriber sending
 * the same text again, so only the deliver_sm answered within `unconfirmedMs` of the loss are
 * expected back, each once, for `matchMs` after it (the SMSC resends on its next bind, or after its
 * own retry delay).
 */
export class ResendGuard {
  /** Fingerprint → copies expected back, and until when. */
  private readonly expected = new Map<string, { count: number; until: number }>();

  constructor(readonly matchMs: number) {}

  /** The deliver_sm whose OK answer the SMSC may not have had. */
  expect(pdus: PDU[], now = Date.now()): void {
    for (const pdu of pdus) {
      const key = fingerprint(pdu);
      const count = (this.expected.get(key)?.count ?? 0) + 1;
      // Deleted first so that the map stays in expiry order.
      this.expected.delete(key);
      this.expected.set(key, { count, until: now + this.matchMs });
    }
  }

  /** True (once per copy expected): this deliver_sm is the resend of one answered OK already. */
  isResend(pdu: PDU, now = Date.now()): boolean {
    if (this.expected.size === 0) return false;
    for (const [key, e] of this.expected) {
      if (e.until >= now) break; // oldest first; the rest are younger
      this.expected.delete(key);
    }
    const key = fingerprint(pdu);
    const e = this.expected.get(key);
    if (!e || e.until < now) return false;
    if (--e.count === 0) this.expected.delete(key);
    return true;
  }

  get size(): number {
    return this.expected.size;
  }
}

/** Every field of a deliver_sm that an SMSC's resend repeats and a different message would not. */
function fingerprint(pdu: PDU): string {
  return JSON.stringify([
    pdu.source_addr,
    pdu.destination_addr,
    pdu.esm_class,
    pdu.data_coding,
    pdu.short_message,
    pdu.message_payload,
    pdu.receipted_message_id,
    pdu.message_state,
    pdu.sar_msg_ref_num,
    pdu.sar_total_segments,
    pdu.sar_segment_seqnum,
  ]);
}
