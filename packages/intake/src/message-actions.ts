import type { Pool } from 'pg';
import { MessageStatus } from '@smsgw/contracts';

/** A message id: positive, at most 19 digits (PostgreSQL bigint). */
const MESSAGE_ID = /^[1-9][0-9]{0,18}$/;
const BIGINT_MAX = 9223372036854775807n;

/** A message id as partners get it: a positive bigint in decimal. */
export function isMessageId(id: string): boolean {
  return MESSAGE_ID.test(id) && BigInt(id) <= BIGINT_MAX;
}

/** What a cancel did: the message is now cancelled (or was), it went out already, or the partner has no such message. */
export type CancelOutcome = 'cancelled' | 'sent' | 'unknown';

/**
 * Cancels a partner's message (`/cancel`, SMPP `cancel_sm`). The update is guarded by status 1, the
 * same guard every component uses to take a message further, so a message is either cancelled or
 * sent, never both. Another partner's id reads as unknown.
 */
export async function cancelMessage(pool: Pool, partnerId: number, id: string): Promise<CancelOutcome> {
  const { rows } = await pool.query<{ status: number; cancelled: boolean }>(
    `WITH cancelled AS (
       UPDATE message SET status = $3, updated_at = now(), done_at = now()
       WHERE id = $1 AND partner_id = $2 AND status = $4
       RETURNING status
     )
     SELECT status, true AS cancelled FROM cancelled
     UNION ALL
     SELECT status, false FROM message WHERE id = $1 AND partner_id = $2 AND NOT EXISTS (SELECT 1 FROM cancelled)`,
    [id, partnerId, MessageStatus.CANCELLED, MessageStatus.ACCEPTED],
  );
  const row = rows[0];
  if (!row) return 'unknown';
  return row.cancelled || row.status === MessageStatus.CANCELLED ? 'cancelled' : 'sent';
}

/** Where a partner's message stands, for `query_sm`. */
export interface MessageState {
  status: number;
  extStatus: number | null;
  doneAt: Date | null;
}

/** A partner's message's status, or null when it has none with this id (another partner's id reads as none). */
export async function messageState(pool: Pool, partnerId: number, id: string): Promise<MessageState | null> {
  const { rows } = await pool.query<{ status: number; ext_status: number | null; done_at: Date | null }>({
    name: 'intake.messageState',
    text: 'SELECT status, ext_status, done_at FROM message WHERE id = $1 AND partner_id = $2',
    values: [id, partnerId],
  });
  const r = rows[0];
  return r ? { status: r.status, extStatus: r.ext_status, doneAt: r.done_at } : null;
}
