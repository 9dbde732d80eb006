/**
 * SMPP 3.4 PDUs: the codec of the SMPP server partners bind to.
 *
 * Every PDU is a 16-byte header (command_length, command_id, command_status, sequence_number, each
 * a big-endian 32-bit integer) and a body of mandatory parameters in a fixed order, then optional
 * TLVs (tag and length, 16 bits each, and the value). `FIELDS` lists each command's mandatory
 * parameters; `decodePdu` and `encodePdu` walk that list, so a command is one line of data.
 *
 * Nothing here trusts the peer: a length, a C-string without its NUL within the parameter's
 * maximum, a TLV running past the end, an unknown command each raise a `PduError` carrying the
 * command_status to answer (SMPP 3.4 section 5.1.3), never another kind of exception.
 */

export const COMMAND_IDS = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  query_sm: 0x00000003,
  query_sm_resp: 0x80000003,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  replace_sm: 0x00000007,
  replace_sm_resp: 0x80000007,
  cancel_sm: 0x00000008,
  cancel_sm_resp: 0x80000008,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  outbind: 0x0000000b,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
  submit_multi: 0x00000021,
  submit_multi_resp: 0x80000021,
  alert_notification: 0x00000102,
  data_sm: 0x00000103,
  data_sm_resp: 0x80000103,
} as const;

export type Command = keyof typeof COMMAND_IDS;

const COMMAND_BY_ID = new Map<number, Command>(Object.entries(COMMAND_IDS).map(([name, id]) => [id, name as Command]));

/** command_status values (SMPP 3.4, table 5-2) the server answers with. */
export const SmppStatus = {
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RINVCMDLEN: 0x02,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RINVPRTFLG: 0x06,
  ESME_RINVREGDLVFLG: 0x07,
  ESME_RSYSERR: 0x08,
  ESME_RINVSRCADR: 0x0a,
  ESME_RINVDSTADR: 0x0b,
  ESME_RINVMSGID: 0x0c,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RCANCELFAIL: 0x11,
  ESME_RREPLACEFAIL: 0x13,
  ESME_RMSGQFUL: 0x14,
  ESME_RINVSERTYP: 0x15,
  ESME_RINVESMCLASS: 0x43,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RINVSRCTON: 0x48,
  ESME_RINVSRCNPI: 0x49,
  ESME_RINVDSTTON: 0x50,
  ESME_RINVDSTNPI: 0x51,
  ESME_RINVSYSTYP: 0x53,
  ESME_RTHROTTLED: 0x58,
  ESME_RINVSCHED: 0x61,
  ESME_RINVEXPIRY: 0x62,
  ESME_RX_T_APPN: 0x64,
  ESME_RQUERYFAIL: 0x67,
  ESME_RINVOPTPARSTREAM: 0xc0,
  ESME_ROPTPARNOTALLWD: 0xc1,
  ESME_RINVPARLEN: 0xc2,
  ESME_RMISSINGOPTPARAM: 0xc3,
  ESME_RINVOPTPARAMVAL: 0xc4,
  ESME_RDELIVERYFAILURE: 0xfe,
  ESME_RUNKNOWNERR: 0xff,
} as const;

/** Optional parameter tags (SMPP 3.4, section 5.3.2) the platform reads or writes. */
export const Tag = {
  qos_time_to_live: 0x0017,
  receipted_message_id: 0x001e,
  user_message_reference: 0x0204,
  sar_msg_ref_num: 0x020c,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  sc_interface_version: 0x0210,
  network_error_code: 0x0423,
  message_payload: 0x0424,
  message_state: 0x0427,
  /**
   * The platform's own (SMPP 3.4 reserves 0x1400–0x3FFF for vendors): the partner's message id,
   * its idempotency key, as `/send`'s `partnerMsgId` (UTF-8, at most 50 characters, a trailing
   * NUL allowed).
   */
  partner_msg_id: 0x1400,
} as const;

export const HEADER_LENGTH = 16;
/**
 * Largest command_length accepted: a data_sm or submit_sm with a 64 KiB message_payload and its
 * other parameters. A longer one cannot be a PDU the platform handles, and buffering it would let a
 * peer hold memory.
 */
export const MAX_PDU_LENGTH = 70_000;

/** A PDU that cannot be read or written; `status` is the command_status to answer it with. */
export class PduError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'PduError';
  }
}

type FieldType = 'u8' | 'u16' | 'u32' | 'sm';
/** A mandatory parameter: an integer, the short_message (its length is the sm_length before it), or a C-string of at most `max` octets including the NUL. */
type Field = readonly [name: string, type: FieldType | number, invalid?: number];

