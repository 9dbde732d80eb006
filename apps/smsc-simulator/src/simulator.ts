import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { loadSimulatorConfig, type SimulatorConfig } from './config';
import { SimulatorControl } from './control/simulator-control';
import { SmppServer } from './smpp/smpp-server';

export interface RunningSimulator {
  smppPort: number;
  httpPort: number;
  config: SimulatorConfig;
  app: NestFastifyApplication;
  /** The control API without HTTP: inject MO, read counters and submits, set rules and settings, reset. */
  control: SimulatorControl;
  /**
   * Stops both listeners; both ports can be bound again as soon as it resolves. By default bound
   * ESMEs get an unbind first (1 s to answer); `{ unbind: false }` just drops them, like a crash.
   */
  close(options?: { unbind?: boolean }): Promise<void>;
}

/** Builds the application; `listen` starts HTTP, and the SMPP listener opens when the app boots. */
export async function createSimulatorApp(config: SimulatorConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter(), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  return app;
}

/**
 * Starts a simulator in this process. Unset fields take the process defaults (see config.ts),
 * except that ports default to 0 (random, read them from the result) and logging to silent.
 */
export async function startSimulator(overrides: Partial<SimulatorConfig> = {}): Promise<RunningSimulator> {
  // An explicit `undefined` (e.g. `{ smppPort: maybePort }`) means "the default", not "unset".
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<SimulatorConfig>;
  const config: SimulatorConfig = {
    ...loadSimulatorConfig({}),
    smppPort: 0,
    httpPort: 0,
    logLevel: 'silent',
    ...given,
  };
  const app = await createSimulatorApp(config);
  try {
    await app.listen({ port: config.httpPort, host: config.httpHost });
  } catch (e) {
    await app.close().catch(() => undefined);
    throw e;
  }
  const smpp = app.get(SmppServer);
  return {
    smppPort: smpp.port,
    httpPort: (app.getHttpServer().address() as AddressInfo).port,
    config,
    app,
    control: app.get(SimulatorControl),
    close: async (options) => {
      smpp.setUnbindOnClose(options?.unbind ?? true);
      await app.close();
    },
  };
}
