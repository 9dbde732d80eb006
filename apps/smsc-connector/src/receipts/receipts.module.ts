import { Module } from '@nestjs/common';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { MessagesModule } from '../messages/messages.module';
import { ParkedReceiptMatcher } from './parked-receipt-matcher.service';
import { ReceiptDeadline } from './receipt-deadline.service';
import { ReceiptService } from './receipt.service';

@Module({
  imports: [CallbacksModule, MessagesModule],
  providers: [ReceiptService, ReceiptDeadline, ParkedReceiptMatcher],
  exports: [ReceiptService, ReceiptDeadline, ParkedReceiptMatcher],
})
export class ReceiptsModule {}
