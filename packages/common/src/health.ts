import { Controller, Get, Inject, Logger, type OnModuleDestroy, Optional, Res } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { HEALTH_CHECKS, type HealthCheck, withTimeout } from './dependencies';
import { metricsRegistry } from './metrics';
import { Startup } from './startup';

/**
 * Checks of a service's own readiness beyond its dependencies (the connector: an SMSC bound).
 * Readiness only: a service's start does not wait for them, as it waits for HEALTH_CHECKS.
 */
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

type Answer = Record<string, string>;

/** The dependency checks of the services started in this process (one, but tests start several): the latest answers. */
const dependencyChecks: HealthCheck[][] = [];
if (!metricsRegistry.getSingleMetric('smsgw_dependency_up')) {
  new Gauge({
    name: 'smsgw_dependency_up',
    help: 'Whether a dependency of the service answers its health check at scrape time (PostgreSQL: SELECT 1, Redis: PING, within 2 s): 1 or 0',
    labelNames: ['dependency'],
    registers: [metricsRegistry],
    async collect() {
      this.reset();
      const checks = dependencyChecks[dependencyChecks.length - 1] ?? [];
      await Promise.all(
        checks.map(async (c) => {
          const ok = await withTimeout(c.check(), 2000).then(() => 1, () => 0);
          this.set({ dependency: c.name }, ok);
        }),
      );
    },
  });
}

/**
 * The probes, on every service's HTTP port:
 * - `/health/live`: 200 while the process answers at all (liveness: restart it when this fails);
 * - `/health/ready`, and `/health` (the same): 200 when every dependency answers and the
 *   service's own readiness checks pass, 503 otherwise; while the service is still starting (see
 *   Startup), 503 with `starting`, without checking again.
 *
 * Answers name each check with `ok`, `down` or `waiting`, never the error behind it (an address,
 * a driver's message): that goes to the log, once when a check goes down and once when it
 * answers again. The same dependency checks feed `smsgw_dependency_up` on /metrics.
 */
@Controller()
export class HealthController implements OnModuleDestroy {
  private readonly log = new Logger('Health');
  /** Checks that were down at their last run, with why. */
  private readonly down = new Map<string, string>();

  constructor(
    @Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[],
    @Optional() private readonly startup?: Startup,
    @Optional() @Inject(READINESS_CHECKS) private readonly readiness: HealthCheck[] = [],
  ) {
    dependencyChecks.push(checks);
  }

  onModuleDestroy(): void {
    const i = dependencyChecks.indexOf(this.checks);
    if (i >= 0) dependencyChecks.splice(i, 1);
  }

  @Get('health/live')
  live(): Answer {
    return { status: 'ok' };
  }

  @Get('health')
  health(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<Answer> {
    return this.ready(res);
  }

  @Get('health/ready')
  async ready(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<Answer> {
    if (this.startup && !this.startup.ready) {
      res.status(503);
      return this.startup.report();
    }
    const results: Answer = {};
    let ok = true;
    await Promise.all(
      [...this.checks, ...(this.readiness ?? [])].map(async (c) => {
        try {
          await withTimeout(c.check(), 2000);
          results[c.name] = 'ok';
          if (this.down.delete(c.name)) this.log.log(`${c.label ?? c.name} answers again`);
        } catch (e) {
          ok = false;
          results[c.name] = 'down';
          const why = (e as Error).message;
          if (this.down.get(c.name) !== why) this.log.warn(`${c.label ?? c.name}${c.address ? ` (${c.address})` : ''} is down: ${why}`);
          this.down.set(c.name, why);
        }
      }),
    );
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'down', ...results };
  }
}
