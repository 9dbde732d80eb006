/**
 * The submit_sm segments of a stored message, whatever it holds: a text (split by the platform, or
 * a part a partner cut itself), or 8-bit data (binary.ts).
 */
import { binaryFromHex, buildBinaryPartSegment, buildBinarySegments, buildUdhSegment, isBinaryEncoding } from './binary';
import { buildConcatPartSegment, buildSubmitSegments, type ConcatPartHeader, type SubmitSegment } from './smpp-segments';

/** What of a `message` row decides its segments. */
export interface StoredContent {
  text: string;
  /** `message.encoding`: 0 / 8 for a text (re-derived from the text), anything else 8-bit data sent with that data_coding. */
  encoding: number;
  /** Class 0; for 8-bit data the stored data_coding carries the class instead. */
  flash: boolean;
  /** 8-bit data starting with the partner's own UDH: sent as it is. */
  udhi: boolean;
  /** A part a partner cut itself: one segment with this concatenation header. */
  concat: ConcatPartHeader | null;
}

/**
 * The segments the connector submits for a stored message. `reference` is the concatenation
 * reference (0..255) of a message the platform splits itself. Throws RangeError for a row that
 * cannot be sent as stored (8-bit data that is not hex, a part longer than one segment).
 */
export function buildMessageSegments(m: StoredContent, reference: number): SubmitSegment[] {
  if (!isBinaryEncoding(m.encoding)) {
    return m.concat ? [buildConcatPartSegment(m.text, m.concat, { flash: m.flash })] : buildSubmitSegments(m.text, { flash: m.flash, reference });
  }
  const data = binaryFromHex(m.text);
  if (m.udhi) return [buildUdhSegment(data, m.encoding)];
  if (m.concat) return [buildBinaryPartSegment(data, m.concat, m.encoding)];
  return buildBinarySegments(data, { dataCoding: m.encoding, reference });
}
