import { randomBytes } from 'node:crypto';
import { decodePdu, encodePdu, HEADER_LENGTH, PduError, PduFramer, responseCommand, SmppStatus, Tag, tlvValue, type PduInput } from './smpp-pdu';

// The `smpp` package, written independently of this codec, is the oracle: the same PDU written by
// both must be the same octets, and each must read what the other wrote.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const smpp = require('smpp') as {
  PDU: { new (command: string, options: Record<string, unknown>): { toBuffer(): Buffer }; fromBuffer(b: Buffer): Record<string, unknown> | false };
};

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]);

/** Each case: our encoder's input and the same PDU as options of the `smpp` package. */
const CASES: { name: string; ours: PduInput; theirs: [string, Record<string, unknown>] }[] = [
  {
    name: 'bind_transceiver',
    ours: { command: 'bind_transceiver', sequence: 1, params: { system_id: 'partner1', password: 'secret8c', system_type: 'SMPP', interface_version: 0x34, addr_ton: 1, addr_npi: 1, address_range: '' } },
    theirs: ['bind_transceiver', { sequence_number: 1, system_id: 'partner1', password: 'secret8c', system_type: 'SMPP', interface_version: 0x34, addr_ton: 1, addr_npi: 1, address_range: '' }],
  },
  {
    name: 'bind_transmitter_resp',
    ours: { command: 'bind_transmitter_resp', sequence: 7, params: { system_id: 'smsgw' } },
    theirs: ['bind_transmitter_resp', { sequence_number: 7, system_id: 'smsgw' }],
  },
  {
    name: 'submit_sm with SAR TLVs',
    ours: {
      command: 'submit_sm',
      sequence: 0x7fffffff,
      params: {
        service_type: '', source_addr_ton: 5, source_addr_npi: 0, source_addr: 'Shop', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567',
        esm_class: 0, protocol_id: 0, priority_flag: 1, schedule_delivery_time: '', validity_period: '261207120000000+', registered_delivery: 1,
        replace_if_present_flag: 0, data_coding: 4, sm_default_msg_id: 0, short_message: Buffer.from([0x00, 0x41, 0xff, 0x10]),
      },
      tlvs: [{ tag: Tag.sar_msg_ref_num, value: u16(513) }, { tag: Tag.sar_total_segments, value: Buffer.from([2]) }, { tag: Tag.sar_segment_seqnum, value: Buffer.from([1]) }],
    },
    theirs: ['submit_sm', {
      sequence_number: 0x7fffffff, service_type: '', source_addr_ton: 5, source_addr_npi: 0, source_addr: 'Shop', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567',
      esm_class: 0, protocol_id: 0, priority_flag: 1, schedule_delivery_time: '', validity_period: '261207120000000+', registered_delivery: 1,
      replace_if_present_flag: 0, data_coding: 4, sm_default_msg_id: 0, short_message: Buffer.from([0x00, 0x41, 0xff, 0x10]),
      sar_msg_ref_num: 513, sar_total_segments: 2, sar_segment_seqnum: 1,
    }],
  },
  {
    name: 'deliver_sm receipt',
    ours: {
      command: 'deliver_sm',
      sequence: 42,
      params: { source_addr_ton: 1, source_addr_npi: 1, source_addr: '79161234567', dest_addr_ton: 5, destination_addr: 'Shop', esm_class: 4, data_coding: 0,
        short_message: Buffer.from('id:1234567890 sub:001 dlvrd:001 submit date:2612071200 done date:2612071201 stat:DELIVRD err:000 text:Hello', 'latin1') },
      tlvs: [{ tag: Tag.receipted_message_id, value: cstr('1234567890') }, { tag: Tag.message_state, value: Buffer.from([2]) }],
    },
    theirs: ['deliver_sm', {
      sequence_number: 42, source_addr_ton: 1, source_addr_npi: 1, source_addr: '79161234567', dest_addr_ton: 5, destination_addr: 'Shop', esm_class: 4, data_coding: 0,
      short_message: Buffer.from('id:1234567890 sub:001 dlvrd:001 submit date:2612071200 done date:2612071201 stat:DELIVRD err:000 text:Hello', 'latin1'),
      receipted_message_id: '1234567890', message_state: 2,
    }],
  },
  { name: 'submit_sm_resp', ours: { command: 'submit_sm_resp', sequence: 3, params: { message_id: '12345678901234567' } }, theirs: ['submit_sm_resp', { sequence_number: 3, message_id: '12345678901234567' }] },
  { name: 'refused submit_sm_resp (no body)', ours: { command: 'submit_sm_resp', sequence: 4, status: SmppStatus.ESME_RTHROTTLED }, theirs: ['submit_sm_resp', { sequence_number: 4, command_status: SmppStatus.ESME_RTHROTTLED }] },
  { name: 'deliver_sm_resp', ours: { command: 'deliver_sm_resp', sequence: 5, params: { message_id: '' } }, theirs: ['deliver_sm_resp', { sequence_number: 5, message_id: '' }] },
  {
    name: 'data_sm with message_payload',
    ours: {
      command: 'data_sm', sequence: 9,
      params: { service_type: '', source_addr_ton: 1, source_addr_npi: 1, source_addr: '79161234567', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79997654321', esm_class: 0, registered_delivery: 1, data_coding: 8 },
      tlvs: [{ tag: Tag.message_payload, value: Buffer.alloc(600, 0x41) }],
    },
    theirs: ['data_sm', { sequence_number: 9, service_type: '', source_addr_ton: 1, source_addr_npi: 1, source_addr: '79161234567', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79997654321', esm_class: 0, registered_delivery: 1, data_coding: 8, message_payload: Buffer.alloc(600, 0x41) }],
  },
  {
    name: 'query_sm',
    ours: { command: 'query_sm', sequence: 10, params: { message_id: '7f3a', source_addr_ton: 5, source_addr_npi: 0, source_addr: 'Shop' } },
    theirs: ['query_sm', { sequence_number: 10, message_id: '7f3a', source_addr_ton: 5, source_addr_npi: 0, source_addr: 'Shop' }],
  },
  {
    name: 'query_sm_resp',
    ours: { command: 'query_sm_resp', sequence: 10, params: { message_id: '7f3a', final_date: '261207120100000+', message_state: 2, error_code: 0 } },
    theirs: ['query_sm_resp', { sequence_number: 10, message_id: '7f3a', final_date: '261207120100000+', message_state: 2, error_code: 0 }],
  },
  {
    name: 'cancel_sm',
    ours: { command: 'cancel_sm', sequence: 11, params: { service_type: '', message_id: '7f3a', source_addr_ton: 5, source_addr_npi: 0, source_addr: 'Shop', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567' } },
    theirs: ['cancel_sm', { sequence_number: 11, service_type: '', message_id: '7f3a', source_addr_ton: 5, source_addr_npi: 0, source_addr: 'Shop', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79161234567' }],
  },
  { name: 'enquire_link', ours: { command: 'enquire_link', sequence: 12 }, theirs: ['enquire_link', { sequence_number: 12 }] },
  { name: 'unbind_resp', ours: { command: 'unbind_resp', sequence: 13 }, theirs: ['unbind_resp', { sequence_number: 13 }] },
  { name: 'generic_nack', ours: { command: 'generic_nack', sequence: 14, status: SmppStatus.ESME_RINVCMDID }, theirs: ['generic_nack', { sequence_number: 14, command_status: SmppStatus.ESME_RINVCMDID }] },
];

describe('SMPP PDU codec', () => {
  it.each(CASES)('$name: the same octets as the smpp package, and reads them back', ({ ours, theirs }) => {
    const expected = new smpp.PDU(theirs[0], { ...theirs[1] }).toBuffer();
    const written = encodePdu(ours);
    expect(written.toString('hex')).toBe(expected.toString('hex'));

    const read = decodePdu(expected);
    expect(read.command).toBe(ours.command);
    expect(read.sequence).toBe(ours.sequence);
    expect(read.status).toBe(ours.status ?? 0);
    for (const [name, value] of Object.entries(ours.params ?? {})) {
      if (read.status !== 0 && Object.keys(read.params).length === 0) break;
      expect(read.params[name]).toEqual(value);
    }
    expect(read.tlvs).toEqual(ours.tlvs ?? []);

    // And the smpp package reads what we wrote.
    const parsed = smpp.PDU.fromBuffer(written);
    expect(parsed).toBeTruthy();
    expect((parsed as Record<string, unknown>).command).toBe(ours.command);
    expect((parsed as Record<string, unknown>).sequence_number).toBe(ours.sequence);
  });

  it('fills missing parameters with 0 and empty strings, and computes sm_length', () => {
    const buf = encodePdu({ command: 'submit_sm', sequence: 1, params: { destination_addr: '79161234567', short_message: Buffer.from('Hi') } });
    const pdu = decodePdu(buf);
    expect(pdu.params).toMatchObject({ service_type: '', source_addr: '', source_addr_ton: 0, destination_addr: '79161234567', sm_length: 2, short_message: Buffer.from('Hi') });
  });

  it('reads a response whose body is left out, refused or not', () => {
    const header = (id: number, status: number): Buffer => {
      const b = Buffer.alloc(HEADER_LENGTH);
      b.writeUInt32BE(HEADER_LENGTH, 0);
      b.writeUInt32BE(id, 4);
      b.writeUInt32BE(status, 8);
      b.writeUInt32BE(77, 12);
      return b;
    };
    expect(decodePdu(header(0x80000005, 0))).toMatchObject({ command: 'deliver_sm_resp', status: 0, sequence: 77, params: {} });
    expect(decodePdu(header(0x80000004, SmppStatus.ESME_RTHROTTLED))).toMatchObject({ command: 'submit_sm_resp', status: SmppStatus.ESME_RTHROTTLED, params: {} });
  });

  it('finds a TLV by tag', () => {
    const pdu = decodePdu(encodePdu(CASES[3]!.ours));
    expect(tlvValue(pdu, Tag.message_state)).toEqual(Buffer.from([2]));
    expect(tlvValue(pdu, Tag.sar_msg_ref_num)).toBeUndefined();
  });

  it('names the response of each request', () => {
    expect(responseCommand('submit_sm')).toBe('submit_sm_resp');
    expect(responseCommand('bind_transceiver')).toBe('bind_transceiver_resp');
    expect(responseCommand('enquire_link')).toBe('enquire_link_resp');
    expect(responseCommand('submit_sm_resp')).toBeNull();
    expect(responseCommand('generic_nack')).toBeNull();
    expect(responseCommand('outbind')).toBeNull();
  });

  describe('refuses what a peer may send wrong, with the status to answer', () => {
    const submit = encodePdu({ command: 'submit_sm', sequence: 5, params: { source_addr: 'Shop', destination_addr: '79161234567', short_message: Buffer.from('Hello') } });
    const status = (b: Buffer): number => {
      try {
        decodePdu(b);
      } catch (e) {
        expect(e).toBeInstanceOf(PduError);
        return (e as PduError).status;
      }
      throw new Error('decoded');
    };
    const withLength = (b: Buffer): Buffer => {
      const c = Buffer.from(b);
      c.writeUInt32BE(c.length, 0);
      return c;
    };

    it('a command_length that is not the PDU length', () => {
      const b = Buffer.from(submit);
      b.writeUInt32BE(b.length + 1, 0);
      expect(status(b)).toBe(SmppStatus.ESME_RINVCMDLEN);
      expect(status(submit.subarray(0, 10))).toBe(SmppStatus.ESME_RINVCMDLEN);
    });

    it('an unknown command_id', () => {
      const b = Buffer.from(submit);
      b.writeUInt32BE(0x00000099, 4);
      expect(status(b)).toBe(SmppStatus.ESME_RINVCMDID);
    });

    it('a body cut short', () => {
      for (let cut = HEADER_LENGTH + 1; cut < submit.length; cut++) {
        expect([SmppStatus.ESME_RINVCMDLEN, SmppStatus.ESME_RINVMSGLEN]).toContain(status(withLength(submit.subarray(0, cut))));
      }
    });

    it('a C-string longer than its parameter allows', () => {
      const long = Buffer.concat([submit.subarray(0, HEADER_LENGTH + 1 + 2), Buffer.from('A'.repeat(21)), submit.subarray(HEADER_LENGTH + 1 + 2 + 5)]);
      expect(status(withLength(long))).toBe(SmppStatus.ESME_RINVSRCADR);
      const bind = encodePdu({ command: 'bind_transmitter', sequence: 1, params: { system_id: 'p', password: 'x' } });
      const longPassword = Buffer.concat([bind.subarray(0, HEADER_LENGTH + 2), Buffer.from('123456789'), bind.subarray(HEADER_LENGTH + 2 + 1)]);
      expect(status(withLength(longPassword))).toBe(SmppStatus.ESME_RINVPASWD);
    });

    it('an sm_length past the end', () => {
      const b = Buffer.from(submit);
      b[b.length - 6] = 200; // sm_length of "Hello"
      expect(status(b)).toBe(SmppStatus.ESME_RINVMSGLEN);
    });

    it('a TLV running past the end, or a stray octet after the last one', () => {
      const tlv = Buffer.concat([submit, u16(Tag.message_payload), u16(10), Buffer.from('abc')]);
      expect(status(withLength(tlv))).toBe(SmppStatus.ESME_RINVPARLEN);
      expect(status(withLength(Buffer.concat([submit, Buffer.from([1, 2])])))).toBe(SmppStatus.ESME_RINVOPTPARSTREAM);
    });

    it('random bytes: a PduError or a PDU, nothing else', () => {
      for (let i = 0; i < 5000; i++) {
        const body = randomBytes(i % 300);
        const b = Buffer.concat([Buffer.alloc(HEADER_LENGTH), body]);
        b.writeUInt32BE(b.length, 0);
        b.writeUInt32BE([4, 5, 9, 3, 8, 0x103, 0x80000004, 0x80000003][i % 8]!, 4);
        try {
          decodePdu(b);
        } catch (e) {
          expect(e).toBeInstanceOf(PduError);
        }
      }
    });
  });

  it('refuses to write a C-string that does not fit, rather than cutting it', () => {
    expect(() => encodePdu({ command: 'submit_sm_resp', sequence: 1, params: { message_id: 'x'.repeat(65) } })).toThrow(PduError);
    expect(() => encodePdu({ command: 'submit_sm', sequence: 1, params: { destination_addr: '7916\u00001234' } })).toThrow(PduError);
    expect(() => encodePdu({ command: 'submit_sm', sequence: 1, params: { short_message: Buffer.alloc(255) } })).toThrow(PduError);
  });
});

describe('PduFramer', () => {
  const pdus = [
    encodePdu({ command: 'enquire_link', sequence: 1 }),
    encodePdu(CASES[2]!.ours),
    encodePdu({ command: 'submit_sm_resp', sequence: 3, params: { message_id: 'abc' } }),
    encodePdu(CASES[7]!.ours),
  ];
  const stream = Buffer.concat(pdus);

  it('gives the same PDUs whichever way the stream is cut', () => {
    for (let size = 1; size <= stream.length; size += size < 40 ? 1 : 97) {
      const framer = new PduFramer();
      const got: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) got.push(...framer.push(stream.subarray(at, at + size)).map((b) => Buffer.from(b)));
      expect(got).toEqual(pdus);
      expect(framer.buffered).toBe(0);
    }
  });

  it('keeps its own copy of a partial PDU', () => {
    const framer = new PduFramer();
    const chunk = Buffer.from(stream.subarray(0, HEADER_LENGTH + 5));
    framer.push(chunk);
    chunk.fill(0xee);
    expect(framer.push(stream.subarray(HEADER_LENGTH + 5))).toEqual(pdus.slice(1));
  });

  it('refuses a command_length it cannot skip', () => {
    const tooShort = Buffer.from([0, 0, 0, 8, 0, 0, 0, 21]);
    expect(() => new PduFramer().push(tooShort)).toThrow(PduError);
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(1_000_000, 0);
    expect(() => new PduFramer().push(huge)).toThrow(/outside 16\.\.70000/);
  });
});
