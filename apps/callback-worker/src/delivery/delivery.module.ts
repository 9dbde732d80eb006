import { Module } from '@nestjs/common';
import { PartnerSettings } from '../partners/partner-settings.service';
import { CallbackLog } from './callback-log.service';
import { HttpSender } from './http-sender.service';
import { PartnerGate } from './partner-gate.service';

/** What DLR and MO pushes share: partner settings, HTTP, the partner gate, the attempt log. */
@Module({
  providers: [PartnerSettings, HttpSender, PartnerGate, CallbackLog],
  exports: [PartnerSettings, HttpSender, PartnerGate, CallbackLog],
})
export class DeliveryModule {}
