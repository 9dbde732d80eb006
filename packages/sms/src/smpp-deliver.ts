/**
 * What the platform's SMPP server sends a partner bound as receiver or transceiver: its delivery
 * reports and its incoming messages (MO), as `deliver_sm` (docs/protocol.md, section 10).
 */
import { formatReceiptText, MESSAGE_STATE_STAT } from './receipt';
import { buildSubmitSegments } from './smpp-segments';
import { Tag, type PduInput } from './smpp-pdu';

/** esm_class of a deliver_sm carrying an SMSC delivery receipt. */
export const ESM_CLASS_DELIVERY_RECEIPT = 0x04;

/** A deliver_sm of ours, its sequence number given when it is sent. */
export type DeliverSm = Omit<PduInput, 'sequence'>;

/** A delivery report, as the callback worker reads it (status and reason as in PROTOCOL §5). */
export interface ReportDeliverInput {
  messageId: string;
  /** 0 handed over to the operator, 2 delivered, 5 not delivered. */
  status: number;
  /** unifiedExtStatus of a status 5. */
  extStatus: number | null;
  /** The subscriber the message went to (digits, no `+`). */
  msisdn: string;
  /** The message's sender. */
  sender: string;
  submitDate: Date;
  doneDate: Date;
  /** The message's text (its first 20 characters go into the receipt), null for binary data. */
  text: string | null;
}

/** SMPP 3.4 message_state values (section 5.2.28). */
export const MessageStateCode = {
  ENROUTE: 1,
  DELIVERED: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIVERABLE: 5,
  ACCEPTED: 6,
  UNKNOWN: 7,
  REJECTED: 8,
} as const;

/**
 * The SMPP message_state of a platform status (PROTOCOL §6) and its reason: held (1) and handed
 * over (0) are ENROUTE, 2 DELIVERED, 8 (cancelled) DELETED; 5 is EXPIRED when its reason is an
 * expiry (2, or 16: validity passed before hand-over), REJECTED when the SMSC refused it (15), else
 * UNDELIVERABLE. For `query_sm_resp` and for the receipts the SMPP server sends.
 */
export function smppMessageState(status: number, extStatus: number | null): number {
  switch (status) {
    case 0:
    case 1:
      return MessageStateCode.ENROUTE;
    case 2:
      return MessageStateCode.DELIVERED;
    case 8:
      return MessageStateCode.DELETED;
    case 5:
      if (extStatus === 2 || extStatus === 16) return MessageStateCode.EXPIRED;
      if (extStatus === 15) return MessageStateCode.REJECTED;
      return MessageStateCode.UNDELIVERABLE;
    default:
      return MessageStateCode.UNKNOWN;
  }
}

/** The receipt's `stat` word (DELIVRD, EXPIRED, …) and `message_state` for a report. */
export function receiptState(status: number, extStatus: number | null): { stat: string; messageState: number } {
  const messageState = smppMessageState(status, extStatus);
  return { stat: MESSAGE_STATE_STAT[messageState] ?? 'UNKNOWN', messageState };
}

/** An alphanumeric sender is TON 5; a number, international (TON 1, ISDN). */
function addressTon(address: string): { ton: number; npi: number } {
  return /^[0-9]+$/.test(address) ? { ton: 1, npi: 1 } : { ton: 5, npi: 0 };
}

/**
 * The receipt of a report: from the subscriber to the sender (as an operator's receipt comes),
 * esm_class 0x04, the standard receipt text (`err` is the unifiedExtStatus, 000 when delivered),
 * and the TLVs `receipted_message_id` (the platform's message id, the one `submit_sm_resp`
 * gave) and `message_state`.
 */
export function buildReceiptDeliverSm(r: ReportDeliverInput): DeliverSm {
  const { stat, messageState } = receiptState(r.status, r.extStatus);
  const source = addressTon(r.msisdn);
  const destination = addressTon(r.sender);
  const text = formatReceiptText({ id: r.messageId, stat, err: r.status === 5 ? (r.extStatus ?? 1) : 0, submitDate: r.submitDate, doneDate: r.doneDate, text: r.text });
  return {
    command: 'deliver_sm',
    params: {
      source_addr_ton: source.ton,
      source_addr_npi: source.npi,
      source_addr: r.msisdn,
      dest_addr_ton: destination.ton,
      dest_addr_npi: destination.npi,
      destination_addr: r.sender,
      esm_class: ESM_CLASS_DELIVERY_RECEIPT,
      data_coding: 0,
      short_message: Buffer.from(text, 'latin1'),
    },
    tlvs: [
      { tag: Tag.receipted_message_id, value: Buffer.from(`${r.messageId}\0`, 'latin1') },
      { tag: Tag.message_state, value: Buffer.from([messageState]) },
    ],
  };
}

/** An incoming message for the partner. */
export interface MoDeliverInput {
  /** The subscriber who sent it (digits, no `+`). */
  msisdn: string;
  /** The partner's service number it was sent to. */
  serviceNumber: string;
  text: string;
  /** Concatenation reference (0..255) when the text needs several segments. */
  reference: number;
}

/**
 * An MO as deliver_sm: from the subscriber to the service number, in GSM-7 (data_coding 0) when
 * every character allows it, else UCS-2 (8). A text longer than one SMS goes as concatenated
 * segments (esm_class 0x40, UDH with an 8-bit reference), cut as the connector cuts an MT.
 */
export function buildMoDeliverSms(m: MoDeliverInput): DeliverSm[] {
  const source = addressTon(m.msisdn);
  const destination = addressTon(m.serviceNumber);
  // An empty MO (a subscriber can send one) is one empty segment.
  const segments = m.text === '' ? [{ dataCoding: 0, esmClass: 0, shortMessage: Buffer.alloc(0) }] : buildSubmitSegments(m.text, { reference: m.reference & 0xff });
  return segments.map((s) => ({
    command: 'deliver_sm',
    params: {
      source_addr_ton: source.ton,
      source_addr_npi: source.npi,
      source_addr: m.msisdn,
      dest_addr_ton: destination.ton,
      dest_addr_npi: destination.npi,
      destination_addr: m.serviceNumber,
      esm_class: s.esmClass,
      data_coding: s.dataCoding,
      short_message: s.shortMessage,
    },
  }));
}

