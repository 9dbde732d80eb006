import { Module } from '@nestjs/common';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { InboundJournal } from '../inbound/inbound-journal';
import { MoService } from './mo.service';

@Module({ imports: [CallbacksModule], providers: [MoService, InboundJournal], exports: [MoService, InboundJournal] })
export class MoModule {}
