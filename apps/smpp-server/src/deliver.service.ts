import { Inject, Injectable } from '@nestjs/common';
import { registeredCounter } from '@smsgw/common';
import type { SmppRelayItem, SmppRelayResult } from '@smsgw/contracts';
import { buildMoDeliverSms, buildReceiptDeliverSm, smppStatusName, type DeliverSm } from '@smsgw/sms';
import { SMPP_SERVER_CONFIG, type SmppServerConfig } from './config';
import { SmppListener } from './smpp-listener';

const deliversTotal = registeredCounter(
  'smsgw_smpp_server_delivers_total',
  'Reports (dlr) and MO relayed to partners as deliver_sm, by outcome (ok: acknowledged; refused: a deliver_sm_resp with an error or a generic_nack; timeout; closed: the bind ended first; no_bind; window_full).',
  ['kind', 'outcome'],
);

/**
 * Sends a partner's report or MO as deliver_sm over one of its receiver or transceiver binds in
 * this instance (the least busy), and says whether the partner acknowledged it. The callback
 * worker that asked records the attempt and retries on failure, as for an HTTP push.
 */
@Injectable()
export class DeliverService {
  constructor(
    private readonly listener: SmppListener,
    @Inject(SMPP_SERVER_CONFIG) private readonly config: SmppServerConfig,
  ) {}

  async deliver(partnerId: number, item: SmppRelayItem, timeoutMs: number): Promise<SmppRelayResult> {
    const pdus: DeliverSm[] =
      item.kind === 'dlr'
        ? [buildReceiptDeliverSm({ ...item, submitDate: new Date(item.submitDate), doneDate: new Date(item.doneDate) })]
        : // The MO id's low octet: segments of one MO share it, consecutive MO differ.
          buildMoDeliverSms({ msisdn: item.msisdn, serviceNumber: item.serviceNumber, text: item.text, reference: Number(BigInt(item.moId) & 0xffn) });
    const candidates = [...this.listener.sessions].filter((s) => s.partner?.id === partnerId && (s.mode === 'receiver' || s.mode === 'transceiver') && !s.closing);
    if (candidates.length === 0) return this.fail(item.kind, 'no_bind', 'no receiver or transceiver bind');
    const session = candidates.reduce((a, b) => (b.delivering < a.delivering ? b : a));
    if (session.delivering + pdus.length > this.config.SMPP_WINDOW) return this.fail(item.kind, 'window_full', `every bind's window is full (${this.config.SMPP_WINDOW} deliver_sm unanswered)`);
    session.delivering += pdus.length;
    let answers;
    try {
      answers = await Promise.all(pdus.map((pdu) => session.request(pdu, timeoutMs)));
    } finally {
      session.delivering -= pdus.length;
    }
    // Per deliver_sm, for the bind's figures (/binds, the portal).
    for (const answer of answers) session.noteDelivered(answer !== null && answer.command !== 'generic_nack' && answer.status === 0);
    for (const answer of answers) {
      if (answer === null) {
        return session.open
          ? this.fail(item.kind, 'timeout', `no deliver_sm_resp within ${timeoutMs} ms (session ${session.id})`)
          : this.fail(item.kind, 'closed', `the bind ended before the deliver_sm_resp (session ${session.id})`);
      }
      if (answer.command === 'generic_nack') return this.fail(item.kind, 'refused', `generic_nack ${smppStatusName(answer.status)}`);
      if (answer.status !== 0) return this.fail(item.kind, 'refused', `deliver_sm_resp ${smppStatusName(answer.status)}`);
    }
    deliversTotal.inc({ kind: item.kind, outcome: 'ok' });
    return { ok: true };
  }

  private fail(kind: string, outcome: string, error: string): SmppRelayResult {
    deliversTotal.inc({ kind, outcome });
    return { ok: false, error };
  }
}

