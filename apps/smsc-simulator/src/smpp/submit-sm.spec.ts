import { PDU } from 'smpp';
import { MalformedPduError, PduFrameReader } from './pdu-reader';
import { describeContent, interpretDataCoding, parseSubmitSm } from './submit-sm';

describe('parseSubmitSm / describeContent', () => {
  it('keeps the exact bytes and decodes the text after the UDH', () => {
    const body = Buffer.from([0x05, 0x00, 0x03, 0x01, 0x02, 0x02, 0x00, 0x1b, 0x65]);
    const frame = new PDU('submit_sm', {
      sequence_number: 1,
      source_addr: 'Shop',
      destination_addr: '79001234567',
      esm_class: 0x40,
      data_coding: 0,
      validity_period: '000001000000000R',
      short_message: body,
    }).toBuffer();
    const sm = parseSubmitSm(frame);
    expect(sm).toMatchObject({ sourceAddr: 'Shop', destinationAddr: '79001234567', validityPeriod: '000001000000000R' });
    expect(sm.shortMessage).toEqual(body);
    expect(describeContent(sm)).toMatchObject({
      udh: body.subarray(0, 6),
      text: '@€',
      concat: { scheme: 'udh8', reference: 1, total: 2, seq: 2 },
      flash: false,
    });
  });

  it('throws MalformedPduError on a truncated body', () => {
    const frame = new PDU('submit_sm', { sequence_number: 1, destination_addr: '79001234567' }).toBuffer();
    expect(() => parseSubmitSm(frame.subarray(0, 30))).toThrow(MalformedPduError);
  });

  it('reads alphabet and message class from data_coding', () => {
    expect(interpretDataCoding(0x00)).toEqual({ alphabet: 'gsm7', messageClass: null });
    expect(interpretDataCoding(0x08)).toEqual({ alphabet: 'ucs2', messageClass: null });
    expect(interpretDataCoding(0x10)).toEqual({ alphabet: 'gsm7', messageClass: 0 });
    expect(interpretDataCoding(0x18)).toEqual({ alphabet: 'ucs2', messageClass: 0 });
    expect(interpretDataCoding(0xf1)).toEqual({ alphabet: 'gsm7', messageClass: 1 });
    expect(interpretDataCoding(0x04)).toEqual({ alphabet: 'binary', messageClass: null });
  });
});

describe('PduFrameReader', () => {
  it('cuts a stream into PDUs whatever the chunking', () => {
    const a = new PDU('enquire_link', { sequence_number: 1 }).toBuffer();
    const b = new PDU('enquire_link', { sequence_number: 2 }).toBuffer();
    const stream = Buffer.concat([a, b]);
    const reader = new PduFrameReader();
    const frames = [...reader.push(stream.subarray(0, 5)), ...reader.push(stream.subarray(5, 20)), ...reader.push(stream.subarray(20))];
    expect(frames).toEqual([a, b]);
  });

  it('refuses an impossible command_length', () => {
    expect(() => new PduFrameReader().push(Buffer.from([0, 0, 0, 8]))).toThrow(MalformedPduError);
  });
});
