import { Module } from '@nestjs/common';
import { StatsModule } from '../stats/stats.module';
import { MoController } from './mo.controller';

@Module({ imports: [StatsModule], controllers: [MoController] })
export class MoModule {}
