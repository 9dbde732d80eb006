import { Module } from '@nestjs/common';
import { HttpModule } from '../http/http.module';
import { LimitsService } from './limits.service';
import { MessageWriter } from './message-writer.service';
import { SendRoute } from './send.route';
import { SendService } from './send.service';

@Module({
  imports: [HttpModule],
  providers: [SendService, LimitsService, MessageWriter, SendRoute],
})
export class SendModule {}
