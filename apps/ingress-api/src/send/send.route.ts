import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendOkAnswer } from '../http/answer';
import { messagesAccepted } from '../http/ingress-metrics';
import { PartnerEndpoint } from '../http/partner-endpoint';
import type { RequestWithForm } from '../http/request-context';
import { SendService } from './send.service';

/**
 * `GET /send` and `POST /send`, the hot path. The route is Fastify's own rather than a Nest
 * controller's: Nest's router adds an execution context, parameter factories and its exception
 * zone to every request, a cost the profile of the whole stack showed and that /send, which does
 * all of its own error handling (PartnerEndpoint), has no use for.
 */
@Injectable()
export class SendRoute {
  constructor(
    private readonly endpoint: PartnerEndpoint,
    private readonly sendService: SendService,
  ) {}

  register(fastify: FastifyInstance): void {
    const handler = (req: FastifyRequest, reply: FastifyReply) => this.handle(req as RequestWithForm, reply);
    fastify.route({ method: ['GET', 'POST'], url: '/send', handler });
  }

  private handle(req: RequestWithForm, reply: FastifyReply): Promise<void> {
    return this.endpoint.run('send', req, reply, async (ctx) => {
      const stored = await this.sendService.send(ctx);
      if (!stored.existing) messagesAccepted.inc({ kind: ctx.partner.row.test_mode ? 'test' : 'live' });
      return sendOkAnswer(ctx.format, stored.id, stored.segments);
    });
  }
}
