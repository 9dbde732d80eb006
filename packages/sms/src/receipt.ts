/**
 * SMPP delivery receipts and submit errors, mapped onto the partner statuses of PROTOCOL §4
 * (status 2 delivered, 5 not delivered + unifiedExtStatus, 0 handed over, not final yet).
 */
import { readMessageField, type SmppMessageField } from './mo';

// ---------------------------------------------------------------------------------------------
// Receipt text
// ---------------------------------------------------------------------------------------------

/**
 * The fields of a receipt text, as far as present. Values are trimmed; `stat` is upper-cased.
 * Dates are read as UTC (SMPP receipts carry no zone; pass the SMSC's offset if it is not UTC).
 */
export interface DeliveryReceipt {
  id?: string;
  sub?: string;
  dlvrd?: string;
  submitDate?: Date;
  doneDate?: Date;
  stat?: string;
  err?: string;
  text?: string;
}

// Keys at the start or after white space. `submit date` is also seen as `submit_date`, `submitdate`,
// `submit-date`, and as `submit§date` when a library decoded the ASCII text as GSM 03.38 (0x5F is
// `§` there). `text` runs to the end: nothing after it is read as a key.
const KEY = /(?:^|(?<=[\s,;]))(id|sub|dlvrd|submit[\s_§-]*date|done[\s_§-]*date|stat|err|text)\s*:/gi;

type KeyName = 'id' | 'sub' | 'dlvrd' | 'submitDate' | 'doneDate' | 'stat' | 'err' | 'text';

function keyName(raw: string): KeyName {
  const k = raw.toLowerCase();
  if (k.startsWith('submit')) return 'submitDate';
  if (k.startsWith('done')) return 'doneDate';
  return k as KeyName;
}

/**
 * `YYMMDDhhmm`, `YYMMDDhhmmss` or `YYYYMMDDhhmmss` (white space ignored) as a Date, read in UTC
 * shifted by `offsetMinutes` (the SMSC clock's offset from UTC: +180 for a Moscow-time SMSC).
 * Two-digit years are 20YY. Undefined when malformed or not a real calendar time.
 */
export function parseReceiptDate(s: string, offsetMinutes = 0): Date | undefined {
  const d = s.replace(/\s+/g, '');
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(d);
  if (m === null || (m[1].length === 4 && m[6] === undefined)) return undefined;
  if (d.length !== 10 && d.length !== 12 && d.length !== 14) return undefined;
  const year = m[1].length === 2 ? 2000 + Number(m[1]) : Number(m[1]);
  const [month, day, hour, minute] = [m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) return undefined; // 31 April and the like
  return new Date(ms - offsetMinutes * 60_000);
}

/**
 * Parses the de-facto standard receipt text (SMPP 3.4 Appendix B)
 * `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...`.
 * Keys are case-insensitive, in any order, with any spacing; missing fields stay undefined; the
 * first occurrence of a key wins. Null when the text has neither an `id` nor a `stat`.
 */
export function parseReceiptText(text: string, offsetMinutes = 0): DeliveryReceipt | null {
  const found: Array<{ name: KeyName; keyStart: number; valueStart: number }> = [];
  for (const m of text.matchAll(KEY)) {
    const name = keyName(m[1]);
    found.push({ name, keyStart: m.index ?? 0, valueStart: (m.index ?? 0) + m[0].length });
    if (name === 'text') break;
  }
  const receipt: DeliveryReceipt = {};
  const seen = new Set<KeyName>();
  found.forEach(({ name, valueStart }, i) => {
    if (seen.has(name)) return;
    seen.add(name);
    const end = name === 'text' || i + 1 === found.length ? text.length : found[i + 1].keyStart;
    const value = text.slice(valueStart, end).trim();
    switch (name) {
      case 'submitDate':
      case 'doneDate': {
        const date = parseReceiptDate(value, offsetMinutes);
        if (date !== undefined) receipt[name] = date;
        break;
      }
      case 'stat':
        if (value !== '') receipt.stat = value.toUpperCase();
        break;
      case 'text':
        receipt.text = value;
        break;
      default:
        if (value !== '') receipt[name] = value;
    }
  });
  return receipt.id === undefined && receipt.stat === undefined ? null : receipt;
}

