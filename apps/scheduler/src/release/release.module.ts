import { Module } from '@nestjs/common';
import { ExpiryModule } from '../expiry/expiry.module';
import { JobsModule } from '../jobs/jobs.module';
import { ReleaseService } from './release.service';

@Module({ imports: [JobsModule, ExpiryModule], providers: [ReleaseService], exports: [ReleaseService] })
export class ReleaseModule {}
