import { Module } from '@nestjs/common';
import { PartnerSettings } from '../partners/partner-settings.service';
import { CallbackLog } from './callback-log.service';
import { HttpSender } from './http-sender.service';
import { PartnerGate } from './partner-gate.service';
import { SmppRelay } from './smpp-relay.service';

/** What DLR and MO pushes share: partner settings, HTTP, the SMPP relay, the partner gate, the attempt log. */
@Module({
  providers: [PartnerSettings, HttpSender, SmppRelay, PartnerGate, CallbackLog],
  exports: [PartnerSettings, HttpSender, SmppRelay, PartnerGate, CallbackLog],
})
export class DeliveryModule {}
