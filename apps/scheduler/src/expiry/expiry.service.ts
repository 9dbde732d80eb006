import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { ExtStatus, MessageStatus } from '@smsgw/contracts';
import { PG_POOL } from '../infra/tokens';
import { Jobs, type ReportRef } from '../jobs/jobs.service';
import { schedulerMetrics } from '../metrics';

const EXPIRE_SQL = `
UPDATE message m SET status = ${MessageStatus.UNDELIVERED}, ext_status = ${ExtStatus.EXPIRED_IN_PLATFORM}, done_at = $2, updated_at = $2
FROM partner p
WHERE m.id = ANY($1::bigint[]) AND m.status = ${MessageStatus.ACCEPTED} AND m.valid_until <= $2 AND p.id = m.partner_id
RETURNING m.id::text AS id, m.partner_id, p.status_url IS NOT NULL AS wants_dlr`;

/**
 * Ends held messages (status 1) whose validity ran out before they were handed over: 5 / 16
 * (PROTOCOL §4), with a delivery report for partners with a status URL. Guarded by status 1 like
 * the connector's claim and /cancel, so a message the connector took meanwhile is left to it.
 * The connector does the same when it meets such a message in a job; this covers the messages no
 * job brings to it in time (postponed past validity, a window that never opened, a queue
 * backlog, a lost job).
 */
@Injectable()
export class Expiry {
  private readonly log = new Logger(Expiry.name);

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly jobs: Jobs,
  ) {}

  /** Marks them expired on `client` (inside the caller's transaction); returns the reports owed. */
  async expire(client: PoolClient | Pool, ids: string[], now: Date, found: 'release' | 'sweep'): Promise<{ expired: number; reports: ReportRef[] }> {
    if (ids.length === 0) return { expired: 0, reports: [] };
    const { rows } = await client.query<{ id: string; partner_id: number; wants_dlr: boolean }>(EXPIRE_SQL, [ids, now]);
    schedulerMetrics.expired.inc({ found }, rows.length);
    const reports = rows.filter((r) => r.wants_dlr).map((r) => ({ messageId: r.id, partnerId: r.partner_id, status: MessageStatus.UNDELIVERED }) as const);
    return { expired: rows.length, reports };
  }

  /** Queues the reports after the commit. A failure is logged: the report sweep queues them later. */
  async report(reports: ReportRef[]): Promise<void> {
    if (reports.length === 0) return;
    await this.jobs.reports(reports).catch((e: Error) => {
      this.log.warn(`could not queue ${reports.length} report(s) of expired messages (${e.message}); the report sweep will`);
    });
  }

  /** Expires in a statement of its own, then reports. */
  async expireNow(ids: string[], now: Date, found: 'release' | 'sweep'): Promise<number> {
    const { expired, reports } = await this.expire(this.pool, ids, now, found);
    await this.report(reports);
    return expired;
  }
}
