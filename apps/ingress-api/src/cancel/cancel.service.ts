import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { cancelMessage, isMessageId } from '@smsgw/intake';
import { PG_POOL } from '../infra/tokens';
import { ProtocolError } from '../http/answer';
import type { Authenticated } from '../http/request-context';

/** `/cancel` (PROTOCOL §3): `cancelMessage`, the one the SMPP server's `cancel_sm` uses too. */
@Injectable()
export class CancelService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async cancel(ctx: Authenticated): Promise<void> {
    const name = ctx.partner.paramName('transactionId');
    const id = ctx.param('transactionId');
    if (!id) throw new ProtocolError(400, `Missing parameter: ${name}`);
    if (!isMessageId(id)) throw new ProtocolError(400, `Invalid parameter: ${name} is not a message id`);
    const outcome = await cancelMessage(this.pool, ctx.partner.id, id);
    if (outcome === 'unknown') throw new ProtocolError(400, `Unknown ${name}`);
    if (outcome === 'sent') throw new ProtocolError(406, 'Already sent');
  }
}
