import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import { operatorConnectionFromEnv, resendParkedCallbacks } from '@smsgw/callback-worker/dist/operator';
import type { PrismaClient } from '@smsgw/db';
import { writeAudit } from '@smsgw/partners';
import { CurrentSession, type Session } from '../auth/session';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { parseBody } from '../http/validation';
import { actorOf, partnerScope } from '../http/scope';
import { PG_POOL, PRISMA } from '../infra/tokens';
import { lastResultFor } from './callback-errors';

const ResendBody = z.object({ partnerId: z.number().int().positive().optional(), ids: z.array(z.string().regex(/^[1-9][0-9]{0,18}$/)).max(10_000).optional() });

/**
 * Callbacks (delivery reports, MO pushes) that needed retries. Parked ones ran out of their retry
 * horizon; re-sending goes through the callback worker's own operator code (as the CLI's
 * `callback resend` does) and is audited.
 */
@Controller('api/callbacks')
export class CallbacksController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(PRISMA) private readonly db: PrismaClient,
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
  ) {}

  @Get()
  async list(@CurrentSession() s: Session, @Query() q: Record<string, string | undefined>) {
    const partnerId = partnerScope(s, q.partnerId);
    const parked = q.state === 'parked';
    const { rows } = await this.pool.query<{ lastResult: string | null }>(
      `SELECT id::text AS id, kind::text AS kind, message_id::text AS "messageId", status, mo_id::text AS "moId", state::text AS state, attempts,
         last_attempt_at AS "lastAttemptAt", next_attempt_at AS "nextAttemptAt", last_result AS "lastResult", parked_at AS "parkedAt", resends
       FROM callback WHERE partner_id = $1 ${parked ? "AND state = 'parked'" : ''}
       ORDER BY ${parked ? 'parked_at DESC, id DESC' : 'updated_at DESC, id DESC'} LIMIT 200`,
      [partnerId],
    );
    const { rows: counts } = await this.pool.query<{ state: string; n: number }>(`SELECT state::text AS state, count(*)::int AS n FROM callback WHERE partner_id = $1 GROUP BY state`, [partnerId]);
    // Partner users see network-level failures in neutral words (callback-errors.ts).
    return { callbacks: rows.map((r) => ({ ...r, lastResult: lastResultFor(s.role, r.lastResult) })), counts: Object.fromEntries(counts.map((c) => [c.state, c.n])) };
  }

  /** Re-sends the partner's parked callbacks (all, or the `ids` given) with a fresh retry horizon. */
  @Post('resend')
  @HttpCode(200)
  async resend(@CurrentSession() s: Session, @Body() body: unknown) {
    const b = parseBody(ResendBody, body);
    const partnerId = partnerScope(s, b.partnerId);
    const result = await resendParkedCallbacks(
      { ...operatorConnectionFromEnv(), databaseUrl: this.config.DATABASE_URL, redisUrl: this.config.REDIS_URL, redisPrefix: this.config.REDIS_PREFIX },
      { partnerId, ids: b.ids },
    );
    if (result.ids.length > 0) {
      await writeAudit({ db: this.db, actor: actorOf(s) }, 'callback.resend', `partner:${partnerId}`, null, { callbacks: result.ids, dlr: result.dlr, mo: result.mo });
    }
    return { resent: result.ids.length, dlr: result.dlr, mo: result.mo, ids: result.ids };
  }
}