// ---------------------------------------------------------------------------------------------
// deliver_sm → receipt
// ---------------------------------------------------------------------------------------------

/** `stat` word for each SMPP `message_state` value (0 and 9 are SMPP 5.0). */
export const MESSAGE_STATE_STAT: Readonly<Record<number, string>> = {
  0: 'SCHEDULED',
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
  9: 'SKIPPED',
};

/** network_error_code network type of GSM, whose error codes are MAP errors. */
export const NETWORK_TYPE_GSM = 3;

/**
 * The fields of a deliver_sm this module reads, named as the `smpp` package names them.
 * `network_error_code` is the TLV's 3 octets: network type, then a 16-bit error code.
 */
export interface DeliverSmReceiptInput {
  esm_class: number;
  /** The subscriber the receipt is about (our MT's destination). */
  source_addr?: string;
  /** Our MT's sender, as the SMSC echoes it. */
  destination_addr?: string;
  data_coding?: number;
  short_message?: SmppMessageField;
  message_payload?: SmppMessageField;
  receipted_message_id?: string;
  message_state?: number;
  network_error_code?: Uint8Array;
}

export interface ReceiptInfo {
  /** The SMSC's id of the submitted segment, as the receipt wrote it (see `smscIdCandidates`). */
  smscMessageId: string;
  /** Upper-case state word (`DELIVRD`, `UNDELIV`, ...); feed it to `mapReceiptState`. */
  stat: string;
  /** Error code as a string (`000`, `027`), or null when the receipt has none. */
  err: string | null;
  /** The receipt's `done date`, when present and valid. */
  doneAt?: Date;
  // What the receipt says about the message itself: read only when its id matches no segment
  // (content matching after a crash, see the connector's ParkedReceiptMatcher).
  /** The deliver_sm's source_addr, when not empty: the subscriber, as the SMSC wrote the number. */
  msisdn?: string;
  /** The deliver_sm's destination_addr, when not empty: our MT's sender, as the SMSC echoes it. */
  sender?: string;
  /** The receipt's `submit date`, when present and valid (minute resolution in most receipts). */
  submitDate?: Date;
  /** The receipt's `text:` excerpt, when not empty: most SMSCs give the segment's first 20 characters. */
  text?: string;
}

export interface ReceiptOptions {
  /** Also read a deliver_sm whose esm_class says "normal message" as a receipt when it yields an id and a state (some SMSCs do not flag receipts). */
  acceptUnflagged?: boolean;
  /** Offset of the SMSC's clock from UTC in minutes, for the receipt's dates. */
  dateOffsetMinutes?: number;
}

/**
 * esm_class message type (bits 5-2) of a receipt: 0x04 SMSC delivery receipt, 0x08 SME delivery
 * acknowledgement, 0x20 intermediate delivery notification.
 */
export function isReceiptEsmClass(esmClass: number): boolean {
  const type = esmClass & 0x3c;
  return type === 0x04 || type === 0x08 || type === 0x20;
}

/**
 * The receipt in a deliver_sm, or null when it is not one (an MO) or lacks an id or a state.
 * TLVs win over the text: `receipted_message_id` over `id:`, `message_state` over `stat:`, and
 * `network_error_code` over `err:` when its network type is GSM or the text has no `err:`.
 * The text is short_message, or message_payload when short_message is empty; raw bytes are read
 * as ASCII/Latin-1 whatever the data_coding, except UCS-2.
 */
