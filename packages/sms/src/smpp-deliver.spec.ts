import { decodeGsm7Unpacked, decodeUcs2 } from './encoding';
import { decodePdu, encodePdu, Tag } from './smpp-pdu';
import { parseReceiptText, receiptFromDeliverSm } from './receipt';
import { buildMoDeliverSms, buildReceiptDeliverSm, receiptState } from './smpp-deliver';

const submitDate = new Date('2026-12-06T10:15:00Z');
const doneDate = new Date('2026-12-06T10:16:30Z');

describe('buildReceiptDeliverSm', () => {
  it('writes the standard receipt text and both TLVs, which the connector reads back', () => {
    const pdu = buildReceiptDeliverSm({ messageId: '1000', status: 2, extStatus: 0, msisdn: '79161234567', sender: 'BANK', submitDate, doneDate, text: 'Your code is 1234 — thanks' });
    const decoded = decodePdu(encodePdu({ ...pdu, sequence: 7 }));
    expect(decoded.params).toMatchObject({ source_addr: '79161234567', source_addr_ton: 1, destination_addr: 'BANK', dest_addr_ton: 5, esm_class: 4, data_coding: 0 });
    expect((decoded.params.short_message as Buffer).toString('latin1')).toBe(
      'id:1000 sub:001 dlvrd:001 submit date:2612061015 done date:2612061016 stat:DELIVRD err:000 text:Your code is 1234 ? ',
    );
    expect(decoded.tlvs).toEqual([
      { tag: Tag.receipted_message_id, value: Buffer.from('1000\0') },
      { tag: Tag.message_state, value: Buffer.from([2]) },
    ]);
    // The platform's own receipt reader (the connector's) understands the text alone.
    const info = receiptFromDeliverSm({ esm_class: 4, short_message: decoded.params.short_message as Buffer });
    expect(info).toMatchObject({ smscMessageId: '1000' });
    expect(parseReceiptText((decoded.params.short_message as Buffer).toString('latin1'))).toMatchObject({ id: '1000', stat: 'DELIVRD', err: '000' });
  });

  it('maps the platform status and reason to stat and message_state', () => {
    expect(receiptState(2, 0)).toEqual({ stat: 'DELIVRD', messageState: 2 });
    expect(receiptState(5, 2)).toEqual({ stat: 'EXPIRED', messageState: 3 });
    expect(receiptState(5, 16)).toEqual({ stat: 'EXPIRED', messageState: 3 });
    expect(receiptState(5, 15)).toEqual({ stat: 'REJECTD', messageState: 8 });
    expect(receiptState(5, 8)).toEqual({ stat: 'UNDELIV', messageState: 5 });
    expect(receiptState(0, null)).toEqual({ stat: 'ENROUTE', messageState: 1 });
    const undeliv = buildReceiptDeliverSm({ messageId: '9', status: 5, extStatus: 8, msisdn: '79161234567', sender: '7900', submitDate, doneDate, text: null });
    expect((undeliv.params!.short_message as Buffer).toString()).toContain('stat:UNDELIV err:008 text:');
    expect(undeliv.params).toMatchObject({ dest_addr_ton: 1, destination_addr: '7900' });
  });
});

describe('buildMoDeliverSms', () => {
  it('sends a short GSM-7 MO as one deliver_sm', () => {
    const [pdu, ...rest] = buildMoDeliverSms({ msisdn: '79161234567', serviceNumber: '7900', text: 'STOP', reference: 1 });
    expect(rest).toHaveLength(0);
    expect(pdu!.params).toMatchObject({ source_addr: '79161234567', destination_addr: '7900', esm_class: 0, data_coding: 0 });
    expect(decodeGsm7Unpacked(pdu!.params!.short_message as Buffer)).toBe('STOP');
  });

  it('cuts a long Unicode MO into UCS-2 segments behind a concatenation UDH', () => {
    const text = 'Привет! '.repeat(20);
    const pdus = buildMoDeliverSms({ msisdn: '79161234567', serviceNumber: '7900', text, reference: 300 });
    expect(pdus.length).toBe(3);
    let joined = '';
    pdus.forEach((p, i) => {
      const sm = p.params!.short_message as Buffer;
      expect(p.params).toMatchObject({ esm_class: 0x40, data_coding: 8 });
      // 300 & 0xff: the reference is one octet.
      expect([...sm.subarray(0, 6)]).toEqual([5, 0, 3, 44, 3, i + 1]);
      joined += decodeUcs2(sm.subarray(6));
    });
    expect(joined).toBe(text);
  });

  it('sends an empty MO as one empty deliver_sm', () => {
    const pdus = buildMoDeliverSms({ msisdn: '79161234567', serviceNumber: '7900', text: '', reference: 0 });
    expect(pdus).toHaveLength(1);
    expect((pdus[0]!.params!.short_message as Buffer).length).toBe(0);
  });
});
