import { Controller, Get, Query } from '@nestjs/common';
import { CurrentSession, type Session } from '../auth/session';
import { dayPeriod } from '../http/period';
import { partnerScope } from '../http/scope';
import { StatsService, type Dashboard } from './stats.service';

@Controller('api/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  /** `?from=YYYY-MM-DD&to=YYYY-MM-DD` in the partner's time zone (default: the last 7 days). */
  @Get()
  async dashboard(@CurrentSession() s: Session, @Query() q: Record<string, string | undefined>): Promise<Dashboard> {
    const partnerId = partnerScope(s, q.partnerId);
    const zone = await this.stats.partnerZone(partnerId);
    return this.stats.dashboard(partnerId, zone, dayPeriod(zone, q.from, q.to));
  }
}