const S = SmppStatus;
const SERVICE_TYPE: Field = ['service_type', 6, S.ESME_RINVSERTYP];
const source = (max: number): Field[] => [['source_addr_ton', 'u8'], ['source_addr_npi', 'u8'], ['source_addr', max, S.ESME_RINVSRCADR]];
const dest = (max: number): Field[] => [['dest_addr_ton', 'u8'], ['dest_addr_npi', 'u8'], ['destination_addr', max, S.ESME_RINVDSTADR]];
const BIND: Field[] = [
  ['system_id', 16, S.ESME_RINVSYSID],
  ['password', 9, S.ESME_RINVPASWD],
  ['system_type', 13, S.ESME_RINVSYSTYP],
  ['interface_version', 'u8'],
  ['addr_ton', 'u8'],
  ['addr_npi', 'u8'],
  ['address_range', 41],
];
const SHORT_MESSAGE: Field[] = [
  SERVICE_TYPE,
  ...source(21),
  ...dest(21),
  ['esm_class', 'u8'],
  ['protocol_id', 'u8'],
  ['priority_flag', 'u8'],
  ['schedule_delivery_time', 17, S.ESME_RINVSCHED],
  ['validity_period', 17, S.ESME_RINVEXPIRY],
  ['registered_delivery', 'u8'],
  ['replace_if_present_flag', 'u8'],
  ['data_coding', 'u8'],
  ['sm_default_msg_id', 'u8'],
  ['short_message', 'sm', S.ESME_RINVMSGLEN],
];
const MESSAGE_ID: Field = ['message_id', 65, S.ESME_RINVMSGID];

/**
 * Mandatory parameters by command. A response with a non-zero command_status may come without its
 * body (SMPP 3.4 leaves it out of submit_sm_resp, for one): decoding then leaves the fields unset.
 */
export const FIELDS: Record<Command, readonly Field[]> = {
  generic_nack: [],
  bind_receiver: BIND,
  bind_transmitter: BIND,
  bind_transceiver: BIND,
  bind_receiver_resp: [['system_id', 16]],
  bind_transmitter_resp: [['system_id', 16]],
  bind_transceiver_resp: [['system_id', 16]],
  outbind: [['system_id', 16], ['password', 9]],
  unbind: [],
  unbind_resp: [],
  enquire_link: [],
  enquire_link_resp: [],
  submit_sm: SHORT_MESSAGE,
  deliver_sm: SHORT_MESSAGE,
  submit_sm_resp: [MESSAGE_ID],
  deliver_sm_resp: [MESSAGE_ID],
  data_sm: [SERVICE_TYPE, ...source(65), ...dest(65), ['esm_class', 'u8'], ['registered_delivery', 'u8'], ['data_coding', 'u8']],
  data_sm_resp: [MESSAGE_ID],
  query_sm: [MESSAGE_ID, ...source(21)],
  query_sm_resp: [MESSAGE_ID, ['final_date', 17], ['message_state', 'u8'], ['error_code', 'u8']],
  cancel_sm: [SERVICE_TYPE, MESSAGE_ID, ...source(21), ...dest(21)],
  cancel_sm_resp: [],
  replace_sm: [MESSAGE_ID, ...source(21), ['schedule_delivery_time', 17, S.ESME_RINVSCHED], ['validity_period', 17, S.ESME_RINVEXPIRY], ['registered_delivery', 'u8'], ['sm_default_msg_id', 'u8'], ['short_message', 'sm', S.ESME_RINVMSGLEN]],
  replace_sm_resp: [],
  // Not taken by the server: decoded as far as the header, answered generic_nack or a refusal.
  submit_multi: [],
  submit_multi_resp: [],
  alert_notification: [],
};

export type ParamValue = number | string | Buffer;

export interface Tlv {
  tag: number;
  value: Buffer;
}

export interface Pdu {
  command: Command;
  status: number;
  sequence: number;
  /** Mandatory parameters by name: integers as numbers, C-strings as strings (Latin-1), short_message as bytes. */
  params: Record<string, ParamValue>;
  /** Optional parameters in the order they came. */
  tlvs: Tlv[];
}

