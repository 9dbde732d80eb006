import { excerptMatches, type InFlightMessage, matchReceiptByContent, receiptAddress, type ReceiptContent, submitWindow } from './receipt-match';

const at = (hhmmss: string): Date => new Date(`2026-05-08T${hhmmss}Z`);
const MINUTES_5 = 5 * 60_000;

describe('receiptAddress', () => {
  it.each([
    ['79031234567', '79031234567'],
    ['+79031234567', '79031234567'],
    [' 0079031234567 ', '79031234567'],
    ['SHOP', 'shop'],
    ['+Shop', '+shop'],
    ['0079', '79'],
    ['00', '00'],
  ])('%j → %j', (addr, expected) => {
    expect(receiptAddress(addr)).toBe(expected);
  });
});

describe('excerptMatches', () => {
  it.each<[string, string, boolean]>([
    ['Your code is 4821, valid for 5 minutes', 'Your code is 4821, v', true],
    ['Your code is 4821', 'Your code is 4821', true],
    ['Your code is 4821', 'Your code is 4822', false],
    ['Short', 'Short text', false],
    ['Привет, мир', '??????, ???', true], // the SMSC's ASCII cannot show Cyrillic
    ['Line one\nline two', 'Line one line two', true],
    ['  padded', 'padded', true],
    ['anything', '', true],
    ['Total: 5€', 'Total: 5?', true],
    ['Total: 5€', 'total: 5?', false],
  ])('%j starts with %j: %s', (segment, excerpt, expected) => {
    expect(excerptMatches(segment, excerpt)).toBe(expected);
  });
});

describe('submitWindow', () => {
  it('spans the submit date minute plus the tolerance on both sides', () => {
    const w = submitWindow({ submitDate: at('12:07:00'), receivedAt: at('12:09:00') }, MINUTES_5);
    expect(w).toEqual({ from: at('12:02:00'), to: at('12:13:00') });
  });

  it('without a submit date: any time before the receipt came', () => {
    expect(submitWindow({ receivedAt: at('12:09:00') }, MINUTES_5)).toEqual({ from: null, to: at('12:09:00') });
  });
});

describe('matchReceiptByContent', () => {
  const receipt: ReceiptContent = {
    msisdn: '+79031234567',
    sender: 'SHOP',
    submitDate: at('12:07:00'),
    text: 'Your code is 4821, v',
    receivedAt: at('12:07:40'),
  };
  const message = (over: Partial<InFlightMessage> = {}): InFlightMessage => ({
    id: '100',
    msisdn: '79031234567',
    sender: 'SHOP',
    text: 'Your code is 4821, valid for 5 minutes',
    submittedAt: at('12:07:31'),
    recorded: [],
    ...over,
  });
  const long = 'A'.repeat(153) + 'B'.repeat(153) + 'C'.repeat(20); // three GSM-7 segments

  it('takes the one message that fits', () => {
    expect(matchReceiptByContent(receipt, [message()], MINUTES_5)).toEqual({ kind: 'matched', messageId: '100', seq: 1 });
  });

  it.each<[string, Partial<InFlightMessage>]>([
    ['another subscriber', { msisdn: '79031234568' }],
    ['another sender', { sender: 'BANK' }],
    ['claimed long before the submit date', { submittedAt: at('11:50:00') }],
    ['claimed after the submit date minute and the tolerance', { submittedAt: at('12:13:01') }],
    ['another text', { text: 'Your code is 9999, valid for 5 minutes' }],
    ['every segment recorded already', { recorded: [1] }],
  ])('none for %s', (_name, over) => {
    expect(matchReceiptByContent(receipt, [message(over)], MINUTES_5)).toEqual({ kind: 'none' });
  });

  it('ambiguous when two messages fit: none is taken', () => {
    const result = matchReceiptByContent(receipt, [message(), message({ id: '101', submittedAt: at('12:07:35') })], MINUTES_5);
    expect(result).toEqual({
      kind: 'ambiguous',
      candidates: [
        { messageId: '100', seq: 1 },
        { messageId: '101', seq: 1 },
      ],
    });
  });

  it('without an excerpt or a sender the other fields decide, and two same-content messages are ambiguous', () => {
    const bare: ReceiptContent = { msisdn: '79031234567', submitDate: at('12:07:00'), receivedAt: at('12:07:40') };
    expect(matchReceiptByContent(bare, [message()], MINUTES_5)).toEqual({ kind: 'matched', messageId: '100', seq: 1 });
    expect(matchReceiptByContent(bare, [message(), message({ id: '101', text: 'other' })], MINUTES_5).kind).toBe('ambiguous');
  });

  it('only the first segment without a recorded id of a concatenated message: later ones were never sent', () => {
    const m = message({ text: long, recorded: [1] });
    expect(matchReceiptByContent({ ...receipt, text: 'BBBBBBBBBBBBBBBBBBBB' }, [m], MINUTES_5)).toEqual({ kind: 'matched', messageId: '100', seq: 2 });
    expect(matchReceiptByContent({ ...receipt, text: 'CCCCCCCCCCCCCCCCCCCC' }, [m], MINUTES_5)).toEqual({ kind: 'none' });
    // Without an excerpt still one candidate per message, not one per missing segment.
    expect(matchReceiptByContent({ ...receipt, text: null }, [m], MINUTES_5)).toEqual({ kind: 'matched', messageId: '100', seq: 2 });
  });

  it('8-bit data (text is hex): segments by the stored count, the excerpt not compared', () => {
    // 300 octets: three segments; the receipt's excerpt of binary data says nothing about the hex.
    const binary = message({ text: 'ab'.repeat(300), encoding: 4, segments: 3, recorded: [1] });
    expect(matchReceiptByContent({ ...receipt, text: '??????' }, [binary], MINUTES_5)).toEqual({ kind: 'matched', messageId: '100', seq: 2 });
    expect(matchReceiptByContent(receipt, [{ ...binary, recorded: [1, 2, 3] }], MINUTES_5)).toEqual({ kind: 'none' });
    // A class-2 coding kept as the partner sent it is 8-bit data too; 0 and 8 are texts.
    expect(matchReceiptByContent(receipt, [message({ text: '0102', encoding: 0xf6, segments: 1 })], MINUTES_5).kind).toBe('matched');
    expect(matchReceiptByContent(receipt, [message({ text: '0102', encoding: 0, segments: 1 })], MINUTES_5).kind).toBe('none');
  });

  it('without a submit date: any message claimed before the receipt came', () => {
    const r: ReceiptContent = { ...receipt, submitDate: null };
    expect(matchReceiptByContent(r, [message({ submittedAt: at('09:00:00') })], MINUTES_5).kind).toBe('matched');
    expect(matchReceiptByContent(r, [message({ submittedAt: at('12:07:41') })], MINUTES_5).kind).toBe('none');
  });
});