export function receiptFromDeliverSm(pdu: DeliverSmReceiptInput, options: ReceiptOptions = {}): ReceiptInfo | null {
  const flagged = isReceiptEsmClass(pdu.esm_class);
  if (!flagged && (options.acceptUnflagged !== true || (pdu.esm_class & 0x3c) !== 0)) return null;

  const dc = pdu.data_coding ?? 0;
  const textCoding = (dc & 0xff) === 0x08 ? 0x08 : 0x03; // receipts are ASCII even under data_coding 0
  const sm = readMessageField(pdu.short_message, textCoding, 0).text;
  const body = sm === '' && pdu.message_payload !== undefined ? readMessageField(pdu.message_payload, textCoding, 0).text : sm;
  const parsed = parseReceiptText(body, options.dateOffsetMinutes ?? 0) ?? {};

  const tlvId = pdu.receipted_message_id?.replace(/\0+$/, '').trim();
  const smscMessageId = tlvId !== undefined && tlvId !== '' ? tlvId : parsed.id;
  const tlvStat = pdu.message_state === undefined ? undefined : MESSAGE_STATE_STAT[pdu.message_state];
  const stat = tlvStat ?? parsed.stat;
  if (smscMessageId === undefined || stat === undefined) return null;

  let err: string | null = parsed.err ?? null;
  const nec = pdu.network_error_code;
  if (nec !== undefined && nec.length >= 3 && (nec[0] === NETWORK_TYPE_GSM || err === null)) {
    err = String((nec[1] << 8) | nec[2]).padStart(3, '0');
  }
  const info: ReceiptInfo = { smscMessageId, stat, err };
  if (parsed.doneDate !== undefined) info.doneAt = parsed.doneDate;
  const msisdn = pdu.source_addr?.trim();
  if (msisdn) info.msisdn = msisdn;
  const sender = pdu.destination_addr?.trim();
  if (sender) info.sender = sender;
  if (parsed.submitDate !== undefined) info.submitDate = parsed.submitDate;
  if (parsed.text) info.text = parsed.text;
  return info;
}

// ---------------------------------------------------------------------------------------------
// SMSC message ids
// ---------------------------------------------------------------------------------------------

const canonical = (id: string): string => {
  const s = id.replace(/\0+$/, '').trim().toLowerCase();
  return s.replace(/^0+(?=.)/, '');
};

/**
 * The form under which an SMSC message id (from submit_sm_resp) is stored: trimmed, lower-case,
 * without leading zeros (`"0000123"` → `"123"`, `"7B"` → `"7b"`, `"000"` → `"0"`).
 */
export function normalizeSmscId(id: string): string {
  return canonical(id);
}

/**
 * The stored forms (see `normalizeSmscId`) a receipt's id may match, most likely first:
 * 1. the id itself, normalised (same format on both sides);
 * 2. if it is all decimal digits: the same number in lower-case hex (the response carried hex,
 *    the receipt decimal: Kannel's `msg-id-type` 1, the most common mix);
 * 3. if it is all hex digits: the same number in decimal (the response carried decimal, the
 *    receipt hex: `msg-id-type` 2).
 * Duplicates are dropped; an empty id has no candidates. Numbers of any length (BigInt).
 *
 * So `normalizeSmscId(resp)` is among `smscIdCandidates(receipt)` whenever both sides carry the
 * same number in decimal or hex, with or without leading zeros, in any case. An all-digit id is
 * also valid hex, so it yields both conversions; when several stored ids match (possible only
 * within one SMSC whose ids mix formats), take the one matching the earliest candidate.
 */
export function smscIdCandidates(id: string): string[] {
  const base = canonical(id);
  if (base === '') return [];
  const out = [base];
  if (/^[0-9]+$/.test(base)) out.push(BigInt(base).toString(16));
  if (/^[0-9a-f]+$/.test(base)) out.push(BigInt('0x' + base).toString(10));
  return [...new Set(out)];
}

// ---------------------------------------------------------------------------------------------
// Receipt state → partner status
// ---------------------------------------------------------------------------------------------

export interface MappedStatus {
  /** 2 delivered, 5 not delivered, 0 handed to the operator and not final yet. */
  status: 2 | 5 | 0;
  /** unifiedExtStatus for status 5, else null. */
  extStatus: number | null;
  final: boolean;
}

/**
 * GSM MAP error codes (as sent in `err:` and in a GSM network_error_code) → unifiedExtStatus of
 * an undelivered message. Codes not listed map to 1 (unknown error).
 */
