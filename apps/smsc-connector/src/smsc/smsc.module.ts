import { Module } from '@nestjs/common';
import { InboundService } from '../inbound/inbound.service';
import { MessagesModule } from '../messages/messages.module';
import { MoModule } from '../mo/mo.module';
import { ReceiptsModule } from '../receipts/receipts.module';
import { ConnectionsController } from './connections.controller';
import { SmscRegistry } from './smsc-registry.service';

/** The SMPP side: connections to the SMSCs and what arrives on them. */
@Module({
  imports: [ReceiptsModule, MoModule, MessagesModule],
  controllers: [ConnectionsController],
  providers: [SmscRegistry, InboundService],
  exports: [SmscRegistry, InboundService],
})
export class SmscModule {}
