import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController, MetricsModule, loggerModule } from '@smsgw/common';
import { CALLBACK_CONFIG, type CallbackConfig } from './config';
import { DlrModule } from './dlr/dlr.module';
import { InfraModule } from './infra/infra.module';
import { MoModule } from './mo/mo.module';
import { ParkingModule } from './parking/parking.module';

@Module({})
export class AppModule {
  static forRoot(config: CallbackConfig): DynamicModule {
    const configModule: DynamicModule = {
      module: class CallbackConfigModule {},
      global: true,
      providers: [{ provide: CALLBACK_CONFIG, useValue: config }],
      exports: [CALLBACK_CONFIG],
    };
    return {
      module: AppModule,
      imports: [configModule, loggerModule('callback-worker', config.LOG_LEVEL, ['health', 'metrics']), InfraModule, DlrModule, MoModule, ParkingModule, MetricsModule.forRoot(config)],
      controllers: [HealthController],
    };
  }
}
