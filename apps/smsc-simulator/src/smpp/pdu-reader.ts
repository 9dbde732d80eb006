import { HEADER_LENGTH, MAX_PDU_LENGTH } from './protocol';

export class MalformedPduError extends Error {}

export interface PduHeader {
  commandLength: number;
  commandId: number;
  commandStatus: number;
  sequenceNumber: number;
}

export function readHeader(frame: Buffer): PduHeader {
  return {
    commandLength: frame.readUInt32BE(0),
    commandId: frame.readUInt32BE(4),
    commandStatus: frame.readUInt32BE(8),
    sequenceNumber: frame.readUInt32BE(12),
  };
}

/** Cuts a TCP byte stream into whole PDUs. */
export class PduFrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** Returns the complete PDUs received so far; throws on a length no valid PDU can have. */
  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Buffer[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (length < HEADER_LENGTH || length > MAX_PDU_LENGTH) {
        throw new MalformedPduError(`command_length ${length} out of range`);
      }
      if (this.buffered.length < length) break;
      frames.push(this.buffered.subarray(0, length));
      this.buffered = this.buffered.subarray(length);
    }
    return frames;
  }
}

/**
 * Reads a PDU body field by field, keeping the exact bytes: the simulator records what the ESME
 * sent, which a decoding library (one that turns short_message into text) would not preserve.
 */
export class PduBodyReader {
  private offset = HEADER_LENGTH;

  constructor(private readonly frame: Buffer) {}

  cstring(): string {
    const end = this.frame.indexOf(0, this.offset);
    if (end < 0) throw new MalformedPduError(`C-octet string at ${this.offset} has no terminating NUL`);
    const value = this.frame.toString('latin1', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  u8(): number {
    if (this.offset >= this.frame.length) throw new MalformedPduError(`PDU ends at ${this.offset}, integer expected`);
    return this.frame[this.offset++];
  }

  octets(length: number): Buffer {
    if (this.offset + length > this.frame.length) throw new MalformedPduError(`${length} octets expected at ${this.offset}`);
    const value = this.frame.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** The TLVs that follow the mandatory parameters, in order. */
  tlvs(): Array<{ tag: number; value: Buffer }> {
    const out: Array<{ tag: number; value: Buffer }> = [];
    while (this.offset < this.frame.length) {
      if (this.offset + 4 > this.frame.length) throw new MalformedPduError(`truncated TLV header at ${this.offset}`);
      const tag = this.frame.readUInt16BE(this.offset);
      const length = this.frame.readUInt16BE(this.offset + 2);
      this.offset += 4;
      out.push({ tag, value: this.octets(length) });
    }
    return out;
  }
}
