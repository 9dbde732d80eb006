import { type DynamicModule, Module } from '@nestjs/common';
import { HEALTH_CHECKS, HealthController, type HealthCheck, MetricsModule, loggerModule } from '@smsgw/common';
import { SIMULATOR_CONFIG, type SimulatorConfig } from './config';
import { ControlController } from './control/control.controller';
import { SimulatorControl } from './control/simulator-control';
import { MoService } from './mo/mo.service';
import { ReceiptService } from './receipts/receipt.service';
import { SessionRegistry } from './smpp/session-registry';
import { SmppServer } from './smpp/smpp-server';
import { SimulatorCounters } from './state/counters';
import { RandomSource } from './state/random-source';
import { SettingsStore } from './state/runtime-settings';
import { SubmitLog } from './submits/submit-log';
import { SubmitService } from './submits/submit.service';

@Module({})
export class AppModule {
  static forRoot(config: SimulatorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [loggerModule('smsc-simulator', config.logLevel), MetricsModule.forRoot({ METRICS_PORT: config.metricsPort, METRICS_HOST: config.metricsHost })],
      controllers: [ControlController, HealthController],
      providers: [
        { provide: SIMULATOR_CONFIG, useValue: config },
        SettingsStore,
        RandomSource,
        SimulatorCounters,
        SessionRegistry,
        SubmitLog,
        ReceiptService,
        SubmitService,
        MoService,
        SmppServer,
        SimulatorControl,
        {
          provide: HEALTH_CHECKS,
          inject: [SmppServer],
          useFactory: (smpp: SmppServer): HealthCheck[] => [
            {
              name: 'smpp',
              check: async () => {
                if (!smpp.listening) throw new Error('SMPP listener is not open');
              },
            },
          ],
        },
      ],
    };
  }
}
