import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController, loggerModule, MetricsModule, Startup } from '@smsgw/common';
import { CONNECTOR_CONFIG, type ConnectorConfig } from './config';
import { DispatchModule } from './dispatch/dispatch.module';
import { InfraModule } from './infra/infra.module';
import { ConnectorLifecycle } from './lifecycle.service';
import { MoModule } from './mo/mo.module';
import { ReceiptsModule } from './receipts/receipts.module';
import { SmscModule } from './smsc/smsc.module';
import { TestModeModule } from './test-mode/test-mode.module';

@Module({})
export class AppModule {
  static forRoot(config: ConnectorConfig): DynamicModule {
    const configModule: DynamicModule = {
      module: class ConnectorConfigModule {},
      global: true,
      providers: [{ provide: CONNECTOR_CONFIG, useValue: config }],
      exports: [CONNECTOR_CONFIG],
    };
    return {
      module: AppModule,
      imports: [configModule, loggerModule('smsc-connector', config.LOG_LEVEL), InfraModule, SmscModule, ReceiptsModule, MoModule, TestModeModule, DispatchModule, MetricsModule.forRoot(config)],
      controllers: [HealthController],
      providers: [Startup, ConnectorLifecycle],
    };
  }
}
