import { attemptFor, lastResultFor, NEUTRAL_NETWORK_ERROR } from './callback-errors';

describe('callback errors as partner users see them', () => {
  const attempt = (error: string) => ({ httpStatus: null, error, durationMs: 12 });

  it('hides network failures (addresses, timings) from partner users, not from operators', () => {
    expect(attemptFor('partner', attempt('connection refused'))).toEqual({ httpStatus: null, error: NEUTRAL_NETWORK_ERROR, durationMs: null });
    expect(attemptFor('partner', attempt('SMPP server http://10.1.2.3:8093 not reached: connect ECONNREFUSED'))).toMatchObject({ error: NEUTRAL_NETWORK_ERROR });
    expect(attemptFor('operator', attempt('connection refused'))).toEqual(attempt('connection refused'));
    expect(lastResultFor('partner', 'timeout after 10000 ms')).toBe(NEUTRAL_NETWORK_ERROR);
    expect(lastResultFor('partner', '503')).toBe('503');
  });

  it('shows a partner what its own SMPP binds did', () => {
    for (const e of ['no SMPP receiver bind', 'smpp: deliver_sm_resp ESME_RX_T_APPN', 'smpp: no deliver_sm_resp within 9500 ms (session 4)']) {
      expect(attemptFor('partner', attempt(e))).toEqual(attempt(e));
      expect(lastResultFor('partner', e)).toBe(e);
    }
  });
});
