import {
  MESSAGE_STATE_STAT,
  combineSegmentOutcomes,
  isReceiptEsmClass,
  mapMessageState,
  mapReceiptState,
  mapSubmitError,
  normalizeSmscId,
  parseReceiptDate,
  parseReceiptErr,
  parseReceiptText,
  receiptFromDeliverSm,
  smppStatusName,
  smscIdCandidates,
  type DeliverSmReceiptInput,
  type DeliveryReceipt,
  type MappedStatus,
  type ReceiptInfo,
} from './receipt';

const smpp = require('smpp') as {
  PDU: {
    new (command: string, options: Record<string, unknown>): { toBuffer(): Buffer };
    fromBuffer(buf: Buffer): Record<string, unknown> | false;
  };
};

const utc = (y: number, mo: number, d: number, h: number, mi: number, s = 0): Date => new Date(Date.UTC(y, mo - 1, d, h, mi, s));

describe('parseReceiptText', () => {
  it.each<[string, string, DeliveryReceipt]>([
    [
      'SMPP 3.4 Appendix B / Kannel',
      'id:0123456789 sub:001 dlvrd:001 submit date:2605081200 done date:2605081201 stat:DELIVRD err:000 text:Hello world',
      {
        id: '0123456789',
        sub: '001',
        dlvrd: '001',
        submitDate: utc(2026, 5, 8, 12, 0),
        doneDate: utc(2026, 5, 8, 12, 1),
        stat: 'DELIVRD',
        err: '000',
        text: 'Hello world',
      },
    ],
    [
      'Jasmin (UUID id, empty text)',
      'id:54d6d0e8-6e7e-4c7f-9b36-9ec7a7c4b5f4 sub:001 dlvrd:001 submit date:2606041500 done date:2606041502 stat:DELIVRD err:000 text:',
      {
        id: '54d6d0e8-6e7e-4c7f-9b36-9ec7a7c4b5f4',
        sub: '001',
        dlvrd: '001',
        submitDate: utc(2026, 6, 4, 15, 0),
        doneDate: utc(2026, 6, 4, 15, 2),
        stat: 'DELIVRD',
        err: '000',
        text: '',
      },
    ],
    [
      'hex id, capitalised Text, undelivered',
      'id:2A3F5B7C sub:001 dlvrd:000 submit date:2605081200 done date:2605081300 stat:UNDELIV err:001 Text:Test message',
      {
        id: '2A3F5B7C',
        sub: '001',
        dlvrd: '000',
        submitDate: utc(2026, 5, 8, 12, 0),
        doneDate: utc(2026, 5, 8, 13, 0),
        stat: 'UNDELIV',
        err: '001',
        text: 'Test message',
      },
    ],
    [
      '12-digit dates with underscores, no sub/dlvrd/text',
      'id:1234567890 submit_date:260508120005 done_date:260509120107 stat:EXPIRED err:027',
      {
        id: '1234567890',
        submitDate: utc(2026, 5, 8, 12, 0, 5),
        doneDate: utc(2026, 5, 9, 12, 1, 7),
        stat: 'EXPIRED',
        err: '027',
      },
    ],
    [
      'extra spaces around keys and values',
      '  id: 77889900   sub:001   dlvrd:000 submit date: 2605081200   done date:2605081200  stat: REJECTD  err: 0B  text: spam? ',
      {
        id: '77889900',
        sub: '001',
        dlvrd: '000',
        submitDate: utc(2026, 5, 8, 12, 0),
        doneDate: utc(2026, 5, 8, 12, 0),
        stat: 'REJECTD',
        err: '0B',
        text: 'spam?',
      },
    ],
    [
      'upper-case keys, lower-case stat',
      'ID:123 SUB:001 DLVRD:001 SUBMIT DATE:2605081200 DONE DATE:2605081200 STAT:delivrd ERR:0',
      {
        id: '123',
        sub: '001',
        dlvrd: '001',
        submitDate: utc(2026, 5, 8, 12, 0),
        doneDate: utc(2026, 5, 8, 12, 0),
        stat: 'DELIVRD',
        err: '0',
      },
    ],
    ['id and stat only', 'id:998877 stat:ACCEPTD', { id: '998877', stat: 'ACCEPTD' }],
    [
      'decoded as GSM 03.38 by a library (_ became §)',
      'id:1 sub:001 dlvrd:001 submit§date:2605081200 done§date:2605081201 stat:DELIVRD err:000',
      {
        id: '1',
        sub: '001',
        dlvrd: '001',
        submitDate: utc(2026, 5, 8, 12, 0),
        doneDate: utc(2026, 5, 8, 12, 1),
        stat: 'DELIVRD',
        err: '000',
      },
    ],
    [
      'text containing key-like words is not parsed further',
      'id:42 stat:UNDELIV err:034 text:stat:DELIVRD id:9 err:000',
      { id: '42', stat: 'UNDELIV', err: '034', text: 'stat:DELIVRD id:9 err:000' },
    ],
    [
      '20-digit id, 14-digit dates, different key order',
      'stat:DELIVRD id:18060812345678901234 done date:20260508120107 submit date:20260508120000 err:000',
      {
        id: '18060812345678901234',
        stat: 'DELIVRD',
        doneDate: utc(2026, 5, 8, 12, 1, 7),
        submitDate: utc(2026, 5, 8, 12, 0, 0),
        err: '000',
      },
    ],
    [
      'malformed dates are left out',
      'id:5 submit date:2613451200 done date:26050812 stat:DELIVRD',
      { id: '5', stat: 'DELIVRD' },
    ],
    ['the first occurrence of a key wins', 'id:1 stat:DELIVRD stat:UNDELIV', { id: '1', stat: 'DELIVRD' }],
    ['stat without id', 'sub:001 dlvrd:000 stat:UNDELIV err:001', { sub: '001', dlvrd: '000', stat: 'UNDELIV', err: '001' }],
  ])('%s', (_name, text, expected) => {
    expect(parseReceiptText(text)).toEqual(expected);
  });

  it.each(['Hello, how are you?', '', 'my id is 5', 'status:ok', 'paid:100 rub'])('%j is not a receipt', (text) => {
    expect(parseReceiptText(text)).toBeNull();
  });

  it('shifts dates by the SMSC clock offset', () => {
    expect(parseReceiptText('id:1 stat:DELIVRD done date:2605081500', 180)?.doneDate).toEqual(utc(2026, 5, 8, 12, 0));
  });
});

