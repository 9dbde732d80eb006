import { Controller, Get, Inject, Optional, Res } from '@nestjs/common';
import { HEALTH_CHECKS, type HealthCheck, withTimeout } from './dependencies';
import { Startup } from './startup';

/**
 * `/health`: 200 when every dependency answers, 503 with the failing ones otherwise. While the
 * service is still starting (see Startup), 503 with what it waits for, without checking again.
 */
@Controller()
export class HealthController {
  constructor(
    @Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[],
    @Optional() private readonly startup?: Startup,
  ) {}

  @Get('health')
  async health(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<Record<string, string>> {
    if (this.startup && !this.startup.ready) {
      res.status(503);
      return this.startup.report();
    }
    const results: Record<string, string> = {};
    let ok = true;
    await Promise.all(
      this.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), 2000);
          results[c.name] = 'ok';
        } catch (e) {
          ok = false;
          results[c.name] = `down: ${(e as Error).message}`;
        }
      }),
    );
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'down', ...results };
  }
}