/** Reads one PDU (header included) from `buf`, which holds exactly command_length octets. */
export function decodePdu(buf: Buffer): Pdu {
  if (buf.length < HEADER_LENGTH) throw new PduError(S.ESME_RINVCMDLEN, `a PDU is at least ${HEADER_LENGTH} octets, got ${buf.length}`);
  const length = buf.readUInt32BE(0);
  if (length !== buf.length) throw new PduError(S.ESME_RINVCMDLEN, `command_length ${length} but ${buf.length} octets`);
  const id = buf.readUInt32BE(4);
  const command = COMMAND_BY_ID.get(id);
  if (!command) throw new PduError(S.ESME_RINVCMDID, `unknown command_id 0x${id.toString(16).padStart(8, '0')}`);
  const status = buf.readUInt32BE(8);
  const sequence = buf.readUInt32BE(12);
  const params: Record<string, ParamValue> = {};
  let at = HEADER_LENGTH;
  const fields = FIELDS[command];
  // A response may end after its header: SMPP 3.4 leaves the body out of a refused submit_sm_resp,
  // and many clients answer deliver_sm with no message_id at all.
  const bodyless = at === length && command.endsWith('_resp');
  if (!bodyless) {
    for (const [name, type, invalid] of fields) {
      const bad = invalid ?? S.ESME_RINVPARLEN;
      if (typeof type === 'number') {
        const end = buf.indexOf(0, at);
        if (end < 0 || end >= length) throw new PduError(S.ESME_RINVCMDLEN, `${command}: ${name} runs past the end of the PDU`);
        if (end - at >= type) throw new PduError(bad, `${command}: ${name} is longer than ${type - 1} octets`);
        params[name] = buf.toString('latin1', at, end);
        at = end + 1;
      } else if (type === 'sm') {
        const n = params.sm_length === undefined ? -1 : (params.sm_length as number);
        if (n < 0 || at + n > length) throw new PduError(bad, `${command}: short_message of ${n} octets runs past the end of the PDU`);
        params[name] = Buffer.from(buf.subarray(at, at + n));
        at += n;
      } else {
        const size = type === 'u8' ? 1 : type === 'u16' ? 2 : 4;
        if (at + size > length) throw new PduError(S.ESME_RINVCMDLEN, `${command}: ${name} runs past the end of the PDU`);
        params[name] = type === 'u8' ? buf[at]! : type === 'u16' ? buf.readUInt16BE(at) : buf.readUInt32BE(at);
        at += size;
      }
      // short_message's length comes right before it, as its own field.
      if (name === 'sm_default_msg_id') {
        if (at + 1 > length) throw new PduError(S.ESME_RINVCMDLEN, `${command}: sm_length runs past the end of the PDU`);
        params.sm_length = buf[at]!;
        at += 1;
      }
    }
  }
  const tlvs: Tlv[] = [];
  while (at < length) {
    if (at + 4 > length) throw new PduError(S.ESME_RINVOPTPARSTREAM, `${command}: ${length - at} octets after the last parameter are not a TLV`);
    const tag = buf.readUInt16BE(at);
    const n = buf.readUInt16BE(at + 2);
    if (at + 4 + n > length) throw new PduError(S.ESME_RINVPARLEN, `${command}: TLV 0x${tag.toString(16).padStart(4, '0')} of ${n} octets runs past the end of the PDU`);
    tlvs.push({ tag, value: Buffer.from(buf.subarray(at + 4, at + 4 + n)) });
    at += 4 + n;
  }
  return { command, status, sequence, params, tlvs };
}

export interface PduInput {
  command: Command;
  sequence: number;
  status?: number;
  params?: Record<string, ParamValue | undefined>;
  tlvs?: readonly Tlv[];
}

/**
 * Writes a PDU. Missing parameters are 0 or empty; a C-string longer than its parameter allows
 * (or containing a NUL) is refused rather than cut, since a cut message id or address would point
 * elsewhere. short_message's sm_length is computed.
 */
