import { Module } from '@nestjs/common';
import { HttpModule } from '../http/http.module';
import { SendRoute } from './send.route';
import { SendService } from './send.service';

@Module({
  imports: [HttpModule],
  providers: [SendService, SendRoute],
})
export class SendModule {}
