import { decodeGsm7Unpacked, decodeLatin1, decodeUcs2 } from '@smsgw/sms';
import { PduBodyReader } from './pdu-reader';
import { ESM_CLASS_UDHI, Tlv } from './protocol';

/** The mandatory parameters and TLVs of a submit_sm exactly as sent (SMPP 3.4 section 4.4.1). */
export interface SubmitSm {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
  tlvs: Array<{ tag: number; value: Buffer }>;
}

/** Throws MalformedPduError when the body does not hold a whole submit_sm. */
export function parseSubmitSm(frame: Buffer): SubmitSm {
  const r = new PduBodyReader(frame);
  return {
    serviceType: r.cstring(),
    sourceAddrTon: r.u8(),
    sourceAddrNpi: r.u8(),
    sourceAddr: r.cstring(),
    destAddrTon: r.u8(),
    destAddrNpi: r.u8(),
    destinationAddr: r.cstring(),
    esmClass: r.u8(),
    protocolId: r.u8(),
    priorityFlag: r.u8(),
    scheduleDeliveryTime: r.cstring(),
    validityPeriod: r.cstring(),
    registeredDelivery: r.u8(),
    replaceIfPresentFlag: r.u8(),
    dataCoding: r.u8(),
    smDefaultMsgId: r.u8(),
    shortMessage: r.octets(r.u8()),
    tlvs: r.tlvs(),
  };
}

export type ConcatScheme = 'udh8' | 'udh16' | 'sar';

export interface Concatenation {
  scheme: ConcatScheme;
  reference: number;
  total: number;
  seq: number;
}

/** What a submit_sm's bytes mean to a handset. */
export interface MessageContent {
  /** short_message, or message_payload when short_message is empty. */
  payload: Buffer;
  /** The user data header including its length octet, when esm_class announces one. */
  udh: Buffer | null;
  body: Buffer;
  /** Null for binary or unsupported data codings. */
  text: string | null;
  concat: Concatenation | null;
  /** The SAR TLVs, when any of them is present (a missing one reads as 0). */
  sar: { msgRefNum: number; totalSegments: number; segmentSeqnum: number } | null;
  /** GSM message class from data_coding; class 0 is a flash SMS. */
  messageClass: number | null;
  destAddrSubunit: number | null;
  flash: boolean;
}

type Alphabet = 'gsm7' | 'ascii' | 'latin1' | 'ucs2' | 'binary';

/**
 * data_coding 0x00-0x0F follow SMPP's own table; higher values are GSM 03.38 data coding
 * schemes, which can also carry a message class (0x10 = GSM-7 class 0, 0x18 = UCS-2 class 0).
 */
export function interpretDataCoding(dc: number): { alphabet: Alphabet; messageClass: number | null } {
  if (dc < 0x10) {
    const smpp: Record<number, Alphabet> = { 0x00: 'gsm7', 0x01: 'ascii', 0x03: 'latin1', 0x08: 'ucs2' };
    return { alphabet: smpp[dc] ?? 'binary', messageClass: null };
  }
  const byBits = (bits: number): Alphabet => (bits === 0 ? 'gsm7' : bits === 2 ? 'ucs2' : 'binary');
  if (dc < 0x80) {
    // General data coding groups 00xx and 01xx: bit 5 compressed, bit 4 class present.
    if (dc & 0x20) return { alphabet: 'binary', messageClass: dc & 0x10 ? dc & 0x03 : null };
    return { alphabet: byBits((dc >> 2) & 0x03), messageClass: dc & 0x10 ? dc & 0x03 : null };
  }
  if (dc >= 0xf0) return { alphabet: dc & 0x04 ? 'binary' : 'gsm7', messageClass: dc & 0x03 };
  if (dc >= 0xc0) return { alphabet: dc >= 0xe0 ? 'ucs2' : 'gsm7', messageClass: null };
  return { alphabet: 'binary', messageClass: null };
}

function decodeText(alphabet: Alphabet, body: Buffer): string | null {
  switch (alphabet) {
    case 'gsm7':
      return decodeGsm7Unpacked(body);
    case 'ucs2':
      return decodeUcs2(body);
    case 'latin1':
    case 'ascii':
      return decodeLatin1(body);
    case 'binary':
      return null;
  }
}

function concatFromUdh(udh: Buffer): Concatenation | null {
  let i = 1;
  while (i + 2 <= udh.length) {
    const iei = udh[i];
    const length = udh[i + 1];
    const data = udh.subarray(i + 2, i + 2 + length);
    if (iei === 0x00 && data.length === 3) return { scheme: 'udh8', reference: data[0], total: data[1], seq: data[2] };
    if (iei === 0x08 && data.length === 4) {
      return { scheme: 'udh16', reference: data.readUInt16BE(0), total: data[2], seq: data[3] };
    }
    i += 2 + length;
  }
  return null;
}

function tlvNumber(sm: SubmitSm, tag: number): number | null {
  const tlv = sm.tlvs.find((t) => t.tag === tag);
  if (!tlv || tlv.value.length === 0 || tlv.value.length > 4) return null;
  return tlv.value.readUIntBE(0, tlv.value.length);
}

export function describeContent(sm: SubmitSm): MessageContent {
  const payloadTlv = sm.tlvs.find((t) => t.tag === Tlv.message_payload);
  const payload = sm.shortMessage.length === 0 && payloadTlv ? payloadTlv.value : sm.shortMessage;

  let udh: Buffer | null = null;
  let body = payload;
  if (sm.esmClass & ESM_CLASS_UDHI && payload.length > 0) {
    const end = Math.min(payload.length, payload[0] + 1);
    udh = payload.subarray(0, end);
    body = payload.subarray(end);
  }

  const { alphabet, messageClass } = interpretDataCoding(sm.dataCoding);
  const sarRef = tlvNumber(sm, Tlv.sar_msg_ref_num);
  const sarTotal = tlvNumber(sm, Tlv.sar_total_segments);
  const sarSeq = tlvNumber(sm, Tlv.sar_segment_seqnum);
  const sar =
    sarRef !== null || sarTotal !== null || sarSeq !== null
      ? { msgRefNum: sarRef ?? 0, totalSegments: sarTotal ?? 0, segmentSeqnum: sarSeq ?? 0 }
      : null;
  const concat =
    (udh && concatFromUdh(udh)) ??
    (sarRef !== null && sarTotal !== null && sarSeq !== null
      ? { scheme: 'sar' as const, reference: sarRef, total: sarTotal, seq: sarSeq }
      : null);
  const destAddrSubunit = tlvNumber(sm, Tlv.dest_addr_subunit);

  return {
    payload,
    udh,
    body,
    text: decodeText(alphabet, body),
    concat,
    sar,
    messageClass,
    destAddrSubunit,
    // dest_addr_subunit 1 is "MS display", SMPP's way to ask for class 0.
    flash: messageClass === 0 || destAddrSubunit === 1,
  };
}
