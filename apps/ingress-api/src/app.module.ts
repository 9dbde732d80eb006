import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController, MetricsModule, loggerModule, Startup } from '@smsgw/common';
import { CancelModule } from './cancel/cancel.module';
import { INGRESS_CONFIG, type IngressConfig } from './config';
import { InfraModule } from './infra/infra.module';
import { IngressLifecycle } from './lifecycle.service';
import { PartnersModule } from './partners/partners.module';
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
      imports: [configModule, loggerModule('ingress-api', config.LOG_LEVEL, 'all'), InfraModule, PartnersModule, SendModule, StatusModule, CancelModule, MetricsModule.forRoot(config)],
      controllers: [HealthController],
      providers: [Startup, IngressLifecycle],
    };
  }
}