describe('parseReceiptDate', () => {
  it.each<[string, Date | undefined]>([
    ['2605081200', utc(2026, 5, 8, 12, 0)],
    ['260508120059', utc(2026, 5, 8, 12, 0, 59)],
    ['20260508120059', utc(2026, 5, 8, 12, 0, 59)],
    ['2402291200', utc(2024, 2, 29, 12, 0)],
    ['2302291200', undefined], // no 29 February in 2023
    ['2604311200', undefined], // no 31 April
    ['2605082400', undefined],
    ['2605081260', undefined],
    ['260508120060', undefined],
    ['2600081200', undefined],
    ['26050812', undefined],
    ['2605081200000', undefined],
    ['abcdefghij', undefined],
    ['', undefined],
  ])('%j → %s', (s, expected) => {
    expect(parseReceiptDate(s)).toEqual(expected);
  });
});

describe('receiptFromDeliverSm', () => {
  const TEXT = 'id:0A1B2C sub:001 dlvrd:001 submit date:2605081200 done date:2605081201 stat:DELIVRD err:000 text:Hi';
  const DONE = utc(2026, 5, 8, 12, 1);
  const SUBMITTED = utc(2026, 5, 8, 12, 0);

  it.each<[string, DeliverSmReceiptInput, ReceiptInfo | null]>([
    [
      'text in raw bytes',
      { esm_class: 0x04, data_coding: 0, short_message: Buffer.from(TEXT, 'latin1') },
      { smscMessageId: '0A1B2C', stat: 'DELIVRD', err: '000', doneAt: DONE, submitDate: SUBMITTED, text: 'Hi' },
    ],
    [
      'text as a string',
      { esm_class: 0x04, short_message: TEXT },
      { smscMessageId: '0A1B2C', stat: 'DELIVRD', err: '000', doneAt: DONE, submitDate: SUBMITTED, text: 'Hi' },
    ],
    [
      'text in the smpp package decoded form',
      { esm_class: 0x04, data_coding: 0, short_message: { message: TEXT } },
      { smscMessageId: '0A1B2C', stat: 'DELIVRD', err: '000', doneAt: DONE, submitDate: SUBMITTED, text: 'Hi' },
    ],
    [
      'UCS-2 coded receipt text',
      { esm_class: 0x04, data_coding: 8, short_message: Buffer.from(TEXT, 'utf16le').swap16() },
      { smscMessageId: '0A1B2C', stat: 'DELIVRD', err: '000', doneAt: DONE, submitDate: SUBMITTED, text: 'Hi' },
    ],
    [
      'TLVs win over the text',
      {
        esm_class: 0x04,
        short_message: 'id:111 stat:DELIVRD err:000',
        receipted_message_id: '222',
        message_state: 5,
        network_error_code: Buffer.from([0x03, 0x00, 0x1b]),
      },
      { smscMessageId: '222', stat: 'UNDELIV', err: '027' },
    ],
    [
      'TLVs only, empty short_message',
      { esm_class: 0x04, short_message: Buffer.alloc(0), receipted_message_id: 'abc123', message_state: 2 },
      { smscMessageId: 'abc123', stat: 'DELIVRD', err: null },
    ],
    [
      'a non-GSM network error code does not override the text err',
      { esm_class: 0x04, short_message: 'id:9 stat:UNDELIV err:001', network_error_code: Buffer.from([0x08, 0x04, 0x01]) },
      { smscMessageId: '9', stat: 'UNDELIV', err: '001' },
    ],
    [
      'a non-GSM network error code is used when the text has no err',
      { esm_class: 0x04, short_message: 'id:9 stat:UNDELIV', network_error_code: Buffer.from([0x08, 0x04, 0x01]) },
      { smscMessageId: '9', stat: 'UNDELIV', err: '1025' },
    ],
    [
      'text in message_payload',
      { esm_class: 0x04, short_message: Buffer.alloc(0), message_payload: Buffer.from(TEXT, 'latin1') },
      { smscMessageId: '0A1B2C', stat: 'DELIVRD', err: '000', doneAt: DONE, submitDate: SUBMITTED, text: 'Hi' },
    ],
    [
      'an unknown message_state falls back to the text',
      { esm_class: 0x04, short_message: 'id:7 stat:EXPIRED', message_state: 42 },
      { smscMessageId: '7', stat: 'EXPIRED', err: null },
    ],
    [
      'intermediate notification (esm_class 0x20)',
      { esm_class: 0x20, short_message: 'id:7 stat:ENROUTE' },
      { smscMessageId: '7', stat: 'ENROUTE', err: null },
    ],
    [
      'SME delivery acknowledgement (esm_class 0x08), other bits ignored',
      { esm_class: 0x08 | 0x03, short_message: 'id:7 stat:DELIVRD' },
      { smscMessageId: '7', stat: 'DELIVRD', err: null },
    ],
    ['an MO (esm_class 0)', { esm_class: 0, short_message: TEXT }, null],
    ['an MO with UDH (esm_class 0x40)', { esm_class: 0x40, short_message: TEXT }, null],
    ['no id anywhere', { esm_class: 0x04, short_message: 'stat:DELIVRD err:000' }, null],
    ['no state anywhere', { esm_class: 0x04, short_message: 'id:5 err:000' }, null],
    ['no text, no TLVs', { esm_class: 0x04 }, null],
    ['an empty receipted_message_id TLV falls back to the text', { esm_class: 0x04, short_message: 'id:5 stat:DELIVRD', receipted_message_id: '' }, { smscMessageId: '5', stat: 'DELIVRD', err: null }],
  ])('%s', (_name, pdu, expected) => {
    expect(receiptFromDeliverSm(pdu)).toEqual(expected);
  });

  it('reads an unflagged receipt only when asked to', () => {
    const pdu = { esm_class: 0, short_message: TEXT };
    expect(receiptFromDeliverSm(pdu)).toBeNull();
    expect(receiptFromDeliverSm(pdu, { acceptUnflagged: true })).toEqual({
      smscMessageId: '0A1B2C',
      stat: 'DELIVRD',
      err: '000',
      doneAt: DONE,
      submitDate: SUBMITTED,
      text: 'Hi',
    });
    expect(receiptFromDeliverSm({ esm_class: 0, short_message: 'hello' }, { acceptUnflagged: true })).toBeNull();
  });

  it('applies the SMSC clock offset to doneAt and submitDate', () => {
    const receipt = receiptFromDeliverSm({ esm_class: 4, short_message: TEXT }, { dateOffsetMinutes: 180 });
    expect(receipt?.doneAt).toEqual(utc(2026, 5, 8, 9, 1));
    expect(receipt?.submitDate).toEqual(utc(2026, 5, 8, 9, 0));
  });

  it('carries the addresses, the submit date and the text excerpt, for matching by content', () => {
    const pdu: DeliverSmReceiptInput = {
      esm_class: 0x04,
      source_addr: ' +79031234567 ',
      destination_addr: 'SHOP',
      short_message: 'id:77 sub:001 dlvrd:001 submit date:2605081207 done date:2605081209 stat:DELIVRD err:000 text:Your code is 4?21',
    };
    expect(receiptFromDeliverSm(pdu)).toEqual({
      smscMessageId: '77',
      stat: 'DELIVRD',
      err: '000',
      doneAt: utc(2026, 5, 8, 12, 9),
      msisdn: '+79031234567',
      sender: 'SHOP',
      submitDate: utc(2026, 5, 8, 12, 7),
      text: 'Your code is 4?21',
    });
  });

  it('leaves out empty addresses, an empty excerpt and a malformed submit date', () => {
    const pdu: DeliverSmReceiptInput = {
      esm_class: 0x04,
      source_addr: '',
      destination_addr: '  ',
      short_message: 'id:77 submit date:2613451200 stat:DELIVRD err:000 text:',
    };
    expect(receiptFromDeliverSm(pdu)).toEqual({ smscMessageId: '77', stat: 'DELIVRD', err: '000' });
  });

  it('reads a deliver_sm as the smpp package decodes it from the wire', () => {
    const wire = new smpp.PDU('deliver_sm', {
      sequence_number: 1,
      source_addr: '79036550550',
      destination_addr: 'SMSGW',
      esm_class: 0x04,
      data_coding: 0,
      short_message: Buffer.from('id:6699 sub:001 dlvrd:000 submit_date:2605081200 done_date:2605081205 stat:UNDELIV err:001 text:x', 'latin1'),
      receipted_message_id: '1A2B',
      message_state: 5,
      network_error_code: Buffer.from([0x03, 0x00, 0x01]),
    }).toBuffer();
    const decoded = smpp.PDU.fromBuffer(wire) as unknown as DeliverSmReceiptInput;
    const receipt = receiptFromDeliverSm(decoded);
    expect(receipt).toEqual({
      smscMessageId: '1A2B',
      stat: 'UNDELIV',
      err: '001',
      doneAt: utc(2026, 5, 8, 12, 5),
      msisdn: '79036550550',
      sender: 'SMSGW',
      submitDate: utc(2026, 5, 8, 12, 0),
      text: 'x',
    });
    expect(mapReceiptState(receipt!.stat, receipt!.err)).toEqual({ status: 5, extStatus: 8, final: true });

    const textOnly = smpp.PDU.fromBuffer(
      new smpp.PDU('deliver_sm', {
        esm_class: 0x04,
        data_coding: 0,
        short_message: Buffer.from('id:6699 submit_date:2605081200 done_date:2605081205 stat:DELIVRD err:000', 'latin1'),
      }).toBuffer(),
    ) as unknown as DeliverSmReceiptInput;
    expect(receiptFromDeliverSm(textOnly)).toEqual({
      smscMessageId: '6699',
      stat: 'DELIVRD',
      err: '000',
      doneAt: utc(2026, 5, 8, 12, 5),
      submitDate: utc(2026, 5, 8, 12, 0),
    });
  });

  it.each<[number, boolean]>([
    [0x00, false],
    [0x04, true],
    [0x08, true],
    [0x10, false],
    [0x18, false],
    [0x20, true],
    [0x40, false],
    [0x44, true],
    [0x84, true],
  ])('isReceiptEsmClass(%i) = %s', (esmClass, expected) => {
    expect(isReceiptEsmClass(esmClass)).toBe(expected);
  });
});

