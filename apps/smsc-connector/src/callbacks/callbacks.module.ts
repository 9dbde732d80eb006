import { Module } from '@nestjs/common';
import { PartnerCallbacks } from './partner-callbacks.service';

@Module({ providers: [PartnerCallbacks], exports: [PartnerCallbacks] })
export class CallbacksModule {}
