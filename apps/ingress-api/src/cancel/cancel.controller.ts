import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { plainOkAnswer } from '../http/answer';
import { PartnerEndpoint } from '../http/partner-endpoint';
import type { RequestWithForm } from '../http/request-context';
import { CancelService } from './cancel.service';

@Controller()
export class CancelController {
  constructor(
    private readonly endpoint: PartnerEndpoint,
    private readonly cancelService: CancelService,
  ) {}

  @Get('cancel')
  async get(@Req() req: RequestWithForm, @Res() reply: FastifyReply): Promise<void> {
    await this.handle(req, reply);
  }

  @Post('cancel')
  async post(@Req() req: RequestWithForm, @Res() reply: FastifyReply): Promise<void> {
    await this.handle(req, reply);
  }

  private handle(req: RequestWithForm, reply: FastifyReply): Promise<void> {
    return this.endpoint.run('cancel', req, reply, async (ctx) => {
      await this.cancelService.cancel(ctx);
      return plainOkAnswer(ctx.format);
    });
  }
}
