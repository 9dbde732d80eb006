import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Pool } from 'pg';
import { messageIdFloor, messageIdHour } from '@smsgw/db';
import type { Role } from '../auth/session';
import { attemptFor, lastResultFor } from '../callbacks/callback-errors';
import { PG_POOL } from '../infra/tokens';
import { instant } from '../http/period';

export interface MessageFilter {
  partnerId: number;
  id?: string;
  partnerMsgId?: string;
  msisdn?: string;
  sender?: string;
  status?: number;
  from?: Date;
  to?: Date;
  test?: boolean;
}

export interface MessageRow {
  id: string;
  partnerMsgId: string | null;
  ptag: string | null;
  sender: string;
  msisdn: string;
  text: string;
  segments: number;
  encoding: number;
  status: number;
  extStatus: number | null;
  test: boolean;
  createdAt: Date;
  submittedAt: Date | null;
  doneAt: Date | null;
}

/** The listed columns of `message`, each prefixed with `alias.` when given. */
function columns(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `${a}id::text AS id, ${a}partner_msg_id AS "partnerMsgId", ${a}ptag, ${a}sender, ${a}msisdn, ${a}text, ${a}segments, ${a}encoding, ${a}status,
  ${a}ext_status AS "extStatus", ${a}test, ${a}created_at AS "createdAt", ${a}submitted_at AS "submittedAt", ${a}done_at AS "doneAt"`;
}
const COLUMNS = columns();

/** Keyset cursor: the last row's (created_at, id), newest first. */
export function encodeCursor(r: { createdAt: Date; id: string }): string {
  return Buffer.from(`${r.createdAt.toISOString()}|${r.id}`).toString('base64url');
}

function decodeCursor(c: string): { at: Date; id: string } {
  const [at, id] = Buffer.from(c, 'base64url').toString().split('|');
  const d = new Date(at ?? '');
  if (Number.isNaN(d.getTime()) || !/^[1-9][0-9]{0,18}$/.test(id ?? '')) throw new BadRequestException({ message: 'bad cursor', field: 'cursor' });
  return { at: d, id: id! };
}

const ID = /^[1-9][0-9]{0,18}$/;

/** The search form's query parameters as a filter (partnerId from the session scope). */
export function messageFilter(partnerId: number, q: Record<string, string | undefined>, zone: string): MessageFilter {
  const f: MessageFilter = { partnerId };
  const v = (k: string) => (q[k] ?? '').trim();
  if (v('id')) {
    if (!ID.test(v('id'))) throw new BadRequestException({ message: 'id: a message id is a number', field: 'id' });
    f.id = v('id');
  }
  if (v('partnerMsgId')) f.partnerMsgId = v('partnerMsgId');
  if (v('msisdn')) {
    // Numbers are stored as E.164 digits; accept what people paste (+7 903 ..., 8-903-...).
    let digits = v('msisdn').replace(/[^0-9]/g, '');
    if (digits.length === 11 && digits.startsWith('8')) digits = `7${digits.slice(1)}`;
    if (!digits) throw new BadRequestException({ message: 'msisdn: digits of a phone number', field: 'msisdn' });
    f.msisdn = digits;
  }
  if (v('sender')) f.sender = v('sender');
  if (v('status')) {
    const s = Number(v('status'));
    if (![0, 1, 2, 5, 8].includes(s)) throw new BadRequestException({ message: 'status: one of 0, 1, 2, 5, 8', field: 'status' });
    f.status = s;
  }
  if (v('test') === 'true' || v('test') === 'false') f.test = v('test') === 'true';
  f.from = instant(v('from'), 'from', zone);
  f.to = instant(v('to'), 'to', zone, true);
  return f;
}

const HOUR_MS = 3_600_000;
/** The migration message_partitions made weekly partitions; message_before ends where its week starts. */
const WEEK_MS = 7 * 86_400_000;
/** The start of the week (7 days from 1970-01-01, UTC, as the partitions are counted) holding `ms`. */
const weekStart = (ms: number): number => Math.floor(ms / WEEK_MS) * WEEK_MS;

