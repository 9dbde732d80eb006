import { Module } from '@nestjs/common';
import { StatsRollup } from './stats-rollup.service';
import { TableAnalyze } from './table-analyze.service';

@Module({ providers: [StatsRollup, TableAnalyze], exports: [StatsRollup, TableAnalyze] })
export class StatsModule {}
