import { Controller, Get } from '@nestjs/common';
import { Roles } from '../auth/session';
import { QueuesService } from './queues.service';

/** Queue depths and failures; the full dashboard (jobs, retries) is Bull Board at /operator/queues/. */
@Roles('operator')
@Controller('api/operator/queues')
export class QueuesController {
  constructor(private readonly queues: QueuesService) {}

  @Get()
  async counts() {
    return { queues: await this.queues.counts(), dashboard: '/operator/queues/' };
  }
}
