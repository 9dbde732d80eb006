import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { SMPP_RELAY_PATH, smppRelayRequestSchema, type SmppRelayResult } from '@smsgw/contracts';
import { DeliverService } from './deliver.service';

/**
 * The relay on the internal HTTP port (beside /health, /metrics and /binds; never exposed to
 * partners): a callback worker hands over a report or MO of a partner bound here, and the answer
 * comes once the partner acknowledged the deliver_sm, or says why not.
 */
@Controller()
export class DeliverController {
  constructor(private readonly delivers: DeliverService) {}

  @Post(SMPP_RELAY_PATH.slice(1))
  @HttpCode(200)
  async deliver(@Body() body: unknown): Promise<SmppRelayResult> {
    const parsed = smppRelayRequestSchema.safeParse(body);
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return this.delivers.deliver(parsed.data);
  }
}