export const MAP_ERROR_EXT_STATUS: ReadonlyMap<number, number> = new Map([
  [1, 8], // unknownSubscriber → invalid number
  [5, 8], // unidentifiedSubscriber → invalid number
  [6, 2], // absentSubscriberSM → handset off / out of coverage
  [9, 3], // illegalSubscriber → blocked or barred
  [10, 6], // bearerServiceNotProvisioned → no SMS service
  [11, 6], // teleserviceNotProvisioned → no SMS service
  [12, 3], // illegalEquipment → blocked or barred
  [13, 3], // callBarred → blocked or barred
  [21, 6], // facilityNotSupported → no SMS service
  [27, 2], // absentSubscriber → handset off / out of coverage
  [31, 7], // subscriberBusyForMT-SMS → network not responding
  [32, 4], // sm-DeliveryFailure → transport error
  [33, 5], // memory capacity exceeded (message waiting list full) → memory full
  [34, 7], // systemFailure → network not responding
  [36, 1], // unexpectedDataValue → unknown error
]);

/** Error code of an `err:` value: decimal digits (`027`), or hex (`0x1B`, or digits with a-f: `01B`). */
export function parseReceiptErr(err: string | undefined | null): number | undefined {
  if (err === undefined || err === null) return undefined;
  const s = err.trim();
  if (/^\d+$/.test(s)) return Number.parseInt(s, 10);
  const hex = /^(?:0x)?([0-9a-f]+)$/i.exec(s);
  return hex === null ? undefined : Number.parseInt(hex[1], 16);
}

type Stat = 'DELIVRD' | 'EXPIRED' | 'DELETED' | 'UNDELIV' | 'REJECTD' | 'PENDING';

// Spellings seen in the field for each state.
const STAT_WORDS: ReadonlyMap<string, Stat> = new Map([
  ...['DELIVRD', 'DELIVERED'].map((w) => [w, 'DELIVRD'] as const),
  ...['EXPIRED', 'EXPIRD'].map((w) => [w, 'EXPIRED'] as const),
  ...['DELETED', 'DELETD'].map((w) => [w, 'DELETED'] as const),
  ...['UNDELIV', 'UNDELIVERABLE', 'UNDELIVERED', 'UNDELIVRD', 'FAILED'].map((w) => [w, 'UNDELIV'] as const),
  ...['REJECTD', 'REJECTED'].map((w) => [w, 'REJECTD'] as const),
  ...['ACCEPTD', 'ACCEPTED', 'ACKED', 'ENROUTE', 'BUFFRED', 'BUFFERD', 'BUFFERED', 'SCHEDULED'].map((w) => [w, 'PENDING'] as const),
]);

/**
 * A receipt's state (and error code) → partner status:
 * DELIVRD → 2; EXPIRED → 5/2; UNDELIV → 5 with the ext of `err` per `MAP_ERROR_EXT_STATUS`
 * (or the per-SMSC `errorTable` given, tried first), 1 if unknown; REJECTD → 5/15; DELETED,
 * UNKNOWN, SKIPPED → 5/1; ACCEPTD, ENROUTE, BUFFRED, SCHEDULED → 0, not final. Common variant
 * spellings (`DELIVERED`, `UNDELIVERABLE`, `FAILED`, `REJECTED`, `BUFFRED`...) are understood. Any other
 * word is final 5/1, as Kannel treats it (everything but DELIVRD and the pending words is a failure).
 */
export function mapReceiptState(stat: string, err?: string | null, errorTable?: ReadonlyMap<number, number>): MappedStatus {
  const word = stat.trim().toUpperCase();
  switch (STAT_WORDS.get(word)) {
    case 'DELIVRD':
      return { status: 2, extStatus: null, final: true };
    case 'PENDING':
      return { status: 0, extStatus: null, final: false };
    case 'EXPIRED':
      return { status: 5, extStatus: 2, final: true };
    case 'REJECTD':
      return { status: 5, extStatus: 15, final: true };
    case 'UNDELIV': {
      const code = parseReceiptErr(err);
      const ext = code === undefined ? 1 : (errorTable?.get(code) ?? MAP_ERROR_EXT_STATUS.get(code) ?? 1);
      return { status: 5, extStatus: ext, final: true };
    }
    default:
      return { status: 5, extStatus: 1, final: true };
  }
}

/** `message_state` TLV value (and error code) → partner status, as `mapReceiptState` of its word. */
export function mapMessageState(messageState: number, err?: string | null, errorTable?: ReadonlyMap<number, number>): MappedStatus {
  return mapReceiptState(MESSAGE_STATE_STAT[messageState] ?? 'UNKNOWN', err, errorTable);
}

