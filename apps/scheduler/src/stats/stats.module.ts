import { Module } from '@nestjs/common';
import { StatsRollup } from './stats-rollup.service';

@Module({ providers: [StatsRollup], exports: [StatsRollup] })
export class StatsModule {}
