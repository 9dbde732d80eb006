import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Controller,
  type DynamicModule,
  Get,
  Header,
  Inject,
  Injectable,
  Logger,
  Module,
  NotFoundException,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process; default Node metrics included. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

/**
 * A counter in the process's registry, registered once: tests run several instances of an app
 * in one process, and they share the series (a name may be registered only once per registry).
 */
export function registeredCounter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
  return (metricsRegistry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}

/** A gauge in the process's registry, registered once (see `registeredCounter`). */
export function registeredGauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
  return (metricsRegistry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [metricsRegistry] });
}

@Controller()
export class MetricsController {
  @Get('metrics')
  @Header('Content-Type', metricsRegistry.contentType)
  async metrics(): Promise<string> {
    return metricsRegistry.metrics();
  }
}

/**
 * With METRICS_PORT set, the main port answers /metrics with 404 explicitly: without this route a
 * catch-all of the app (the portal's web UI) would answer it with a page instead.
 */
@Controller()
export class MetricsElsewhereController {
  @Get('metrics')
  metrics(): never {
    throw new NotFoundException();
  }
}

/** Where /metrics is served: on the app's own port (port undefined) or on a port of its own. */
export interface MetricsListen {
  METRICS_PORT?: number;
  METRICS_HOST: string;
}
const METRICS_LISTEN = Symbol('METRICS_LISTEN');

/**
 * A plain HTTP listener with /metrics only, for METRICS_PORT: it starts when the app boots (so a
 * port in use fails the start like the main port does) and closes when the app closes.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: http.Server | null = null;

  constructor(@Inject(METRICS_LISTEN) private readonly listen: MetricsListen) {}

  /** The bound port (useful with METRICS_PORT=0). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
        metricsRegistry.metrics().then(
          (text) => {
            res.writeHead(200, { 'Content-Type': metricsRegistry.contentType });
            res.end(req.method === 'HEAD' ? undefined : text);
          },
          (e: unknown) => {
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end(`${(e as Error).message}\n`);
          },
        );
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listen.METRICS_PORT, this.listen.METRICS_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    new Logger('metrics').log(`/metrics on ${this.listen.METRICS_HOST}:${this.port} (METRICS_PORT)`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * `/metrics` of a service, the same way in every app: on the app's own port when METRICS_PORT is
 * unset (as before it existed), otherwise only on METRICS_HOST:METRICS_PORT, so that the public
 * port (partner API, portal) does not show the platform's internals to whoever reaches it.
 */
@Module({})
export class MetricsModule {
  static forRoot(listen: MetricsListen): DynamicModule {
    if (listen.METRICS_PORT === undefined) return { module: MetricsModule, controllers: [MetricsController] };
    return {
      module: MetricsModule,
      controllers: [MetricsElsewhereController],
      providers: [{ provide: METRICS_LISTEN, useValue: { METRICS_PORT: listen.METRICS_PORT, METRICS_HOST: listen.METRICS_HOST } }, MetricsServer],
      exports: [MetricsServer],
    };
  }
}