describe('SMSC id matching', () => {
  it.each<[string, string]>([
    ['1a2b', '1a2b'],
    ['1A2B', '1a2b'],
    ['0000123', '123'],
    ['  0042\0', '42'],
    ['000', '0'],
    ['0', '0'],
    ['B1B0-00AF', 'b1b0-00af'],
    ['', ''],
  ])('normalizeSmscId(%j) = %j', (id, expected) => {
    expect(normalizeSmscId(id)).toBe(expected);
  });

  it.each<[string, string[]]>([
    ['6699', ['6699', '1a2b', '26265']],
    ['123', ['123', '7b', '291']],
    ['0000123', ['123', '7b', '291']],
    ['7B', ['7b', '123']],
    ['1a2b', ['1a2b', '6699']],
    ['000', ['0']],
    ['10', ['10', 'a', '16']],
    ['54d6d0e8-6e7e-4c7f', ['54d6d0e8-6e7e-4c7f']],
    ['MSG-00001', ['msg-00001']],
    ['', []],
    ['ffffffffffffffffffff', ['ffffffffffffffffffff', '1208925819614629174706175']],
  ])('smscIdCandidates(%j) = %j', (id, expected) => {
    expect(smscIdCandidates(id)).toEqual(expected);
  });

  it.each<[string, string, string]>([
    ['hex response, decimal receipt', '1a2b', '6699'],
    ['decimal response with leading zeros, decimal receipt', '0000123', '123'],
    ['upper-case hex response, decimal receipt', '7B', '123'],
    ['decimal response, hex receipt', '123', '7b'],
    ['decimal response, upper-case hex receipt with zeros', '6699', '00001A2B'],
    ['hex response with zeros, decimal receipt', '00001A2B', '6699'],
    ['same hex, different case', 'ABCDEF', 'abcdef'],
    ['same decimal, receipt zero-padded to 10 digits', '987654', '0000987654'],
    ['non-numeric ids, different case', 'Msg-ABC', 'msg-abc'],
    ['64-bit hex response, decimal receipt', 'FFFFFFFFFFFFFFFF', '18446744073709551615'],
  ])('finds the stored id: %s (%s vs %s)', (_name, resp, receipt) => {
    expect(smscIdCandidates(receipt)).toContain(normalizeSmscId(resp));
  });

  it('finds the stored id in every Kannel msg-id-type mix, with or without zeros, in any case', () => {
    const formats = {
      dec: (n: bigint) => n.toString(10),
      hex: (n: bigint) => n.toString(16),
      HEX: (n: bigint) => n.toString(16).toUpperCase(),
      dec0: (n: bigint) => n.toString(10).padStart(20, '0'),
      hex0: (n: bigint) => n.toString(16).toUpperCase().padStart(16, '0'),
    };
    for (const n of [0n, 1n, 9n, 10n, 255n, 6699n, 0x1a2bn, 123456789n, 2n ** 63n - 1n, 2n ** 64n - 1n]) {
      for (const resp of Object.values(formats)) {
        for (const receipt of Object.values(formats)) {
          expect(smscIdCandidates(receipt(n))).toContain(normalizeSmscId(resp(n)));
        }
      }
    }
  });

  it('puts the receipt id itself first', () => {
    for (const id of ['123', '7B', '0A1B', 'x-1']) expect(smscIdCandidates(id)[0]).toBe(normalizeSmscId(id));
  });
});

