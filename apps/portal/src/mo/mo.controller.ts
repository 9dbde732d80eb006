import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import type { Pool } from 'pg';
import { CurrentSession, type Session } from '../auth/session';
import { instant } from '../http/period';
import { partnerScope } from '../http/scope';
import { PG_POOL } from '../infra/tokens';
import { StatsService } from '../stats/stats.service';

interface MoRow {
  id: string;
  msisdn: string;
  serviceNumber: string;
  text: string;
  segments: number;
  complete: boolean;
  receivedAt: Date;
  callbackDoneAt: Date | null;
}

/** Subscribers' messages to the partner's service numbers, newest first (index (partner_id, received_at)). */
@Controller('api/mo')
export class MoController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly stats: StatsService,
  ) {}

  @Get()
  async list(@CurrentSession() s: Session, @Query() q: Record<string, string | undefined>) {
    const partnerId = partnerScope(s, q.partnerId);
    const zone = await this.stats.partnerZone(partnerId);
    const values: unknown[] = [partnerId];
    const where = ['partner_id = $1'];
    const p = (v: unknown) => (values.push(v), `$${values.length}`);
    if (q.msisdn?.trim()) where.push(`msisdn = ${p(q.msisdn.replace(/[^0-9]/g, ''))}`);
    if (q.serviceNumber?.trim()) where.push(`service_number = ${p(q.serviceNumber.trim())}`);
    const from = instant(q.from, 'from', zone);
    const to = instant(q.to, 'to', zone, true);
    if (from) where.push(`received_at >= ${p(from)}`);
    if (to) where.push(`received_at < ${p(to)}`);
    if (q.cursor) {
      const [at, id] = Buffer.from(q.cursor, 'base64url').toString().split('|');
      if (!at || !id || !/^\d{1,19}$/.test(id) || Number.isNaN(new Date(at).getTime())) throw new BadRequestException('bad cursor');
      where.push(`(received_at, id) < (${p(new Date(at))}, ${p(id)})`);
    }
    const limit = Math.min(Math.max(Number(q.limit) || 50, 1), 500);
    const { rows } = await this.pool.query<MoRow>(
      `SELECT id::text AS id, msisdn, service_number AS "serviceNumber", text, segments, complete, received_at AS "receivedAt", callback_done_at AS "callbackDoneAt"
       FROM mo_message WHERE ${where.join(' AND ')} ORDER BY received_at DESC, id DESC LIMIT ${limit + 1}`,
      values,
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return { mo: page, next: more && last ? Buffer.from(`${last.receivedAt.toISOString()}|${last.id}`).toString('base64url') : null };
  }
}
