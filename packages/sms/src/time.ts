import { DateTime, FixedOffsetZone, IANAZone, Info, type Zone } from 'luxon';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const MIN_OFFSET_MINUTES = -12 * 60;
const MAX_OFFSET_MINUTES = 14 * 60;

// A leading space stands for `+`: that is what an unencoded `+` in a query string decodes to.
const OFFSET = /^([+\- ])(\d{2})(?::?(\d{2}))?$/;

/** Offset in minutes of `±hh:mm`, `±hhmm` or `±hh`, or undefined if malformed or out of range. */
function offsetMinutes(s: string): number | undefined {
  const m = OFFSET.exec(s);
  if (m === null) return undefined;
  const hours = Number(m[2]);
  const minutes = m[3] === undefined ? 0 : Number(m[3]);
  if (minutes > 59) return undefined;
  const total = (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
  return total >= MIN_OFFSET_MINUTES && total <= MAX_OFFSET_MINUTES ? total : undefined;
}

/** `±hh:mm` (also `±hh`, `±hhmm`) within -12:00..+14:00 → luxon fixed zone name (`UTC+3`, `UTC-5:30`, `UTC`). */
export function parseTimeZoneOffset(s: string): { ok: true; zone: string } | { ok: false } {
  const minutes = offsetMinutes(s);
  return minutes === undefined ? { ok: false } : { ok: true, zone: FixedOffsetZone.instance(minutes).name };
}

const FIXED_ZONE_NAME = /^UTC(?:([+-])(\d{1,2})(?::(\d{2}))?)?$/;
// Intl (and so luxon's IANAZone) takes offset time zones (`+15:00`, `-2359`, `+15`) as zone names
// since Node 24 (ECMA-402's offset zones, ±23:59). Offsets are this module's to check, within
// -12:00..+14:00, so a name that starts as an offset is never looked up as an IANA name.
const OFFSET_LIKE = /^[+\- ]/;

/**
 * A partner's configured zone, an IANA name (`Europe/Moscow`) or `±hh:mm`, as a luxon zone name.
 * Also accepts the fixed names this module produces (`UTC+3`), so resolving is idempotent.
 * Throws on anything else: a bad zone is a configuration error, not a request error.
 */
export function resolveZone(partnerZone: string): string {
  const offset = parseTimeZoneOffset(partnerZone);
  if (offset.ok) return offset.zone;
  const fixed = FIXED_ZONE_NAME.exec(partnerZone);
  if (fixed !== null) {
    const again = parseTimeZoneOffset(
      fixed[1] === undefined ? '+00' : `${fixed[1]}${fixed[2].padStart(2, '0')}:${fixed[3] ?? '00'}`,
    );
    if (again.ok) return again.zone;
  } else if (!OFFSET_LIKE.test(partnerZone) && IANAZone.isValidZone(partnerZone)) {
    return partnerZone;
  }
  throw new RangeError(`invalid time zone: ${JSON.stringify(partnerZone)}`);
}

function zoneOf(name: string): Zone {
  if (OFFSET_LIKE.test(name)) throw new RangeError(`invalid time zone: ${JSON.stringify(name)}`);
  const zone = Info.normalizeZone(name);
  if (!zone.isValid) throw new RangeError(`invalid time zone: ${JSON.stringify(name)}`);
  return zone;
}

/** Fields of a wall-clock time, as milliseconds of the same fields read in UTC. */
function wallClockMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number | undefined {
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(t);
  // The round trip rejects 2026-02-30, hour 24 and the like, which Date.UTC would roll over.
  const same =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    back.getUTCSeconds() === s;
  return same ? t : undefined;
}

/**
 * The instant a wall-clock time in `zone` denotes. A time repeated when clocks go back is its
 * first occurrence; a time skipped when clocks go forward is the first instant after the gap
 * (the transition itself), i.e. the earliest instant whose local time is not before it.
 * (luxon would pick the later occurrence, and shift a skipped time forward by the gap's size.)
 */
function wallClockToInstant(wallMs: number, zone: Zone): number {
  const before = zone.offset(wallMs - DAY_MS);
  const after = zone.offset(wallMs + DAY_MS);
  const candidates = [before, after]
    .map((offset) => wallMs - offset * MINUTE_MS)
    .filter((t) => t + zone.offset(t) * MINUTE_MS === wallMs);
  if (candidates.length > 0) return Math.min(...candidates);

  // In a gap: the transition lies between reading the time with the later and the earlier offset.
  let lo = wallMs - after * MINUTE_MS;
  let hi = wallMs - before * MINUTE_MS;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (zone.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

const SEND_AT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+\- ]\d{2}(?::?\d{2})?)?$/;

/**
 * `send_at`: ISO 8601 with an offset or `Z` (`2026-12-01T09:30:00+03:00`), or a local
 * `YYYY-MM-DD HH:MM:SS` / `YYYY-MM-DDTHH:MM:SS` read in `zone` (IANA or fixed, DST-aware).
 * Seconds are optional. Throws if `zone` itself is invalid.
 */
export function parseSendAt(value: string, zone: string): { ok: true; at: Date } | { ok: false } {
  const localZone = zoneOf(zone);
  const m = SEND_AT.exec(value);
  if (m === null) return { ok: false };
  const [, y, mo, d, h, mi, s = '0', frac = '0', offset] = m;
  const wallMs = wallClockMs(+y, +mo, +d, +h, +mi, +s, Number(frac.padEnd(3, '0')));
  if (wallMs === undefined) return { ok: false };

  if (offset === undefined) return { ok: true, at: new Date(wallClockToInstant(wallMs, localZone)) };
  const minutes = offset === 'Z' ? 0 : offsetMinutes(offset);
  if (minutes === undefined) return { ok: false };
  return { ok: true, at: new Date(wallMs - minutes * MINUTE_MS) };
}

const SENDING_TIME = /^(\d{1,2})_(\d{1,2})$/;

/**
 * `sending_time` `hh_hh`: the window opens at `startHour` and closes at `endHour` local time;
 * `22_06` runs across midnight. Hours 0..23 for the start, 0..24 for the end; equal hours are
 * rejected (`0_24` is the way to say "any time").
 */
export function parseSendingTime(value: string): { ok: true; startHour: number; endHour: number } | { ok: false } {
  const m = SENDING_TIME.exec(value);
  if (m === null) return { ok: false };
  const startHour = Number(m[1]);
  const endHour = Number(m[2]);
  if (startHour > 23 || endHour > 24 || startHour === endHour) return { ok: false };
  return { ok: true, startHour, endHour };
}

/**
 * `now` if the local time in `zone` is inside the window [startHour, endHour), else the next
 * instant the window opens. If the opening hour does not exist that day (clocks go forward), the
 * window opens at the first instant after it; if it occurs twice, at the first occurrence.
 */
export function nextWindowOpening(now: Date, startHour: number, endHour: number, zone: string): Date {
  if (!Number.isInteger(startHour) || startHour < 0 || startHour > 23) throw new RangeError(`bad startHour ${startHour}`);
  if (!Number.isInteger(endHour) || endHour < 0 || endHour > 24) throw new RangeError(`bad endHour ${endHour}`);
  const tz = zoneOf(zone);
  const nowMs = now.getTime();
  const local = DateTime.fromMillis(nowMs, { zone: tz });
  const hour = local.hour;
  const inside = startHour < endHour ? hour >= startHour && hour < endHour : hour >= startHour || hour < endHour;
  if (inside) return now;

  // Outside the window the opening is today if its hour is still ahead, else tomorrow.
  // Date.UTC rolls day + 1 over month and year ends.
  for (let days = hour < startHour ? 0 : 1; ; days++) {
    const wallMs = Date.UTC(local.year, local.month - 1, local.day + days, startHour);
    const opening = wallClockToInstant(wallMs, tz);
    // Guard: only a clock change moving the wall clock back across the opening hour could put it behind `now`.
    if (opening > nowMs) return new Date(opening);
  }
}