describe('mapReceiptState', () => {
  const delivered: MappedStatus = { status: 2, extStatus: null, final: true };
  const pending: MappedStatus = { status: 0, extStatus: null, final: false };
  const failed = (extStatus: number): MappedStatus => ({ status: 5, extStatus, final: true });

  it.each<[string, string | undefined, MappedStatus]>([
    ['DELIVRD', '000', delivered],
    ['DELIVRD', undefined, delivered],
    ['delivrd', '001', delivered], // err ignored once delivered
    ['DELIVERED', undefined, delivered],
    ['EXPIRED', '027', failed(2)],
    ['EXPIRED', undefined, failed(2)],
    ['DELETED', undefined, failed(1)],
    ['UNKNOWN', undefined, failed(1)],
    ['REJECTD', '000', failed(15)],
    ['REJECTED', undefined, failed(15)],
    ['ACCEPTD', undefined, pending],
    ['ACCEPTED', undefined, pending],
    ['ENROUTE', undefined, pending],
    ['BUFFRED', undefined, pending],
    ['BUFFERD', undefined, pending],
    ['ACKED', undefined, pending],
    ['SCHEDULED', undefined, pending],
    ['SKIPPED', undefined, failed(1)],
    ['WHATEVER', undefined, failed(1)],
    [' undeliv ', '001', failed(8)],
    ['UNDELIV', '1', failed(8)],
    ['UNDELIV', '005', failed(8)],
    ['UNDELIV', '006', failed(2)],
    ['UNDELIV', '009', failed(3)],
    ['UNDELIV', '011', failed(6)],
    ['UNDELIV', '013', failed(3)],
    ['UNDELIV', '021', failed(6)],
    ['UNDELIV', '027', failed(2)],
    ['UNDELIV', '0x1B', failed(2)],
    ['UNDELIV', '01B', failed(2)],
    ['UNDELIV', '031', failed(7)],
    ['UNDELIV', '032', failed(4)],
    ['UNDELIV', '033', failed(5)],
    ['UNDELIV', '034', failed(7)],
    ['UNDELIV', '036', failed(1)],
    ['UNDELIV', '000', failed(1)],
    ['UNDELIV', '255', failed(1)],
    ['UNDELIV', 'n/a', failed(1)],
    ['UNDELIV', undefined, failed(1)],
    ['UNDELIVERABLE', '001', failed(8)],
    ['UNDELIVERED', '027', failed(2)],
    ['FAILED', '013', failed(3)],
  ])('%j err %j', (stat, err, expected) => {
    expect(mapReceiptState(stat, err)).toEqual(expected);
  });

  it('tries a per-SMSC error table first', () => {
    const table = new Map([
      [1, 12],
      [200, 14],
    ]);
    expect(mapReceiptState('UNDELIV', '200', table)).toEqual(failed(14));
    expect(mapReceiptState('UNDELIV', '001', table)).toEqual(failed(12));
    expect(mapReceiptState('UNDELIV', '027', table)).toEqual(failed(2));
  });

  it.each<[number, MappedStatus]>([
    [0, pending],
    [1, pending],
    [2, delivered],
    [3, failed(2)],
    [4, failed(1)],
    [6, pending],
    [7, failed(1)],
    [8, failed(15)],
    [9, failed(1)],
    [42, failed(1)],
  ])('message_state %i', (state, expected) => {
    expect(mapMessageState(state)).toEqual(expected);
  });

  it('maps message_state 5 by the error code', () => {
    expect(mapMessageState(5, '027')).toEqual(failed(2));
    expect(mapMessageState(5)).toEqual(failed(1));
    expect(MESSAGE_STATE_STAT[5]).toBe('UNDELIV');
  });

  it.each<[string | null | undefined, number | undefined]>([
    ['000', 0],
    ['027', 27],
    ['0x1b', 27],
    ['1B', 27],
    [' 34 ', 34],
    ['', undefined],
    ['n/a', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('parseReceiptErr(%j) = %p', (err, expected) => {
    expect(parseReceiptErr(err)).toBe(expected);
  });
});

describe('combineSegmentOutcomes', () => {
  it.each<[string, Array<{ status: number; extStatus?: number | null }>, MappedStatus]>([
    ['one delivered', [{ status: 2, extStatus: null }], { status: 2, extStatus: null, final: true }],
    ['all delivered', [{ status: 2 }, { status: 2 }, { status: 2 }], { status: 2, extStatus: null, final: true }],
    ['one failed', [{ status: 2 }, { status: 5, extStatus: 8 }], { status: 5, extStatus: 8, final: true }],
    [
      'first failed segment gives the ext',
      [{ status: 5, extStatus: 2 }, { status: 2 }, { status: 5, extStatus: 8 }],
      { status: 5, extStatus: 2, final: true },
    ],
    ['a failure settles it while others are pending', [{ status: 0 }, { status: 5, extStatus: 7 }], { status: 5, extStatus: 7, final: true }],
    ['failed without ext → 1', [{ status: 5, extStatus: null }], { status: 5, extStatus: 1, final: true }],
    ['some pending', [{ status: 2 }, { status: 0 }], { status: 0, extStatus: null, final: false }],
    ['none', [], { status: 0, extStatus: null, final: false }],
  ])('%s', (_name, outcomes, expected) => {
    expect(combineSegmentOutcomes(outcomes)).toEqual(expected);
  });
});

describe('mapSubmitError', () => {
  it.each<[number, 'temporary' | 'permanent', string]>([
    [0x58, 'temporary', 'ESME_RTHROTTLED'],
    [0x14, 'temporary', 'ESME_RMSGQFUL'],
    [0x08, 'temporary', 'ESME_RSYSERR'],
    [0x64, 'temporary', 'ESME_RX_T_APPN'],
    [0x04, 'temporary', 'ESME_RINVBNDSTS'],
    [0x45, 'permanent', 'ESME_RSUBMITFAIL'],
    [0x0b, 'permanent', 'ESME_RINVDSTADR'],
    [0x0a, 'permanent', 'ESME_RINVSRCADR'],
    [0x01, 'permanent', 'ESME_RINVMSGLEN'],
    [0x104, 'permanent', 'ESME_RINVDCS'],
    [0x65, 'permanent', 'ESME_RX_P_APPN'],
    [0x66, 'permanent', 'ESME_RX_R_APPN'],
    [0x62, 'permanent', 'ESME_RINVEXPIRY'],
    [0x43, 'permanent', 'ESME_RINVESMCLASS'],
    [0xff, 'permanent', 'ESME_RUNKNOWNERR'],
    [0x401, 'permanent', 'ESME_VENDOR_0x00000401'],
    [0x12345, 'permanent', 'ESME_UNKNOWN_0x00012345'],
  ])('command_status %i → %s %s', (commandStatus, kind, name) => {
    expect(mapSubmitError(commandStatus)).toEqual({ kind, extStatus: 15, name });
  });

  it('refuses ESME_ROK', () => {
    expect(() => mapSubmitError(0)).toThrow(RangeError);
    expect(smppStatusName(0)).toBe('ESME_ROK');
  });
});
