import { resolveZone } from '@smsgw/sms';
import { dayPeriod } from '../http/period';
import { deliveryRate, sqlZone } from './stats.service';

describe('dashboard arithmetic', () => {
  it('zones as PostgreSQL takes them: IANA names as they are, fixed offsets as minutes', () => {
    expect(sqlZone(resolveZone('Europe/Moscow'))).toEqual(['Europe/Moscow', 0]);
    expect(sqlZone(resolveZone('+05:30'))).toEqual(['UTC', 330]);
    expect(sqlZone(resolveZone('-03:00'))).toEqual(['UTC', -180]);
    expect(sqlZone(resolveZone('UTC'))).toEqual(['UTC', 0]);
  });

  it('a period is whole local days', () => {
    const p = dayPeriod('Europe/Moscow', '2026-11-01', '2026-11-02');
    expect(p.from.toISOString()).toBe('2026-10-31T21:00:00.000Z');
    expect(p.to.toISOString()).toBe('2026-11-02T21:00:00.000Z');
    const dst = dayPeriod('Europe/Berlin', '2026-10-25', '2026-10-25'); // 25 hours long
    expect((dst.to.getTime() - dst.from.getTime()) / 3600e3).toBe(25);
  });

  it('delivery rate: delivered of those with a final status', () => {
    expect(deliveryRate({ messages: 10, segments: 10, byStatus: { '2': 6, '5': 2, '0': 2 } })).toBe(0.75);
    expect(deliveryRate({ messages: 3, segments: 3, byStatus: { '1': 3 } })).toBeNull();
  });
});
