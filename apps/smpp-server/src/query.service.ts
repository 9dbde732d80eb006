import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { ExtStatus, MessageStatus } from '@smsgw/contracts';
import { cancelMessage, isMessageId, messageState, PG_POOL, type MessageState } from '@smsgw/intake';
import { smppAbsoluteTime, SmppStatus, type Pdu, type PduInput } from '@smsgw/sms';

/** SMPP 3.4 message_state values (section 5.2.28). */
export const MessageStateCode = {
  ENROUTE: 1,
  DELIVERED: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIVERABLE: 5,
  ACCEPTED: 6,
  UNKNOWN: 7,
  REJECTED: 8,
} as const;

/**
 * The SMPP message_state of a platform status: held (1) and handed over (0) are ENROUTE, 2
 * DELIVERED, 8 (cancelled) DELETED; 5 is EXPIRED when its reason is an expiry (2, 16), REJECTED
 * when the SMSC refused it (15), else UNDELIVERABLE.
 */
export function smppMessageState(s: MessageState): number {
  switch (s.status) {
    case MessageStatus.ACCEPTED:
    case MessageStatus.SUBMITTED:
      return MessageStateCode.ENROUTE;
    case MessageStatus.DELIVERED:
      return MessageStateCode.DELIVERED;
    case MessageStatus.CANCELLED:
      return MessageStateCode.DELETED;
    case MessageStatus.UNDELIVERED:
      if (s.extStatus === ExtStatus.EXPIRED || s.extStatus === ExtStatus.EXPIRED_IN_PLATFORM) return MessageStateCode.EXPIRED;
      if (s.extStatus === ExtStatus.REJECTED_AT_SUBMISSION) return MessageStateCode.REJECTED;
      return MessageStateCode.UNDELIVERABLE;
    default:
      return MessageStateCode.UNKNOWN;
  }
}

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
        message_state: smppMessageState(state),
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
