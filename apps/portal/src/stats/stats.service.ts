import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../infra/tokens';
import { daysOf, type Period } from '../http/period';

/** Final and intermediate statuses in the order the dashboard shows them (PROTOCOL §4). */
export const STATUSES = [2, 5, 0, 1, 8] as const;

export interface Counts {
  messages: number;
  segments: number;
  /** messages by status: "2" delivered, "5" undelivered, "0" handed over, "1" held, "8" cancelled */
  byStatus: Record<string, number>;
}

export interface DayRow extends Counts {
  day: string;
}

export interface SenderRow extends Counts {
  sender: string;
}

export interface Dashboard {
  partnerId: number;
  timeZone: string;
  from: string;
  to: string;
  /** Live traffic per day (test traffic is in `test`). */
  days: DayRow[];
  totals: Counts & { deliveryRate: number | null };
  bySender: SenderRow[];
  test: { days: DayRow[]; totals: Counts & { deliveryRate: number | null } };
}

// message_stat (the scheduler's hourly rollup) plus the changes the scheduler has not folded yet
// (message_stat_delta, kept short by the scheduler): together they equal the message table now,
// while reading only the partner's hours of the period (primary key range), never `message`.
// Hours are summed into local days here: $4 is an IANA zone (offset 0) or 'UTC' with the fixed
// offset in minutes in $5 (PostgreSQL reads '+03:00' as a POSIX zone, with the sign inverted).
const STATS_SQL = `
SELECT to_char((hour AT TIME ZONE $4) + make_interval(mins => $5), 'YYYY-MM-DD') AS day, sender, test, status,
       sum(messages)::bigint AS messages, sum(segments)::bigint AS segments
FROM (
  SELECT hour, sender, test, status, messages, segments FROM message_stat
  WHERE partner_id = $1 AND hour >= $2 AND hour < $3
  UNION ALL
  SELECT hour, sender, test, new_status, messages, segments FROM message_stat_delta
  WHERE partner_id = $1 AND hour >= $2 AND hour < $3
  UNION ALL
  SELECT hour, sender, test, old_status, -messages, -segments FROM message_stat_delta
  WHERE partner_id = $1 AND hour >= $2 AND hour < $3 AND old_status IS NOT NULL
) s
GROUP BY 1, sender, test, status
HAVING sum(messages) <> 0 OR sum(segments) <> 0`;

/** The zone as the SQL above takes it: an IANA name with no offset, or UTC plus fixed minutes. */
export function sqlZone(zone: string): [string, number] {
  const fixed = /^UTC(?:([+-])(\d{1,2})(?::(\d{2}))?)?$/.exec(zone);
  if (!fixed) return [zone, 0];
  const minutes = Number(fixed[2] ?? 0) * 60 + Number(fixed[3] ?? 0);
  return ['UTC', fixed[1] === '-' ? -minutes : minutes];
}

function emptyCounts(): Counts {
  return { messages: 0, segments: 0, byStatus: Object.fromEntries(STATUSES.map((s) => [String(s), 0])) };
}

function add(c: Counts, status: number, messages: number, segments: number): void {
  c.messages += messages;
  c.segments += segments;
  c.byStatus[String(status)] = (c.byStatus[String(status)] ?? 0) + messages;
}

/** Delivered among those with a final outcome (delivered + undelivered); null before any. */
export function deliveryRate(c: Counts): number | null {
  const done = (c.byStatus['2'] ?? 0) + (c.byStatus['5'] ?? 0);
  return done === 0 ? null : (c.byStatus['2'] ?? 0) / done;
}

@Injectable()
export class StatsService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async partnerZone(partnerId: number): Promise<string> {
    const { rows } = await this.pool.query<{ time_zone: string }>('SELECT time_zone FROM partner WHERE id = $1', [partnerId]);
    if (!rows[0]) throw new NotFoundException('no such partner');
    return rows[0].time_zone;
  }

  /**
   * Messages accepted in the period, by local day (the partner's time zone), status, sender and
   * test flag, as they are now. A day is the sum of its UTC hours (the rollup's grain).
   */
  async dashboard(partnerId: number, timeZone: string, period: Period): Promise<Dashboard> {
    const [zoneName, offset] = sqlZone(period.zone);
    const { rows } = await this.pool.query<{ day: string; sender: string; test: boolean; status: number; messages: string; segments: string }>({
      name: 'portal-stats',
      text: STATS_SQL,
      values: [partnerId, period.from, period.to, zoneName, offset],
    });
    const days = daysOf(period);
    const live = new Map(days.map((d) => [d, emptyCounts()]));
    const test = new Map(days.map((d) => [d, emptyCounts()]));
    const senders = new Map<string, Counts>();
    for (const r of rows) {
      const day = r.day;
      const messages = Number(r.messages);
      const segments = Number(r.segments);
      const bucket = (r.test ? test : live).get(day);
      if (!bucket) continue;
      add(bucket, r.status, messages, segments);
      if (!r.test) {
        let s = senders.get(r.sender);
        if (!s) senders.set(r.sender, (s = emptyCounts()));
        add(s, r.status, messages, segments);
      }
    }
    const total = (m: Map<string, Counts>) => {
      const t = emptyCounts();
      for (const c of m.values()) {
        t.messages += c.messages;
        t.segments += c.segments;
        for (const [status, n] of Object.entries(c.byStatus)) t.byStatus[status] = (t.byStatus[status] ?? 0) + n;
      }
      return { ...t, deliveryRate: deliveryRate(t) };
    };
    return {
      partnerId,
      timeZone,
      from: period.fromDay,
      to: period.toDay,
      days: days.map((day) => ({ day, ...live.get(day)! })),
      totals: total(live),
      bySender: [...senders.entries()].map(([sender, c]) => ({ sender, ...c })).sort((a, b) => b.messages - a.messages || a.sender.localeCompare(b.sender)),
      test: { days: days.map((day) => ({ day, ...test.get(day)! })), totals: total(test) },
    };
  }
}
