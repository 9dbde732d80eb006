import type { Pool } from 'pg';
import type { PrismaClient } from '@smsgw/db';
import { partnerPublicView } from '@smsgw/partners';

/**
 * Everything about a partner that may be shown (no API password hash, the signing secret as
 * "(set)"), with its service numbers and what is left of the test quota. The quota counter is the
 * ingress's (`<prefix>:testq:<id>` in Redis); when Redis has none yet, test messages stored count.
 */
export async function partnerDetails(db: PrismaClient, pool: Pool, redisGet: (key: string) => Promise<string | null>, prefix: string, id: number) {
  const p = await db.partner.findUnique({ where: { id }, include: { serviceNumbers: { select: { number: true }, orderBy: { number: 'asc' } } } });
  if (!p) return null;
  const { serviceNumbers, ...rest } = p;
  let used: number | null = null;
  const counter = await redisGet(`${prefix}:testq:${id}`).catch(() => null);
  if (counter !== null) used = Number(counter);
  else {
    const { rows } = await pool.query<{ n: string }>('SELECT coalesce(sum(messages), 0)::text AS n FROM message_stat WHERE partner_id = $1 AND test', [id]);
    used = Number(rows[0]?.n ?? 0);
  }
  return {
    ...partnerPublicView(rest),
    serviceNumbers: serviceNumbers.map((s) => s.number),
    testQuotaUsed: used,
    testQuotaLeft: Math.max(0, p.testQuota - used),
    testPeriodOver: p.testEndsAt !== null && p.testEndsAt.getTime() < Date.now(),
  };
}
