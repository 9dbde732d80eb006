import { Module } from '@nestjs/common';
import { Partitions } from './partitions.service';

@Module({ providers: [Partitions], exports: [Partitions] })
export class StoreModule {}
