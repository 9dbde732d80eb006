import { Module } from '@nestjs/common';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { MessagesModule } from '../messages/messages.module';
import { ReceiptDeadline } from './receipt-deadline.service';
import { ReceiptService } from './receipt.service';

@Module({
  imports: [CallbacksModule, MessagesModule],
  providers: [ReceiptService, ReceiptDeadline],
  exports: [ReceiptService, ReceiptDeadline],
})
export class ReceiptsModule {}
