import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { statusAnswer } from '../http/answer';
import { PartnerEndpoint } from '../http/partner-endpoint';
import type { RequestWithForm } from '../http/request-context';
import { StatusService } from './status.service';

@Controller()
export class StatusController {
  constructor(
    private readonly endpoint: PartnerEndpoint,
    private readonly statusService: StatusService,
  ) {}

  @Get('status')
  async get(@Req() req: RequestWithForm, @Res() reply: FastifyReply): Promise<void> {
    await this.handle(req, reply);
  }

  @Post('status')
  async post(@Req() req: RequestWithForm, @Res() reply: FastifyReply): Promise<void> {
    await this.handle(req, reply);
  }

  private handle(req: RequestWithForm, reply: FastifyReply): Promise<void> {
    return this.endpoint.run('status', req, reply, async (ctx) => statusAnswer(ctx.format, await this.statusService.status(ctx)));
  }
}
