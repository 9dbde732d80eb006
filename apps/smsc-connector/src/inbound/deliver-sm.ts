import type { PDU } from 'smpp';
import type { DeliverSmReceiptInput, MoPduInput, SmppMessageField } from '@smsgw/sms';

/** The fields of a deliver_sm the connector reads, typed (the `smpp` package hands out `unknown`). */
export interface DeliverSm extends DeliverSmReceiptInput, MoPduInput {
  esm_class: number;
  sourceAddr: string;
  destinationAddr: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
// Not `instanceof Uint8Array`: that fails for Buffers across realms (jest's sandbox).
const isBytes = (v: unknown): v is Uint8Array => ArrayBuffer.isView(v) && !(v instanceof DataView);
const bytes = (v: unknown): Uint8Array | undefined => (isBytes(v) ? v : undefined);

function messageField(v: unknown): SmppMessageField | undefined {
  if (typeof v === 'string' || isBytes(v)) return v;
  if (v !== null && typeof v === 'object') return v as SmppMessageField;
  return undefined;
}

export function readDeliverSm(pdu: PDU): DeliverSm {
  return {
    esm_class: num(pdu.esm_class) ?? 0,
    data_coding: num(pdu.data_coding),
    short_message: messageField(pdu.short_message),
    message_payload: messageField(pdu.message_payload),
    receipted_message_id: str(pdu.receipted_message_id),
    message_state: num(pdu.message_state),
    network_error_code: bytes(pdu.network_error_code),
    sar_msg_ref_num: num(pdu.sar_msg_ref_num),
    sar_total_segments: num(pdu.sar_total_segments),
    sar_segment_seqnum: num(pdu.sar_segment_seqnum),
    sourceAddr: str(pdu.source_addr) ?? '',
    destinationAddr: str(pdu.destination_addr) ?? '',
    // The same, under the names receiptFromDeliverSm reads (a receipt's subscriber and our sender).
    source_addr: str(pdu.source_addr),
    destination_addr: str(pdu.destination_addr),
  };
}
