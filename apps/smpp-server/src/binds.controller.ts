import { Controller, Get } from '@nestjs/common';
import type { SmppBindState } from '@smsgw/contracts';
import { SmppListener } from './smpp-listener';

/**
 * `/binds` on the HTTP port (beside /health and /metrics, not for partners): every bound session
 * of this instance, who, since when, its window and what it sent.
 */
@Controller()
export class BindsController {
  constructor(private readonly listener: SmppListener) {}

  @Get('binds')
  binds(): { binds: SmppBindState[] } {
    return { binds: this.listener.bindStates() };
  }
}
