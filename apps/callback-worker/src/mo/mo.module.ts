import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { MoOrder } from './mo-order.service';
import { MoProcessor } from './mo.processor';
import { MoReplyWriter } from './mo-reply.service';
import { MoService } from './mo.service';

@Module({
  imports: [DeliveryModule],
  providers: [MoProcessor, MoService, MoOrder, MoReplyWriter],
  exports: [MoProcessor, MoReplyWriter, MoOrder],
})
export class MoModule {}
