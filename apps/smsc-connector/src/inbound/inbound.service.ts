import { Injectable, Logger } from '@nestjs/common';
import type { PDU } from 'smpp';
import { isReceiptEsmClass, receiptFromDeliverSm } from '@smsgw/sms';
import { connectorMetrics } from '../metrics';
import { MoService } from '../mo/mo.service';
import { ReceiptService } from '../receipts/receipt.service';
import { ESME_ROK } from '../smpp/smpp-session';
import { readDeliverSm } from './deliver-sm';

/**
 * A deliver_sm from an SMSC is a delivery receipt or a subscriber's message (MO). Resolves with
 * the command_status of the answer once the effect is stored; a rejection makes the session
 * answer with a temporary error, so that the SMSC sends it again.
 */
@Injectable()
export class InboundService {
  private readonly log = new Logger(InboundService.name);

  constructor(
    private readonly receipts: ReceiptService,
    private readonly mo: MoService,
  ) {}

  async handle(smscConnectionId: number, connectionName: string, pdu: PDU): Promise<number> {
    const deliver = readDeliverSm(pdu);
    const receipt = receiptFromDeliverSm(deliver);
    if (receipt) {
      await this.receipts.onReceipt(smscConnectionId, connectionName, receipt);
      return ESME_ROK;
    }
    if (isReceiptEsmClass(deliver.esm_class)) {
      // Flagged as a receipt, but without an id or a state: nothing to match it to. Asking for a
      // resend would bring the same bytes back, so it is acknowledged and counted.
      connectorMetrics.receipts.inc({ connection: connectionName, status: 'unparseable' });
      this.log.warn(`unparseable receipt on ${connectionName} from ${deliver.sourceAddr}`);
      return ESME_ROK;
    }
    await this.mo.onMoSegment(smscConnectionId, connectionName, deliver);
    return ESME_ROK;
  }
}
