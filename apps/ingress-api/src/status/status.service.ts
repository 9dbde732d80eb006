import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { isMessageId } from '@smsgw/intake';
import { PG_POOL } from '../infra/tokens';
import { ProtocolError, type StatusLine } from '../http/answer';
import type { Authenticated } from '../http/request-context';

export const MAX_STATUS_IDS = 100;

/** `/status` by the platform's ids, and by the partner's own id (bench:store times both). */
export const STATUS_BY_IDS_SQL = 'SELECT id::text AS id, partner_msg_id, status, ext_status, updated_at, segments FROM message WHERE partner_id = $1 AND id = ANY($2::bigint[])';
/**
 * By the partner's id: its key row (message_key holds the unique key the partitioned table cannot),
 * then the message by STATUS_BY_IDS_SQL. Two statements, each planned over what it reads: in one,
 * the id would be known only at run time, and the message's lookup planned over every partition.
 */
export const MESSAGE_BY_PARTNER_MSG_ID_SQL = 'SELECT message_id::text AS id FROM message_key WHERE partner_id = $1 AND partner_msg_id = $2';

interface Row {
  id: string;
  partner_msg_id: string | null;
  status: number;
  ext_status: number | null;
  updated_at: Date;
  segments: number;
}

/** `/status` (PROTOCOL §2): a partner sees its own messages only; others' ids read as unknown. */
@Injectable()
export class StatusService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async status(ctx: Authenticated): Promise<StatusLine[]> {
    const { partner } = ctx;
    if (!partner.row.polling_enabled) throw new ProtocolError(403, 'Status polling is not enabled for you');
    const ids = ctx.param('transactionId');
    const partnerMsgId = ctx.param('partnerMsgId');
    if (ids) return this.byIds(partner.id, ids, partner.paramName('transactionId'));
    if (partnerMsgId) {
      // PostgreSQL text cannot hold U+0000 (the query would fail: 500); no stored id has one.
      if (partnerMsgId.includes('\u0000')) throw new ProtocolError(400, `Invalid parameter: ${partner.paramName('partnerMsgId')} contains a NUL character`);
      return this.byPartnerMsgId(partner.id, partnerMsgId);
    }
    throw new ProtocolError(400, `Missing parameter: ${partner.paramName('transactionId')} or ${partner.paramName('partnerMsgId')}`);
  }

  private async byIds(partnerId: number, list: string, paramName: string): Promise<StatusLine[]> {
    const asked = list.split(',').map((s) => s.trim()).filter(Boolean);
    if (asked.length === 0) throw new ProtocolError(400, `Missing parameter: ${paramName}`);
    if (asked.length > MAX_STATUS_IDS) throw new ProtocolError(400, `Invalid parameter: ${paramName}: at most ${MAX_STATUS_IDS} ids`);
    const valid = asked.filter(isMessageId);
    const found = new Map<string, Row>();
    if (valid.length > 0) {
      const { rows } = await this.pool.query<Row>(STATUS_BY_IDS_SQL, [partnerId, valid]);
      for (const r of rows) found.set(r.id, r);
    }
    return asked.map((id) => line(id, found.get(id)));
  }

  private async byPartnerMsgId(partnerId: number, partnerMsgId: string): Promise<StatusLine[]> {
    const { rows: keys } = await this.pool.query<{ id: string }>({ name: 'status.messageKey', text: MESSAGE_BY_PARTNER_MSG_ID_SQL, values: [partnerId, partnerMsgId] });
    const id = keys[0]?.id;
    const { rows } = id === undefined ? { rows: [] } : await this.pool.query<Row>(STATUS_BY_IDS_SQL, [partnerId, [id]]);
    return rows.length > 0 ? [line(rows[0]!.id, rows[0])] : [line(partnerMsgId, undefined)];
  }
}

function line(id: string, row: Row | undefined): StatusLine {
  if (!row) return { transactionId: id, status: -1, unifiedExtStatus: 0, updatedAt: null, segments: 0 };
  return { transactionId: row.id, status: row.status, unifiedExtStatus: row.ext_status ?? 0, updatedAt: row.updated_at, segments: row.segments };
}
