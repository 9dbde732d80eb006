import { Module } from '@nestjs/common';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { MessagesModule } from '../messages/messages.module';
import { SimulatedOperator } from './simulated-operator.service';
import { TestOutcomeWorker } from './test-outcome.worker';

/** PROTOCOL §8: the simulated operator of test-mode partners. */
@Module({
  imports: [CallbacksModule, MessagesModule],
  providers: [SimulatedOperator, TestOutcomeWorker],
  exports: [SimulatedOperator, TestOutcomeWorker],
})
export class TestModeModule {}
