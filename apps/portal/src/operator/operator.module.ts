import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { SmppBinds } from '../http/smpp-binds.service';
import { ConnectorState } from './connector-state.service';
import { PartnersController } from './partners.controller';
import { QueuesController } from './queues.controller';
import { QueuesService } from './queues.service';
import { SmscController } from './smsc.controller';
import { UsersController } from './users.controller';

@Module({
  controllers: [PartnersController, UsersController, SmscController, QueuesController, AuditController],
  providers: [ConnectorState, SmppBinds, QueuesService],
  exports: [QueuesService],
})
export class OperatorModule {}
