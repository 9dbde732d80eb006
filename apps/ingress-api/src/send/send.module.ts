import { Module } from '@nestjs/common';
import { HttpModule } from '../http/http.module';
import { LimitsService } from './limits.service';
import { MessageWriter } from './message-writer.service';
import { SendController } from './send.controller';
import { SendService } from './send.service';

@Module({
  imports: [HttpModule],
  controllers: [SendController],
  providers: [SendService, LimitsService, MessageWriter],
})
export class SendModule {}