/**
 * WHERE clause of a search. Every query starts with partner_id, so it uses one of the indexes
 * that lead with it: (partner_id, created_at) for periods and plain listing, (partner_id, msisdn,
 * created_at) for a number, the primary key for an id, and for the partner's id the primary key
 * with the id its message_key row holds (the unique key the partitioned table cannot hold).
 *
 * The period also bounds the id, so that only its partitions are read (ids carry the hour they
 * were drawn in, always at or before the row's created_at). Upper: a message created before `to`
 * (or the cursor) has an id below the next hour's first. Lower: a message's id can be of the hour
 * before its created_at (a block drawn just before the hour is used a little after it), hence
 * an hour earlier than `from`'s. Both are widened to whole weeks, the partitions' bounds: a
 * bound inside a partition, an hour's ids among a week's, made the planner AND the period's index
 * with a range scan of the key (24 ms for an hour at 100 M messages); a whole partition's is no
 * condition it would read an index for. The rows stored before the partitioning (message_before) have
 * small ids below every hour's, so the lower bound is added only for a period that starts after
 * `legacyUntil`, by when none of them can have been created (null: there are none).
 */
function where(f: MessageFilter, after?: { at: Date; id: string }, legacyUntil?: number | null): { sql: string; values: unknown[] } {
  const values: unknown[] = [f.partnerId];
  const parts = ['partner_id = $1'];
  const p = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (f.id) parts.push(`id = ${p(f.id)}`);
  // A subquery PostgreSQL runs first: the Append then reads only the partition of the id it gives.
  if (f.partnerMsgId) parts.push(`id = (SELECT message_id FROM message_key WHERE partner_id = $1 AND partner_msg_id = ${p(f.partnerMsgId)})`);
  if (f.msisdn) parts.push(`msisdn = ${p(f.msisdn)}`);
  if (f.sender) parts.push(`sender = ${p(f.sender)}`);
  if (f.status !== undefined) parts.push(`status = ${p(f.status)}`);
  if (f.test !== undefined) parts.push(`test = ${p(f.test)}`);
  if (f.from) {
    parts.push(`created_at >= ${p(f.from)}`);
    if (legacyUntil !== undefined && (legacyUntil === null || f.from.getTime() >= legacyUntil)) parts.push(`id >= ${p(messageIdFloor(weekStart(f.from.getTime() - HOUR_MS)))}::bigint`);
  }
  if (f.to) parts.push(`created_at < ${p(f.to)}`);
  if (after) parts.push(`(created_at, id) < (${p(after.at)}, ${p(after.id)})`);
  const upper = Math.min(f.to?.getTime() ?? Infinity, after?.at.getTime() ?? Infinity);
  if (upper !== Infinity) parts.push(`id < ${p(messageIdFloor(weekStart(upper + HOUR_MS) + WEEK_MS))}::bigint`);
  return { sql: parts.join(' AND '), values };
}

// message_before's bound: the first id of the week the migration message_partitions ran in.
const LEGACY_BOUND_SQL = `SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''?([0-9]+)''?\\)'))[1] AS upper
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'message'::regclass AND c.relname = 'message_before'`;

@Injectable()
export class MessagesService {
  private legacy: Promise<number | null> | null = null;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * From when no message of before the partitioning can have been created (a week after the start
   * of the week the migration ran in), read once; null once message_before is gone.
   */
  private legacyUntil(): Promise<number | null> {
    this.legacy ??= this.pool.query<{ upper: string | null }>(LEGACY_BOUND_SQL).then(
      ({ rows }) => {
        const upper = rows[0]?.upper;
        return upper ? messageIdHour(upper).getTime() + WEEK_MS : null;
      },
      (e: unknown) => {
        this.legacy = null;
        throw e;
      },
    );
    return this.legacy;
  }

