import { Controller, Get } from '@nestjs/common';
import type { LinkState } from './smsc-link';
import { SmscRegistry } from './smsc-registry.service';

/** `/connections`: bind state, window use and limits of every SMSC connection (the counters are in /metrics). */
@Controller()
export class ConnectionsController {
  constructor(private readonly registry: SmscRegistry) {}

  @Get('connections')
  connections(): { connections: LinkState[] } {
    return { connections: this.registry.states() };
  }
}
