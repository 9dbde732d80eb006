import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { Expiry } from './expiry.service';

@Module({ imports: [JobsModule], providers: [Expiry], exports: [Expiry] })
export class ExpiryModule {}