  /** One page, newest first, and the cursor of the next page (null at the end). */
  async search(f: MessageFilter, limit: number, cursor?: string): Promise<{ messages: MessageRow[]; next: string | null }> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const legacyUntil = f.from ? await this.legacyUntil() : undefined;
    const page = (rows: MessageRow[], more: boolean) => {
      const shown = rows.length > limit ? rows.slice(0, limit) : rows;
      return { messages: shown, next: (rows.length > limit || more) && shown.length > 0 ? encodeCursor(shown[shown.length - 1]!) : null };
    };
    // Sender, status and test have no index of their own: a rare combination would walk the
    // partner's whole history in the (partner_id, created_at) index. The statistics know which
    // hours hold matches, so only those hours are read.
    if (!f.id && !f.partnerMsgId && !f.msisdn && (f.sender !== undefined || f.status !== undefined || f.test !== undefined)) {
      const hours = await this.matchingHours(f, after, limit + 1);
      if (hours) {
        if (hours.hours.length === 0) return { messages: [], next: null };
        const w = where(f, after, legacyUntil);
        const { rows } = await this.pool.query<MessageRow>(
          `SELECT m.* FROM unnest($${w.values.length + 1}::timestamptz[]) AS h(hour)
           CROSS JOIN LATERAL (
             SELECT ${COLUMNS}, id AS sort_id FROM message
             WHERE ${w.sql} AND created_at >= h.hour AND created_at < h.hour + interval '1 hour'
             ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}
           ) m
           ORDER BY m."createdAt" DESC, m.sort_id DESC LIMIT ${limit + 1}`,
          [...w.values, hours.hours],
        );
        return page(rows.map(({ sort_id: _s, ...r }: MessageRow & { sort_id?: unknown }) => r), hours.more);
      }
    }
    const w = where(f, after, legacyUntil);
    const { rows } = await this.pool.query<MessageRow>(
      `SELECT ${COLUMNS} FROM message WHERE ${w.sql} ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`,
      w.values,
    );
    return page(rows, false);
  }

  /**
   * The newest hours (UTC, as message_stat keeps them, plus the changes not folded yet) that hold
   * at least `need` messages matching the filter's sender, status and test flag, within its
   * period and before the cursor; `more`: older matching hours exist. Null when the matches are
   * spread over more hours than are worth listing (the plain index scan is used then).
   */
  private async matchingHours(f: MessageFilter, after: { at: Date } | undefined, need: number): Promise<{ hours: Date[]; more: boolean } | null> {
    const values: unknown[] = [f.partnerId];
    const cond: string[] = ['partner_id = $1'];
    const p = (v: unknown) => (values.push(v), `$${values.length}`);
    if (f.sender !== undefined) cond.push(`sender = ${p(f.sender)}`);
    if (f.test !== undefined) cond.push(`test = ${p(f.test)}`);
    if (f.from) cond.push(`hour >= date_trunc('hour', ${p(f.from)}::timestamptz)`);
    const upper = [f.to, after?.at].filter((d): d is Date => d !== undefined).sort((x, y) => x.getTime() - y.getTime())[0];
    if (upper) cond.push(`hour <= ${p(upper)}`);
    const status = f.status !== undefined ? p(f.status) : null;
    const c = cond.join(' AND ');
    const MAX_HOURS = 2000;
    const { rows } = await this.pool.query<{ hour: Date; n: string }>(
      `SELECT hour, sum(n)::bigint AS n FROM (
         SELECT hour, messages AS n FROM message_stat WHERE ${c}${status ? ` AND status = ${status}` : ''}
         UNION ALL SELECT hour, messages FROM message_stat_delta WHERE ${c}${status ? ` AND new_status = ${status}` : ''}
         UNION ALL SELECT hour, -messages FROM message_stat_delta WHERE ${c} AND old_status ${status ? `= ${status}` : 'IS NOT NULL'}
       ) s GROUP BY hour HAVING sum(n) > 0 ORDER BY hour DESC LIMIT ${MAX_HOURS + 1}`,
      values,
    );
    let sum = 0;
    for (let i = 0; i < rows.length && i < MAX_HOURS; i++) {
      sum += Number(rows[i]!.n);
      if (sum >= need) return { hours: rows.slice(0, i + 1).map((r) => r.hour), more: rows.length > i + 1 };
    }
    return rows.length > MAX_HOURS ? null : { hours: rows.map((r) => r.hour), more: false };
  }

  /** Every match, newest first, in pages of `batch` (CSV export). */
  async *all(f: MessageFilter, batch = 5000): AsyncGenerator<MessageRow[]> {
    let after: { at: Date; id: string } | undefined;
    const legacyUntil = f.from ? await this.legacyUntil() : undefined;
    for (;;) {
      const w = where(f, after, legacyUntil);
      const { rows } = await this.pool.query<MessageRow>(`SELECT ${COLUMNS} FROM message WHERE ${w.sql} ORDER BY created_at DESC, id DESC LIMIT ${batch}`, w.values);
      if (rows.length > 0) yield rows;
      if (rows.length < batch) return;
      const last = rows[rows.length - 1]!;
      after = { at: last.createdAt, id: last.id };
    }
  }

  /**
   * A message and everything that happened to it, in time order; 404 unless it is the partner's.
   * `role` is the viewer's: partner users see network-level callback failures in neutral words.
   */
  async timeline(partnerId: number, id: string, role: Role) {
    if (!ID.test(id)) throw new NotFoundException('no such message');
    const { rows } = await this.pool.query<
      MessageRow & { releaseAt: Date | null; releasedAt: Date | null; validUntil: Date; priority: number; flash: boolean; smscName: string | null; updatedAt: Date }
    >(
      `SELECT ${columns('m')},
         m.release_at AS "releaseAt", m.released_at AS "releasedAt", m.valid_until AS "validUntil", m.priority, m.flash,
         m.updated_at AS "updatedAt", c.name AS "smscName"
       FROM message m LEFT JOIN smsc_connection c ON c.id = m.smsc_connection_id
       WHERE m.id = $1 AND m.partner_id = $2`,
      [id, partnerId],
    );
    const m = rows[0];
    if (!m) throw new NotFoundException('no such message');
    const [parts, attempts, callbacks] = await Promise.all([
      this.pool.query<{ seq: number; smscName: string | null; smscMessageId: string | null; status: number; extStatus: number | null; submittedAt: Date | null; doneAt: Date | null }>(
        `SELECT p.seq, c.name AS "smscName", p.smsc_message_id AS "smscMessageId", p.status, p.ext_status AS "extStatus",
           p.submitted_at AS "submittedAt", p.done_at AS "doneAt"
         FROM message_part p LEFT JOIN smsc_connection c ON c.id = p.smsc_connection_id WHERE p.message_id = $1 ORDER BY p.seq`,
        [id],
      ),
      this.pool.query<{ attempt: number; status: number | null; attemptedAt: Date; url: string; httpStatus: number | null; error: string | null; durationMs: number }>(
        `SELECT attempt, status, attempted_at AS "attemptedAt", url, http_status AS "httpStatus", error, duration_ms AS "durationMs"
         FROM callback_attempt WHERE message_id = $1 AND partner_id = $2 AND attempted_at >= $3 AND attempted_at < now() + interval '1 day' ORDER BY attempted_at, id`,
        // Only the partitions from the day before the message to tomorrow (an attempt never precedes it; a day covers clocks apart).
        [id, partnerId, new Date(m.createdAt.getTime() - 86_400_000)],
      ),
      this.pool.query<{ id: string; status: number | null; state: string; attempts: number; nextAttemptAt: Date | null; parkedAt: Date | null; resends: number; lastResult: string | null }>(
        `SELECT id::text AS id, status, state::text AS state, attempts, next_attempt_at AS "nextAttemptAt", parked_at AS "parkedAt", resends, last_result AS "lastResult"
         FROM callback WHERE message_id = $1 AND partner_id = $2 ORDER BY id`,
        [id, partnerId],
      ),
    ]);

    // `at` is shown; `order` sorts. SMSC receipts carry the operator's done date, often to the
    // minute only, so a receipt is never put before the submit it answers.
    type Event = { at: Date; kind: string; title: string; detail?: string; ok?: boolean; order: number };
    const t = (d: Date) => d.getTime();
    const events: Event[] = [{ at: m.createdAt, order: t(m.createdAt), kind: 'accepted', title: 'Accepted', detail: `${m.segments} segment${m.segments === 1 ? '' : 's'}, sender ${m.sender}${m.test ? ', test mode' : ''}` }];
    if (m.releaseAt) events.push({ at: m.createdAt, order: t(m.createdAt), kind: 'held', title: 'Held until', detail: m.releaseAt.toISOString() });
    if (m.releasedAt) events.push({ at: m.releasedAt, order: t(m.releasedAt), kind: 'released', title: 'Released by the scheduler', detail: 'its send time or delivery window came' });
    if (m.submittedAt) events.push({ at: m.submittedAt, order: t(m.submittedAt), kind: 'submitted', title: 'Handed to the operator', detail: m.smscName ? `via ${m.smscName}` : undefined });
    let lastReceipt = 0;
    for (const p of parts.rows) {
      if (p.submittedAt) events.push({ at: p.submittedAt, order: t(p.submittedAt), kind: 'segment', title: `Segment ${p.seq} submitted`, detail: p.smscMessageId ? `SMSC id ${p.smscMessageId}${p.smscName ? ` on ${p.smscName}` : ''}` : undefined });
    }
    for (const p of parts.rows) {
      if (!p.doneAt) continue;
      const order = Math.max(t(p.doneAt), p.submittedAt ? t(p.submittedAt) : 0, m.submittedAt ? t(m.submittedAt) : 0);
      lastReceipt = Math.max(lastReceipt, order);
      events.push({ at: p.doneAt, order, kind: 'segment-receipt', title: `Segment ${p.seq} receipt`, detail: `status ${p.status}${p.extStatus ? `, ext ${p.extStatus}` : ''} (time as the SMSC reports it)`, ok: p.status === 2 });
    }
    if (m.doneAt) {
      const title = m.status === 2 ? 'Delivered' : m.status === 5 ? 'Not delivered' : m.status === 8 ? 'Cancelled' : `Status ${m.status}`;
      events.push({ at: m.doneAt, order: Math.max(t(m.doneAt), lastReceipt), kind: 'final', title, detail: m.extStatus ? `unifiedExtStatus ${m.extStatus}` : undefined, ok: m.status === 2 });
    }
    const callbackAttempts = attempts.rows.map((a) => attemptFor(role, a));
    for (const a of callbackAttempts) {
      const result = a.httpStatus !== null ? `HTTP ${a.httpStatus}` : (a.error ?? 'no answer');
      events.push({
        at: a.attemptedAt,
        order: t(a.attemptedAt),
        kind: 'callback',
        title: `Report (status ${a.status ?? '?'}) attempt ${a.attempt}: ${result}`,
        detail: `${a.url}${a.durationMs !== null ? ` (${a.durationMs} ms)` : ''}${a.error && a.httpStatus !== null ? ` — ${a.error}` : ''}`,
        ok: a.httpStatus !== null && a.httpStatus >= 200 && a.httpStatus < 300,
      });
    }
    for (const c of callbacks.rows) {
      if (c.state === 'parked' && c.parkedAt) events.push({ at: c.parkedAt, order: t(c.parkedAt), kind: 'parked', title: `Report (status ${c.status}) parked`, detail: `after ${c.attempts} attempts; re-send it from Callbacks`, ok: false });
    }
    const phase = ['accepted', 'held', 'released', 'submitted', 'segment', 'segment-receipt', 'final', 'callback', 'parked'];
    events.sort((a, b) => a.order - b.order || phase.indexOf(a.kind) - phase.indexOf(b.kind));
    return { message: m, parts: parts.rows, callbackAttempts, callbacks: callbacks.rows.map((c) => ({ ...c, lastResult: lastResultFor(role, c.lastResult) })), events: events.map(({ order: _order, ...e }) => e) };
  }
}
