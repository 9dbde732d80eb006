import { BadRequestException } from '@nestjs/common';
import { DateTime } from 'luxon';
import { resolveZone } from '@smsgw/sms';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
export const MAX_PERIOD_DAYS = 366;

export interface Period {
  /** First instant of `fromDay` in the zone. */
  from: Date;
  /** First instant after `toDay` in the zone. */
  to: Date;
  fromDay: string;
  toDay: string;
  zone: string;
}

/** Today in a partner's zone, as YYYY-MM-DD. */
export function today(zone: string, now = new Date()): string {
  return DateTime.fromJSDate(now, { zone: resolveZone(zone) }).toISODate()!;
}

/**
 * Whole days `fromDay`..`toDay` (inclusive) read in `zone` (a partner's IANA zone or ±hh:mm).
 * Defaults: the last `defaultDays` days up to today.
 */
export function dayPeriod(zone: string, fromDay: unknown, toDay: unknown, defaultDays = 7, now = new Date()): Period {
  const z = resolveZone(zone);
  const end = typeof toDay === 'string' && toDay !== '' ? toDay : today(zone, now);
  const start = typeof fromDay === 'string' && fromDay !== '' ? fromDay : DateTime.fromISO(end, { zone: z }).minus({ days: defaultDays - 1 }).toISODate()!;
  for (const [field, v] of [['from', start], ['to', end]] as const) {
    if (!DAY.test(v) || !DateTime.fromISO(v, { zone: z }).isValid) throw new BadRequestException({ message: `${field}: use a date like 2026-11-25`, field });
  }
  const from = DateTime.fromISO(start, { zone: z }).startOf('day');
  const to = DateTime.fromISO(end, { zone: z }).plus({ days: 1 }).startOf('day');
  if (to <= from) throw new BadRequestException({ message: 'from must not be after to', field: 'from' });
  if (to.diff(from, 'days').days > MAX_PERIOD_DAYS + 1) throw new BadRequestException({ message: `at most ${MAX_PERIOD_DAYS} days at once`, field: 'from' });
  return { from: from.toJSDate(), to: to.toJSDate(), fromDay: start, toDay: end, zone: z };
}

/** The local day (YYYY-MM-DD) of an instant in a zone. */
export function dayOf(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toISODate()!;
}

/** Every day of a period, in order. */
export function daysOf(p: Period): string[] {
  const out: string[] = [];
  for (let d = DateTime.fromISO(p.fromDay, { zone: p.zone }); d.toISODate()! <= p.toDay; d = d.plus({ days: 1 })) out.push(d.toISODate()!);
  return out;
}

/** An instant from a query parameter: ISO 8601, or a date (the start of that day in `zone`). */
export function instant(value: unknown, field: string, zone: string, endOfDay = false): Date | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new BadRequestException({ message: `${field}: not a date`, field });
  if (DAY.test(value)) {
    const d = DateTime.fromISO(value, { zone: resolveZone(zone) });
    if (d.isValid) return (endOfDay ? d.plus({ days: 1 }) : d).startOf('day').toJSDate();
  } else {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new BadRequestException({ message: `${field}: use a date like 2026-11-25 or an ISO 8601 time`, field });
}
