import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { MessageStatus } from '@smsgw/contracts';
import { PG_POOL } from '../infra/tokens';
import { ProtocolError } from '../http/answer';
import type { Authenticated } from '../http/request-context';
import { isMessageId } from '../status/status.service';

/**
 * `/cancel` (PROTOCOL §3). The update is guarded by status 1, the same guard every component
 * uses to take a message further, so a message is either cancelled or sent, never both.
 */
@Injectable()
export class CancelService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async cancel(ctx: Authenticated): Promise<void> {
    const name = ctx.partner.paramName('transactionId');
    const id = ctx.param('transactionId');
    if (!id) throw new ProtocolError(400, `Missing parameter: ${name}`);
    if (!isMessageId(id)) throw new ProtocolError(400, `Invalid parameter: ${name} is not a message id`);
    const { rows } = await this.pool.query<{ status: number; cancelled: boolean }>(
      `WITH cancelled AS (
         UPDATE message SET status = $3, updated_at = now(), done_at = now()
         WHERE id = $1 AND partner_id = $2 AND status = $4
         RETURNING status
       )
       SELECT status, true AS cancelled FROM cancelled
       UNION ALL
       SELECT status, false FROM message WHERE id = $1 AND partner_id = $2 AND NOT EXISTS (SELECT 1 FROM cancelled)`,
      [id, ctx.partner.id, MessageStatus.CANCELLED, MessageStatus.ACCEPTED],
    );
    const row = rows[0];
    if (!row) throw new ProtocolError(400, `Unknown ${name}`);
    if (row.cancelled || row.status === MessageStatus.CANCELLED) return;
    throw new ProtocolError(406, 'Already sent');
  }
}
