import { Module } from '@nestjs/common';
import { MessageStore } from './message-store';

@Module({ providers: [MessageStore], exports: [MessageStore] })
export class MessagesModule {}
