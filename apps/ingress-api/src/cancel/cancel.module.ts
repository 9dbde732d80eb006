import { Module } from '@nestjs/common';
import { HttpModule } from '../http/http.module';
import { CancelController } from './cancel.controller';
import { CancelService } from './cancel.service';

@Module({ imports: [HttpModule], controllers: [CancelController], providers: [CancelService] })
export class CancelModule {}
