import { sumByConnection } from './connector-state.service';

describe('connector /metrics', () => {
  const metrics = [
    '# HELP smsgw_smsc_submits_total submit_sm by result',
    'smsgw_smsc_submits_total{connection="mts",result="accepted"} 120',
    'smsgw_smsc_submits_total{connection="mts",result="throttled"} 3',
    'smsgw_smsc_submits_total{connection="beeline",result="accepted"} 7',
    'smsgw_smsc_receipts_total{connection="mts",status="delivered"} 100',
    'smsgw_smsc_receipts_total{connection="mts",status="undelivered"} 5',
  ].join('\n');

  it('sums a counter by connection, optionally filtered by label', () => {
    expect(sumByConnection(metrics, 'smsgw_smsc_submits_total', (l) => l.includes('result="accepted"'))).toEqual(new Map([['mts', 120], ['beeline', 7]]));
    expect(sumByConnection(metrics, 'smsgw_smsc_receipts_total')).toEqual(new Map([['mts', 105]]));
  });
});
