import { destinationAddress, sourceAddress } from './addresses';

describe('submit_sm addresses', () => {
  it.each([
    ['ACME', { ton: 5, npi: 0, addr: 'ACME' }],
    ['Shop 24', { ton: 5, npi: 0, addr: 'Shop 24' }],
    ['4444', { ton: 3, npi: 0, addr: '4444' }],
    ['12345678', { ton: 3, npi: 0, addr: '12345678' }],
    ['79031234567', { ton: 1, npi: 1, addr: '79031234567' }],
    ['+79031234567', { ton: 1, npi: 1, addr: '79031234567' }],
    ['+4444', { ton: 1, npi: 1, addr: '4444' }],
  ])('sender %s', (sender, expected) => {
    expect(sourceAddress(sender)).toEqual(expected);
  });

  it('destination: international E.164 digits', () => {
    expect(destinationAddress('79031234567')).toEqual({ ton: 1, npi: 1, addr: '79031234567' });
  });
});