/**
 * One message's status from its segments' statuses (in seq order): delivered when every segment
 * is delivered; not delivered as soon as one segment is, with the first such segment's ext
 * (1 if it has none); otherwise (some segment still pending) status 0, not final. Pass a segment
 * whose receipt never came as not delivered. No segments: not final.
 */
export function combineSegmentOutcomes(
  outcomes: ReadonlyArray<{ status: number; extStatus?: number | null }>,
): MappedStatus {
  const failed = outcomes.find((o) => o.status === 5);
  if (failed !== undefined) return { status: 5, extStatus: failed.extStatus ?? 1, final: true };
  if (outcomes.length > 0 && outcomes.every((o) => o.status === 2)) return { status: 2, extStatus: null, final: true };
  return { status: 0, extStatus: null, final: false };
}

// ---------------------------------------------------------------------------------------------
// submit_sm_resp command_status
// ---------------------------------------------------------------------------------------------

/** SMPP 3.4 command_status names (plus the SMPP 5.0 submission ones SMSCs also send). */
export const SMPP_COMMAND_STATUS: ReadonlyMap<number, string> = new Map([
  [0x00, 'ESME_ROK'],
  [0x01, 'ESME_RINVMSGLEN'],
  [0x02, 'ESME_RINVCMDLEN'],
  [0x03, 'ESME_RINVCMDID'],
  [0x04, 'ESME_RINVBNDSTS'],
  [0x05, 'ESME_RALYBND'],
  [0x06, 'ESME_RINVPRTFLG'],
  [0x07, 'ESME_RINVREGDLVFLG'],
  [0x08, 'ESME_RSYSERR'],
  [0x0a, 'ESME_RINVSRCADR'],
  [0x0b, 'ESME_RINVDSTADR'],
  [0x0c, 'ESME_RINVMSGID'],
  [0x0d, 'ESME_RBINDFAIL'],
  [0x0e, 'ESME_RINVPASWD'],
  [0x0f, 'ESME_RINVSYSID'],
  [0x11, 'ESME_RCANCELFAIL'],
  [0x13, 'ESME_RREPLACEFAIL'],
  [0x14, 'ESME_RMSGQFUL'],
  [0x15, 'ESME_RINVSERTYP'],
  [0x33, 'ESME_RINVNUMDESTS'],
  [0x34, 'ESME_RINVDLNAME'],
  [0x40, 'ESME_RINVDESTFLAG'],
  [0x42, 'ESME_RINVSUBREP'],
  [0x43, 'ESME_RINVESMCLASS'],
  [0x44, 'ESME_RCNTSUBDL'],
  [0x45, 'ESME_RSUBMITFAIL'],
  [0x48, 'ESME_RINVSRCTON'],
  [0x49, 'ESME_RINVSRCNPI'],
  [0x50, 'ESME_RINVDSTTON'],
  [0x51, 'ESME_RINVDSTNPI'],
  [0x53, 'ESME_RINVSYSTYP'],
  [0x54, 'ESME_RINVREPFLAG'],
  [0x55, 'ESME_RINVNUMMSGS'],
  [0x58, 'ESME_RTHROTTLED'],
  [0x61, 'ESME_RINVSCHED'],
  [0x62, 'ESME_RINVEXPIRY'],
  [0x63, 'ESME_RINVDFTMSGID'],
  [0x64, 'ESME_RX_T_APPN'],
  [0x65, 'ESME_RX_P_APPN'],
  [0x66, 'ESME_RX_R_APPN'],
  [0x67, 'ESME_RQUERYFAIL'],
  [0xc0, 'ESME_RINVOPTPARSTREAM'],
  [0xc1, 'ESME_ROPTPARNOTALLWD'],
  [0xc2, 'ESME_RINVPARLEN'],
  [0xc3, 'ESME_RMISSINGOPTPARAM'],
  [0xc4, 'ESME_RINVOPTPARAMVAL'],
  [0xfe, 'ESME_RDELIVERYFAILURE'],
  [0xff, 'ESME_RUNKNOWNERR'],
  [0x100, 'ESME_RSERTYPUNAUTH'],
  [0x101, 'ESME_RPROHIBITED'],
  [0x102, 'ESME_RSERTYPUNAVAIL'],
  [0x103, 'ESME_RSERTYPDENIED'],
  [0x104, 'ESME_RINVDCS'],
  [0x105, 'ESME_RINVSRCADDRSUBUNIT'],
  [0x106, 'ESME_RINVDSTADDRSUBUNIT'],
]);

