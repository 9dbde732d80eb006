import { Controller, Get, Inject, Res } from '@nestjs/common';

export interface HealthCheck {
  name: string;
  check(): Promise<void>;
}
export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');

/** `/health`: 200 when every dependency answers, 503 with the failing ones otherwise. */
@Controller()
export class HealthController {
  constructor(@Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[]) {}

  @Get('health')
  async health(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<Record<string, string>> {
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

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
