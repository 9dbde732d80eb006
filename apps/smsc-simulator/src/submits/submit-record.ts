import type { ReceiptStat } from '../config';
import type { Concatenation } from '../smpp/submit-sm';

/** The receipt the simulator decided on for a submit, if any. */
export interface PlannedReceipt {
  stat: ReceiptStat;
  err: number;
  delayMs: number;
}

/** One accepted submit_sm as recorded for inspection (`GET /submits`). Binary fields are hex. */
export interface SubmitRecord {
  /** As in submit_sm_resp and the receipt's receipted_message_id TLV. */
  messageId: string;
  /** As in the receipt text's `id:` field (differs from messageId with idFormat `mixed`). */
  receiptId: string;
  systemId: string;
  sessionId: number;
  receivedAt: string;
  serviceType: string;
  sourceAddr: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  destinationAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  dataCoding: number;
  shortMessage: string;
  /** Set when the content came in the message_payload TLV. */
  messagePayload: string | null;
  /** Including its length octet. */
  udh: string | null;
  /** Decoded text of the message body (after the UDH); null for binary data codings. */
  text: string | null;
  concat: Concatenation | null;
  sar: { msgRefNum: number; totalSegments: number; segmentSeqnum: number } | null;
  messageClass: number | null;
  destAddrSubunit: number | null;
  flash: boolean;
  /** Every TLV as sent, tag as `0x020c`. */
  tlvs: Array<{ tag: string; value: string }>;
  receipt: PlannedReceipt | null;
}
