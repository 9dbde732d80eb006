import { chooseOutcome, wantsReceipt } from './receipt-outcome';
import { formatReceiptText } from './receipt-text';

describe('chooseOutcome', () => {
  const mix = [
    { stat: 'DELIVRD' as const, err: 0, weight: 3 },
    { stat: 'UNDELIV' as const, err: 1, weight: 1 },
  ];

  it('applies the magic numbers', () => {
    expect(chooseOutcome('79001230005', [], mix, () => 0)).toEqual({ final: true, stat: 'UNDELIV', err: 1, delayMs: null });
    expect(chooseOutcome('79001230002', [], mix, () => 0)).toMatchObject({ stat: 'EXPIRED' });
    expect(chooseOutcome('79001230000', [], mix, () => 0)).toEqual({ final: false });
  });

  it('prefers rules, the longest suffix first', () => {
    const rules = [
      { suffix: '5', stat: 'REJECTD' as const, err: 2 },
      { suffix: '345', stat: 'NONE' as const, err: 0 },
    ];
    expect(chooseOutcome('79000000005', rules, mix, () => 0)).toMatchObject({ stat: 'REJECTD' });
    expect(chooseOutcome('79000000345', rules, mix, () => 0)).toEqual({ final: false });
  });

  it('draws from the mix by weight', () => {
    expect(chooseOutcome('79001234567', [], mix, () => 0.74)).toMatchObject({ stat: 'DELIVRD' });
    expect(chooseOutcome('79001234567', [], mix, () => 0.76)).toMatchObject({ stat: 'UNDELIV', err: 1 });
  });
});

describe('wantsReceipt', () => {
  it('reads registered_delivery bits 1-0', () => {
    expect([0, 1, 2, 3].map((rd) => wantsReceipt(rd, 'DELIVRD'))).toEqual([false, true, false, true]);
    expect([0, 1, 2, 3].map((rd) => wantsReceipt(rd, 'UNDELIV'))).toEqual([false, true, true, false]);
    expect(wantsReceipt(0x11, 'DELIVRD')).toBe(true);
  });
});

describe('formatReceiptText', () => {
  it('writes the standard fields in UTC and 20 printable characters of text', () => {
    const text = formatReceiptText({
      id: '5f3a9c',
      stat: 'UNDELIV',
      err: 1,
      submitDate: new Date('2025-03-04T05:06:00Z'),
      doneDate: new Date('2025-03-04T05:07:59Z'),
      text: 'Привет, this is a long message',
    });
    expect(text).toBe('id:5f3a9c sub:001 dlvrd:000 submit date:2503040506 done date:2503040507 stat:UNDELIV err:001 text:??????, this is a lo');
  });
});
