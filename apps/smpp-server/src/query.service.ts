import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { MessageStatus } from '@smsgw/contracts';
import { cancelMessage, isMessageId, messageState, PG_POOL } from '@smsgw/intake';
import { smppAbsoluteTime, smppMessageState, SmppStatus, type Pdu, type PduInput } from '@smsgw/sms';

/** `query_sm` and `cancel_sm`: `/status` and `/cancel` for one message of the bound partner. */
@Injectable()
export class QueryService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async query(partnerId: number, pdu: Pdu): Promise<PduInput> {
    const id = String(pdu.params.message_id ?? '');
    const refuse = (status: number): PduInput => ({ command: 'query_sm_resp', sequence: pdu.sequence, status });
    if (!isMessageId(id)) return refuse(SmppStatus.ESME_RINVMSGID);
    const state = await messageState(this.pool, partnerId, id);
    if (!state) return refuse(SmppStatus.ESME_RQUERYFAIL);
    const final = state.status !== MessageStatus.ACCEPTED && state.status !== MessageStatus.SUBMITTED;
    return {
      command: 'query_sm_resp',
      sequence: pdu.sequence,
      params: {
        message_id: id,
        final_date: final && state.doneAt ? smppAbsoluteTime(state.doneAt) : '',
        message_state: smppMessageState(state.status, state.extStatus),
        error_code: Math.min(255, state.extStatus ?? 0),
      },
    };
  }

  /** Cancels one message by its id; cancelling by service_type and addresses alone is not taken. */
  async cancel(partnerId: number, pdu: Pdu): Promise<PduInput> {
    const id = String(pdu.params.message_id ?? '');
    const answer = (status: number): PduInput => ({ command: 'cancel_sm_resp', sequence: pdu.sequence, status });
    if (id === '') return answer(SmppStatus.ESME_RCANCELFAIL);
    if (!isMessageId(id)) return answer(SmppStatus.ESME_RINVMSGID);
    const outcome = await cancelMessage(this.pool, partnerId, id);
    return answer(outcome === 'cancelled' ? SmppStatus.ESME_ROK : SmppStatus.ESME_RCANCELFAIL);
  }
}
