import { Module } from '@nestjs/common';
import { QueueGauges } from './queue-gauges.service';

@Module({ providers: [QueueGauges] })
export class QueuesModule {}
