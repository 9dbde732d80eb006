import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController, loggerModule, MetricsModule, Startup } from '@smsgw/common';
import { AccountModule } from './account/account.module';
import { AuthModule } from './auth/auth.module';
import { CallbacksModule } from './callbacks/callbacks.module';
import { PORTAL_CONFIG, type PortalConfig } from './config';
import { InfraModule } from './infra/infra.module';
import { PortalLifecycle } from './lifecycle.service';
import { MessagesModule } from './messages/messages.module';
import { MoModule } from './mo/mo.module';
import { OperatorModule } from './operator/operator.module';
import { StatsModule } from './stats/stats.module';

@Module({})
export class AppModule {
  static forRoot(config: PortalConfig): DynamicModule {
    const configModule: DynamicModule = {
      module: class PortalConfigModule {},
      global: true,
      providers: [{ provide: PORTAL_CONFIG, useValue: config }],
      exports: [PORTAL_CONFIG],
    };
    return {
      module: AppModule,
      imports: [configModule, loggerModule('portal', config.LOG_LEVEL), InfraModule, AuthModule, StatsModule, MessagesModule, MoModule, CallbacksModule, AccountModule, OperatorModule, MetricsModule.forRoot(config)],
      controllers: [HealthController],
      providers: [Startup, PortalLifecycle],
    };
  }
}
