/**
 * A delivery receipt matched to its message by what it says about the message, for a receipt
 * whose SMSC id matches no segment: the connector died between writing a submit_sm and recording
 * the SMSC's answer (or never got the answer), so the id was never stored. What a receipt carries
 * besides the id: the subscriber (its source_addr), our sender (its destination_addr), the
 * `submit date` and a `text:` excerpt.
 */
import { isBinaryEncoding } from './binary';
import { splitText } from './encoding';

/** The receipt's dates have minute resolution: `2605081200` is any time in that minute. */
export const RECEIPT_DATE_RESOLUTION_MS = 60_000;

/** What a receipt says about its message (see `ReceiptInfo`). */
export interface ReceiptContent {
  /** The subscriber, as the receipt wrote the number. */
  msisdn: string;
  sender?: string | null;
  submitDate?: Date | null;
  text?: string | null;
  /** When the receipt came: the message was submitted before. */
  receivedAt: Date;
}

/** A message handed over to the receipt's SMSC and not final yet (status 0). */
export interface InFlightMessage {
  id: string;
  msisdn: string;
  sender: string;
  text: string;
  /**
   * `message.encoding` (absent: a text). For 8-bit data (text is hex) the segments are counted by
   * `segments` and the excerpt is not compared: what an SMSC writes there for binary data varies.
   */
  encoding?: number;
  /** `message.segments`; used for 8-bit data. */
  segments?: number;
  /** When it was claimed for the SMSC, just before its first submit_sm. */
  submittedAt: Date;
  /** Segments whose SMSC id is recorded. */
  recorded: ReadonlyArray<number>;
}

export interface SegmentRef {
  messageId: string;
  seq: number;
}

export type ContentMatch = ({ kind: 'matched' } & SegmentRef) | { kind: 'none' } | { kind: 'ambiguous'; candidates: SegmentRef[] };

/**
 * An address as compared with ours: trimmed, lower-case, and a number without its `+` or `00`
 * international prefix (`+7903…`, `007903…` and `7903…` are one subscriber).
 */
export function receiptAddress(addr: string): string {
  const a = addr.trim().toLowerCase();
  if (/^\+?[0-9]+$/.test(a)) return a.replace(/^\+/, '').replace(/^00(?=[1-9])/, '');
  return a;
}

/**
 * Whether a receipt's `text:` excerpt can be the start of `segment`. SMSCs cut it (commonly to 20
 * characters), trim it, and write characters they cannot show in the receipt's ASCII as `?`; a
 * line break may come back as a space. An empty excerpt says nothing and matches.
 */
export function excerptMatches(segment: string, excerpt: string): boolean {
  const want = [...excerpt.trim()];
  const have = [...segment.trimStart()];
  if (want.length > have.length) return false;
  return want.every((ch, i) => {
    const h = have[i]!;
    return ch === '?' || ch === h || (/\s/.test(ch) && /\s/.test(h));
  });
}

/**
 * When the message may have been claimed, for a receipt: around its submit date (which has minute
 * resolution, plus `toleranceMs` for the SMSC's clock and for segments sent a while after the
 * claim), else at any time before the receipt came (`from` null).
 */
export function submitWindow(receipt: Pick<ReceiptContent, 'submitDate' | 'receivedAt'>, toleranceMs: number): { from: Date | null; to: Date } {
  const at = receipt.submitDate;
  if (!at) return { from: null, to: receipt.receivedAt };
  return { from: new Date(at.getTime() - toleranceMs), to: new Date(at.getTime() + RECEIPT_DATE_RESOLUTION_MS + toleranceMs) };
}

/**
 * The one segment among `messages` (status 0, on the receipt's SMSC) the receipt can be for, if
 * exactly one fits: same subscriber, same sender (when the receipt names one), claimed within
 * `submitWindow`, and its first segment without a recorded id, whose text starts with the
 * excerpt (when there is one; not compared for 8-bit data). Only the first such segment: segments
 * go out one at a time, each recorded before the next is sent, so no later one can have reached
 * the SMSC. Two or more fit: ambiguous, and a wrong guess would tell a partner the wrong
 * outcome, so none is taken.
 */
export function matchReceiptByContent(receipt: ReceiptContent, messages: ReadonlyArray<InFlightMessage>, toleranceMs: number): ContentMatch {
  const msisdn = receiptAddress(receipt.msisdn);
  const sender = receipt.sender ? receiptAddress(receipt.sender) : null;
  const { from, to } = submitWindow(receipt, toleranceMs);
  const candidates: SegmentRef[] = [];
  for (const m of messages) {
    if (receiptAddress(m.msisdn) !== msisdn) continue;
    if (sender !== null && receiptAddress(m.sender) !== sender) continue;
    const t = m.submittedAt.getTime();
    if (t > to.getTime() || (from !== null && t < from.getTime())) continue;
    const binary = m.encoding !== undefined && isBinaryEncoding(m.encoding);
    const segments = binary ? Array.from({ length: m.segments ?? 1 }, () => '') : splitText(m.text);
    const recorded = new Set(m.recorded);
    const index = segments.findIndex((_, i) => !recorded.has(i + 1));
    if (index < 0) continue;
    if (!binary && receipt.text && !excerptMatches(segments[index]!, receipt.text)) continue;
    candidates.push({ messageId: m.id, seq: index + 1 });
  }
  if (candidates.length === 0) return { kind: 'none' };
  if (candidates.length > 1) return { kind: 'ambiguous', candidates };
  return { kind: 'matched', ...candidates[0]! };
}
