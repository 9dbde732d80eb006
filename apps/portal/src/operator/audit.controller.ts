import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import type { Pool } from 'pg';
import { Roles } from '../auth/session';
import { PG_POOL } from '../infra/tokens';

/** Every configuration change, newest first: who, when, what, before and after. */
@Roles('operator')
@Controller('api/operator/audit')
export class AuditController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Get()
  async list(@Query() q: Record<string, string | undefined>) {
    const values: unknown[] = [];
    const where: string[] = [];
    const p = (v: unknown) => (values.push(v), `$${values.length}`);
    if (q.entity?.trim()) where.push(`entity = ${p(q.entity.trim())}`);
    if (q.actor?.trim()) where.push(`actor = ${p(q.actor.trim())}`);
    if (q.action?.trim()) where.push(`action LIKE ${p(`${q.action.trim().replace(/[%_\\]/g, '\\$&')}%`)}`);
    if (q.cursor) {
      if (!/^[1-9][0-9]{0,18}$/.test(q.cursor)) throw new BadRequestException('bad cursor');
      where.push(`id < ${p(q.cursor)}`);
    }
    const limit = Math.min(Math.max(Number(q.limit) || 50, 1), 500);
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id::text AS id, actor, action, entity, before, after, created_at AS "createdAt" FROM audit_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit + 1}`,
      values,
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return { entries: page, next: more ? page[page.length - 1]!.id : null };
  }
}
