import { Module } from '@nestjs/common';
import { StatsModule } from '../stats/stats.module';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';

@Module({ imports: [StatsModule], controllers: [MessagesController], providers: [MessagesService] })
export class MessagesModule {}
