import { Module } from '@nestjs/common';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { MoService } from './mo.service';

@Module({ imports: [CallbacksModule], providers: [MoService], exports: [MoService] })
export class MoModule {}
