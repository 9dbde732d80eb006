import { Module } from '@nestjs/common';
import { ExpiryModule } from '../expiry/expiry.module';
import { JobsModule } from '../jobs/jobs.module';
import { DispatchSweep } from './dispatch-sweep.service';
import { OutboxSweep } from './outbox-sweep.service';
import { ReportSweep } from './report-sweep.service';

@Module({ imports: [JobsModule, ExpiryModule], providers: [DispatchSweep, ReportSweep, OutboxSweep], exports: [OutboxSweep] })
export class OutboxModule {}
