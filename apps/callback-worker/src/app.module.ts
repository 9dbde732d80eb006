import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController, MetricsModule, loggerModule, Startup } from '@smsgw/common';
import { CALLBACK_CONFIG, type CallbackConfig } from './config';
import { DeliveryModule } from './delivery/delivery.module';
import { DlrModule } from './dlr/dlr.module';
import { InfraModule } from './infra/infra.module';
import { CallbackLifecycle } from './lifecycle.service';
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
      imports: [configModule, loggerModule('callback-worker', config.LOG_LEVEL, ['health', 'metrics']), InfraModule, DeliveryModule, DlrModule, MoModule, ParkingModule, MetricsModule.forRoot(config)],
      controllers: [HealthController],
      providers: [Startup, CallbackLifecycle],
    };
  }
}
