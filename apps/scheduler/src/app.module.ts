import { type DynamicModule, Module } from '@nestjs/common';
import { HealthController, MetricsModule, loggerModule, Startup } from '@smsgw/common';
import { CLOCK, type Clock } from './clock';
import { SCHEDULER_CONFIG, type SchedulerConfig } from './config';
import { InfraModule } from './infra/infra.module';
import { SchedulerLifecycle } from './lifecycle.service';
import { OutboxModule } from './outbox/outbox.module';
import { QueuesModule } from './queues/queues.module';
import { ReleaseModule } from './release/release.module';
import { StatsModule } from './stats/stats.module';
import { StoreModule } from './store/store.module';

@Module({})
export class AppModule {
  static forRoot(config: SchedulerConfig, clock: Clock): DynamicModule {
    const configModule: DynamicModule = {
      module: class SchedulerConfigModule {},
      global: true,
      providers: [
        { provide: SCHEDULER_CONFIG, useValue: config },
        { provide: CLOCK, useValue: clock },
      ],
      exports: [SCHEDULER_CONFIG, CLOCK],
    };
    return {
      module: AppModule,
      imports: [configModule, loggerModule('scheduler', config.LOG_LEVEL, ['health', 'metrics']), InfraModule, ReleaseModule, OutboxModule, StatsModule, StoreModule, QueuesModule, MetricsModule.forRoot(config)],
      controllers: [HealthController],
      providers: [Startup, SchedulerLifecycle],
    };
  }
}
