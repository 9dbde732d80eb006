import { Module } from '@nestjs/common';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { MessagesModule } from '../messages/messages.module';
import { ReceiptsModule } from '../receipts/receipts.module';
import { SmscModule } from '../smsc/smsc.module';
import { TestModeModule } from '../test-mode/test-mode.module';
import { DispatchService } from './dispatch.service';
import { DispatchWorker } from './dispatch.worker';

@Module({
  imports: [CallbacksModule, MessagesModule, ReceiptsModule, SmscModule, TestModeModule],
  providers: [DispatchService, DispatchWorker],
  exports: [DispatchWorker],
})
export class DispatchModule {}
