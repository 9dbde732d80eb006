import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { SMPP_RELAY_PATH, smppRelayItemSchema, smppRelayRequestSchema, type SmppRelayResponse } from '@smsgw/contracts';
import { DeliverService } from './deliver.service';

/**
 * The relay on the internal HTTP port (beside /health, /metrics and /binds; never exposed to
 * partners): a callback worker hands over the reports and MO of partners bound here it has at one
 * moment, and the answer comes once each was acknowledged by its partner or failed.
 */
@Controller()
export class DeliverController {
  constructor(private readonly delivers: DeliverService) {}

  @Post(SMPP_RELAY_PATH.slice(1))
  @HttpCode(200)
  async deliver(@Body() body: unknown): Promise<SmppRelayResponse> {
    const parsed = smppRelayRequestSchema.safeParse(body);
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const { timeoutMs, items } = parsed.data;
    return {
      results: await Promise.all(
        items.map((i) => {
          const item = smppRelayItemSchema.safeParse(i.item);
          if (!item.success) return { ok: false as const, error: `not a report or MO the relay takes: ${item.error.issues.slice(0, 3).map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}` };
          return this.delivers.deliver(i.partnerId, item.data, timeoutMs);
        }),
      ),
    };
  }
}
