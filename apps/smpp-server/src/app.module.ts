import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController, loggerModule, MetricsModule, Startup } from '@smsgw/common';
import { IntakeLifecycle, IntakeModule } from '@smsgw/intake';
import { BindsController } from './binds.controller';
import { DeliverController } from './deliver.controller';
import { DeliverService } from './deliver.service';
import { intakeConfig, SMPP_SERVER_CONFIG, type SmppServerConfig } from './config';
import { PartnerBinds } from './partner-binds';
import { SmppListener } from './smpp-listener';
import { QueryService } from './query.service';
import { ReceiverRegistry } from './receiver-registry';
import { SubmitService } from './submit.service';

@Module({})
export class AppModule {
  static forRoot(config: SmppServerConfig): DynamicModule {
    const configModule: DynamicModule = {
      module: class SmppServerConfigModule {},
      global: true,
      providers: [{ provide: SMPP_SERVER_CONFIG, useValue: config }],
      exports: [SMPP_SERVER_CONFIG],
    };
    return {
      module: AppModule,
      imports: [configModule, loggerModule('smpp-server', config.LOG_LEVEL, ['health', 'metrics']), IntakeModule.forRoot(intakeConfig(config)), MetricsModule.forRoot(config)],
      controllers: [HealthController, BindsController, DeliverController],
      // IntakeLifecycle: until PostgreSQL and Redis answer and the partners are loaded, binds are
      // refused with ESME_RSYSERR, which clients retry.
      providers: [Startup, IntakeLifecycle, PartnerBinds, SubmitService, QueryService, ReceiverRegistry, SmppListener, DeliverService],
    };
  }
}
