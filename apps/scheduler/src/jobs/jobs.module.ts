import { Module } from '@nestjs/common';
import { Jobs } from './jobs.service';

@Module({ providers: [Jobs], exports: [Jobs] })
export class JobsModule {}
