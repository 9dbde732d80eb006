import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController, MetricsModule, loggerModule, Startup } from '@smsgw/common';
import { CancelModule } from './cancel/cancel.module';
import { IntakeLifecycle, IntakeModule } from '@smsgw/intake';
import { INGRESS_CONFIG, intakeConfig, type IngressConfig } from './config';
import { SendModule } from './send/send.module';
import { StatusModule } from './status/status.module';

@Module({})
export class AppModule {
  static forRoot(config: IngressConfig): DynamicModule {
    const configModule: DynamicModule = {
      module: class IngressConfigModule {},
      global: true,
      providers: [{ provide: INGRESS_CONFIG, useValue: config }],
      exports: [INGRESS_CONFIG],
    };
    return {
      module: AppModule,
      imports: [configModule, loggerModule('ingress-api', config.LOG_LEVEL, 'all'), IntakeModule.forRoot(intakeConfig(config)), SendModule, StatusModule, CancelModule, MetricsModule.forRoot(config)],
      controllers: [HealthController],
      providers: [Startup, IntakeLifecycle],
    };
  }
}