export function encodePdu(pdu: PduInput): Buffer {
  const fields = FIELDS[pdu.command];
  if (!fields) throw new PduError(S.ESME_RINVCMDID, `unknown command ${String(pdu.command)}`);
  const params = pdu.params ?? {};
  const status = pdu.status ?? 0;
  // A refused response goes without its body, as SMPP 3.4 specifies for submit_sm_resp and
  // clients accept for the others.
  const withBody = !(status !== 0 && pdu.command.endsWith('_resp')) || Object.keys(params).length > 0;
  const values: (Buffer | number)[] = [];
  let length = HEADER_LENGTH;
  if (withBody) {
    for (const [name, type, invalid] of fields) {
      const v = params[name];
      if (typeof type === 'number') {
        const bytes = v === undefined ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'latin1');
        if (bytes.length >= type || bytes.includes(0)) throw new PduError(invalid ?? S.ESME_RSYSERR, `${pdu.command}: ${name} does not fit in ${type - 1} octets without a NUL`);
        values.push(bytes);
        length += bytes.length + 1;
      } else if (type === 'sm') {
        const bytes = v === undefined ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'latin1');
        if (bytes.length > 254) throw new PduError(S.ESME_RINVMSGLEN, `${pdu.command}: short_message of ${bytes.length} octets (254 at most; use message_payload)`);
        values.push(bytes);
        length += bytes.length;
      } else {
        values.push(typeof v === 'number' ? v : 0);
        length += type === 'u8' ? 1 : type === 'u16' ? 2 : 4;
      }
      if (name === 'sm_default_msg_id') length += 1;
    }
  }
  for (const t of pdu.tlvs ?? []) {
    if (t.value.length > 0xffff) throw new PduError(S.ESME_RINVPARLEN, `${pdu.command}: TLV 0x${t.tag.toString(16)} of ${t.value.length} octets`);
    length += 4 + t.value.length;
  }
  const out = Buffer.allocUnsafe(length);
  out.writeUInt32BE(length, 0);
  out.writeUInt32BE(COMMAND_IDS[pdu.command], 4);
  out.writeUInt32BE(status >>> 0, 8);
  out.writeUInt32BE(pdu.sequence >>> 0, 12);
  let at = HEADER_LENGTH;
  if (withBody) {
    fields.forEach(([name, type], i) => {
      const v = values[i]!;
      if (typeof type === 'number') {
        at += (v as Buffer).copy(out, at);
        out[at++] = 0;
      } else if (type === 'sm') {
        at += (v as Buffer).copy(out, at);
      } else if (type === 'u8') {
        out[at++] = (v as number) & 0xff;
      } else if (type === 'u16') {
        out.writeUInt16BE((v as number) & 0xffff, at);
        at += 2;
      } else {
        out.writeUInt32BE((v as number) >>> 0, at);
        at += 4;
      }
      if (name === 'sm_default_msg_id') {
        const sm = values[i + 1] as Buffer;
        out[at++] = sm.length;
      }
    });
  }
  for (const t of pdu.tlvs ?? []) {
    out.writeUInt16BE(t.tag, at);
    out.writeUInt16BE(t.value.length, at + 2);
    at += 4 + t.value.copy(out, at + 4);
  }
  return out;
}

/** The response's command for a request (`submit_sm` → `submit_sm_resp`), or null when it has none. */
export function responseCommand(command: Command): Command | null {
  const id = COMMAND_IDS[command];
  if (id & 0x80000000) return null;
  return COMMAND_BY_ID.get((id | 0x80000000) >>> 0) ?? null;
}

/** The value of the first TLV with `tag`, or undefined. */
export function tlvValue(pdu: Pdu, tag: number): Buffer | undefined {
  for (const t of pdu.tlvs) if (t.tag === tag) return t.value;
  return undefined;
}

/**
 * Splits a TCP byte stream into PDUs. `push` takes each chunk as it arrives and returns the
 * complete PDUs it finished (each a Buffer of exactly command_length octets). A command_length
 * below 16 or above `maxLength` cannot be skipped safely, since the next PDU's start is unknown:
 * it raises a `PduError` (ESME_RINVCMDLEN), after which the connection should be closed.
 */
export class PduFramer {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(private readonly maxLength = MAX_PDU_LENGTH) {}

  /** Octets received and not yet part of a complete PDU. */
  get buffered(): number {
    return this.pendingLength;
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let buf = this.pendingLength === 0 ? chunk : Buffer.concat([...this.pending, chunk], this.pendingLength + chunk.length);
    this.pending = [];
    this.pendingLength = 0;
    let at = 0;
    while (buf.length - at >= 4) {
      const length = buf.readUInt32BE(at);
      if (length < HEADER_LENGTH || length > this.maxLength) {
        throw new PduError(SmppStatus.ESME_RINVCMDLEN, `command_length ${length} outside ${HEADER_LENGTH}..${this.maxLength}`);
      }
      if (buf.length - at < length) break;
      out.push(buf.subarray(at, at + length));
      at += length;
    }
    if (at < buf.length) {
      buf = buf.subarray(at);
      // Keep a copy: the chunk's memory may be reused by the caller.
      this.pending = [Buffer.from(buf)];
      this.pendingLength = buf.length;
    }
    return out;
  }
}
