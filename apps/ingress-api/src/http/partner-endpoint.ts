import { Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ProtocolError, errorAnswer, outputFormat, type Answer } from './answer';
import { requestDuration, requestsTotal } from './ingress-metrics';
import { FormattedError, RequestAuthenticator, type Authenticated, type RequestWithForm } from './request-context';

/**
 * Runs a partner endpoint: parameters, authentication, the handler, the answer in the requested
 * format, metrics. Every failure ends as a protocol answer; an unexpected one is logged and
 * answered 500.
 */
@Injectable()
export class PartnerEndpoint {
  private readonly logger = new Logger(PartnerEndpoint.name);

  constructor(private readonly auth: RequestAuthenticator) {}

  async run(endpoint: string, req: RequestWithForm, reply: FastifyReply, handler: (ctx: Authenticated) => Promise<Answer>): Promise<void> {
    const started = process.hrtime.bigint();
    const params = this.auth.params(req);
    let ctx: Authenticated | null = null;
    let answer: Answer;
    let code: number;
    try {
      ctx = this.auth.authenticate(req, params);
      answer = await handler(ctx);
      code = 200;
    } catch (e) {
      const format = e instanceof FormattedError ? e.format : (ctx?.format ?? outputFormat(params.get('output')));
      if (e instanceof ProtocolError) {
        code = e.code;
        answer = errorAnswer(format, e.code, e.text);
      } else {
        code = 500;
        this.logger.error({ endpoint, partnerId: ctx?.partner.id, err: e }, 'unexpected failure');
        answer = errorAnswer(format, 500, 'Internal error: nothing was accepted, retry in a minute');
      }
    }
    requestsTotal.inc({ endpoint, code: String(code) });
    requestDuration.observe({ endpoint }, Number(process.hrtime.bigint() - started) / 1e9);
    await reply.status(answer.httpStatus).header('content-type', answer.contentType).send(answer.body);
  }
}
