import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { sendOkAnswer } from '../http/answer';
import { messagesAccepted } from '../http/ingress-metrics';
import { PartnerEndpoint } from '../http/partner-endpoint';
import type { RequestWithForm } from '../http/request-context';
import { SendService } from './send.service';

@Controller()
export class SendController {
  constructor(
    private readonly endpoint: PartnerEndpoint,
    private readonly sendService: SendService,
  ) {}

  @Get('send')
  async get(@Req() req: RequestWithForm, @Res() reply: FastifyReply): Promise<void> {
    await this.handle(req, reply);
  }

  @Post('send')
  async post(@Req() req: RequestWithForm, @Res() reply: FastifyReply): Promise<void> {
    await this.handle(req, reply);
  }

  private handle(req: RequestWithForm, reply: FastifyReply): Promise<void> {
    return this.endpoint.run('send', req, reply, async (ctx) => {
      const stored = await this.sendService.send(ctx);
      if (!stored.existing) messagesAccepted.inc({ kind: ctx.partner.row.test_mode ? 'test' : 'live' });
      return sendOkAnswer(ctx.format, stored.id, stored.segments);
    });
  }
}
