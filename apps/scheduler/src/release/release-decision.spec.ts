import { decideRelease, type DueMessage } from './release-decision';

const SLACK = 10 * 60_000;
const at = (iso: string) => new Date(iso);

function windowed(releaseAt: string, start: number, end: number, zone: string, validUntil = '2030-01-01T00:00:00Z'): DueMessage {
  return { releaseAt: at(releaseAt), validUntil: at(validUntil), windowStart: start, windowEnd: end, windowZone: zone };
}

describe('decideRelease', () => {
  it('releases a postponed message at its time and expires it once its validity is over', () => {
    const m: DueMessage = { releaseAt: at('2026-12-01T06:30:00Z'), validUntil: at('2026-12-01T07:30:00Z'), windowStart: null, windowEnd: null, windowZone: null };
    expect(decideRelease(m, at('2026-12-01T06:30:00Z'), SLACK)).toEqual({ kind: 'release' });
    expect(decideRelease(m, at('2026-12-01T07:29:59.999Z'), SLACK)).toEqual({ kind: 'release' });
    expect(decideRelease(m, at('2026-12-01T07:30:00Z'), SLACK)).toEqual({ kind: 'expire' });
  });

  it('releases a windowed message on time as the ingress stored it', () => {
    // 22_06 in Moscow (UTC+3): the window opened at 19:00 UTC.
    const m = windowed('2026-12-01T19:00:00Z', 22, 6, 'Europe/Moscow');
    expect(decideRelease(m, at('2026-12-01T19:00:00Z'), SLACK)).toEqual({ kind: 'release' });
  });

  it('late, releases only inside the window, across midnight', () => {
    const m = windowed('2026-12-01T19:00:00Z', 22, 6, 'Europe/Moscow');
    // 02:00 Moscow next day: still inside 22..06.
    expect(decideRelease(m, at('2026-12-01T23:00:00Z'), SLACK)).toEqual({ kind: 'release' });
    // 06:30 Moscow: closed; next opening 22:00 Moscow = 19:00 UTC.
    expect(decideRelease(m, at('2026-12-02T03:30:00Z'), SLACK)).toEqual({ kind: 'wait', until: at('2026-12-02T19:00:00Z') });
  });

  it('waits at most until valid_until, then expires', () => {
    const m = windowed('2026-12-01T07:00:00Z', 10, 12, 'Europe/Moscow', '2026-12-01T20:00:00Z');
    // 13:00 Moscow: closed, next opening tomorrow 07:00 UTC is after valid_until.
    const d = decideRelease(m, at('2026-12-01T10:00:00Z'), SLACK);
    expect(d).toEqual({ kind: 'wait', until: at('2026-12-01T20:00:00Z') });
    expect(decideRelease(m, at('2026-12-01T20:00:00Z'), SLACK)).toEqual({ kind: 'expire' });
  });

  it('keeps to the zone rules over a DST change', () => {
    // Berlin springs forward on 2027-03-28 at 02:00 -> 03:00. A window 02_04 opens that day at
    // the first instant after the gap (01:00 UTC, 03:00 CEST), as the ingress stored it.
    const m = windowed('2027-03-28T01:00:00Z', 2, 4, 'Europe/Berlin');
    expect(decideRelease(m, at('2027-03-28T01:00:00Z'), SLACK)).toEqual({ kind: 'release' });
    // Found late at 05:00 CEST: closed; the next opening is 02:00 CEST on the 29th = 00:00 UTC.
    expect(decideRelease(m, at('2027-03-28T03:00:00Z'), SLACK)).toEqual({ kind: 'wait', until: at('2027-03-29T00:00:00Z') });
    // Before the change the same local hour was an hour later in UTC (CET, UTC+1).
    const before = windowed('2027-03-27T01:00:00Z', 2, 4, 'Europe/Berlin');
    expect(decideRelease(before, at('2027-03-27T04:00:00Z'), SLACK)).toEqual({ kind: 'wait', until: at('2027-03-28T01:00:00Z') });
  });

  it('releases a message whose zone cannot be read rather than keeping it forever', () => {
    expect(decideRelease(windowed('2026-12-01T07:00:00Z', 10, 12, 'Not/AZone'), at('2026-12-02T07:00:00Z'), SLACK)).toEqual({ kind: 'release' });
  });
});
