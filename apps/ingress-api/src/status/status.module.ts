import { Module } from '@nestjs/common';
import { HttpModule } from '../http/http.module';
import { StatusController } from './status.controller';
import { StatusService } from './status.service';

@Module({ imports: [HttpModule], controllers: [StatusController], providers: [StatusService] })
export class StatusModule {}
