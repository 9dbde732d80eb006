import { simulatedOutcome } from './simulated-outcome';

describe('simulatedOutcome (PROTOCOL §8)', () => {
  it.each([
    ['79036550550', { status: 2, extStatus: null }],
    ['79036550005', { status: 5, extStatus: 8 }],
    ['79036550002', { status: 5, extStatus: 2 }],
    ['79036550000', null],
    ['79036550020', { status: 2, extStatus: null }],
  ])('%s', (msisdn, expected) => expect(simulatedOutcome(msisdn)).toEqual(expected));
});