/**
 * command_status values after which the same submit_sm may succeed later: the SMSC is busy or
 * broken for now, or our session is not in a state to submit (as Kannel re-queues them).
 */
export const TEMPORARY_SUBMIT_ERRORS: ReadonlySet<number> = new Set([
  0x04, // ESME_RINVBNDSTS: session not bound for transmit; resubmit after a rebind
  0x08, // ESME_RSYSERR
  0x14, // ESME_RMSGQFUL
  0x58, // ESME_RTHROTTLED
  0x64, // ESME_RX_T_APPN
]);

const hex8 = (n: number): string => '0x' + (n >>> 0).toString(16).toUpperCase().padStart(8, '0');

/** Name of a command_status: the SMPP name, `ESME_VENDOR_0x00000401` for 0x400-0x4FF, else `ESME_UNKNOWN_0x...`. */
export function smppStatusName(commandStatus: number): string {
  const name = SMPP_COMMAND_STATUS.get(commandStatus);
  if (name !== undefined) return name;
  return (commandStatus >= 0x400 && commandStatus <= 0x4ff ? 'ESME_VENDOR_' : 'ESME_UNKNOWN_') + hex8(commandStatus);
}

/**
 * A non-zero submit_sm_resp command_status → what to do with the segment. Temporary
 * (`TEMPORARY_SUBMIT_ERRORS`): retry later; every other code, known or not (ESME_RSUBMITFAIL,
 * vendor codes included), is permanent and ends the message with status 5. `extStatus` is 15
 * (rejected by the operator at submission) for all of them, the one used if a temporary error is
 * finally given up on as well; `name` says which error it was. Timeouts are the caller's.
 * Throws RangeError for 0 (ESME_ROK is not an error).
 */
export function mapSubmitError(commandStatus: number): { kind: 'temporary' | 'permanent'; extStatus: number; name: string } {
  if (commandStatus === 0) throw new RangeError('command_status 0 (ESME_ROK) is not an error');
  return {
    kind: TEMPORARY_SUBMIT_ERRORS.has(commandStatus) ? 'temporary' : 'permanent',
    extStatus: 15,
    name: smppStatusName(commandStatus),
  };
}

// ---------------------------------------------------------------------------------------------
// receipt → text (what an SMSC, or our SMPP server, writes into a receipt's short_message)
// ---------------------------------------------------------------------------------------------

/** `YYMMDDhhmm` in UTC, the receipt's date format. */
export function receiptDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

export interface ReceiptFields {
  id: string;
  /** `DELIVRD`, `UNDELIV`, `EXPIRED`, `REJECTD`, `ENROUTE`, … */
  stat: string;
  err: number;
  submitDate: Date;
  doneDate: Date;
  /** The submitted message's text, if it had one. */
  text: string | null;
}

/**
 * The de-facto standard receipt text (SMPP 3.4 appendix B). The `text:` part keeps the first 20
 * characters, with anything outside printable ASCII replaced by `?`: the receipt is sent as plain
 * ASCII in data_coding 0, as most SMSCs do.
 */
export function formatReceiptText(r: ReceiptFields): string {
  const text = [...(r.text ?? '')]
    .slice(0, 20)
    .map((ch) => (/^[\x20-\x7e]$/.test(ch) ? ch : '?'))
    .join('');
  const dlvrd = r.stat === 'DELIVRD' ? '001' : '000';
  return (
    `id:${r.id} sub:001 dlvrd:${dlvrd} submit date:${receiptDate(r.submitDate)} done date:${receiptDate(r.doneDate)} ` +
    `stat:${r.stat} err:${String(r.err).padStart(3, '0')} text:${text}`
  );
}
