import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type * as ipaddr from 'ipaddr.js';
import { INGRESS_CONFIG, type IngressConfig } from '../config';
import { IpAllowList, clientAddress, socketAddress } from '@smsgw/sms';
import { PartnerCache, type CachedPartner } from '@smsgw/intake';
import { ProtocolError, outputFormat, type OutputFormat } from './answer';
import { Params, parseUrlEncoded, queryOf } from './params';

/** main.ts makes Fastify parse the query string and form bodies into `Params`. */
export type RequestWithForm = FastifyRequest;

export interface Authenticated {
  partner: CachedPartner;
  params: Params;
  format: OutputFormat;
  /** Reads a parameter under the name this partner uses for it. */
  param(name: Parameters<CachedPartner['paramName']>[0]): string | undefined;
}

/**
 * The checks every partner request starts with, in the order the protocol fixes: the partner's
 * address allow-list before anything else, then the password, then the account's state.
 */
@Injectable()
export class RequestAuthenticator {
  private readonly logger = new Logger('Access');
  private readonly trustedProxies: IpAllowList;

  constructor(
    private readonly partners: PartnerCache,
    @Inject(INGRESS_CONFIG) private readonly config: IngressConfig,
  ) {
    this.trustedProxies = new IpAllowList(config.TRUSTED_PROXIES);
  }

  /** Query string and form body merged; the output format as early as it can be known. */
  params(req: RequestWithForm): Params {
    const params = req.query instanceof Params ? req.query : parseUrlEncoded(queryOf(req.raw.url ?? ''));
    if (req.body instanceof Params) params.merge(req.body);
    return params;
  }

  authenticate(req: RequestWithForm, params: Params): Authenticated {
    const { partner, loginGiven } = this.partners.resolve(params);
    const format = outputFormat(partner ? params.get(partner.paramName('output')) : params.get('output'));
    if (!partner) {
      throw new ProtocolError(loginGiven ? 401 : 400, loginGiven ? 'Invalid password' : 'Missing parameter: serviceId');
    }
    const address = clientAddress(socketAddress(req.raw.socket), req.headers['x-forwarded-for'], this.trustedProxies);
    if (!address || !partner.allowList.allows(address)) {
      this.logger.warn({ partnerId: partner.id, login: partner.row.login, address: address?.toString() ?? req.raw.socket.remoteAddress, path: req.routeOptions.url }, 'request from an address not in the allow-list refused');
      throw withFormat(new ProtocolError(403, 'Address not allowed'), format);
    }
    const pass = params.get(partner.paramName('pass'));
    if (pass === undefined || !partner.checkPassword(pass, this.config.API_PASSWORD_PEPPER)) {
      throw withFormat(new ProtocolError(401, 'Invalid password'), format);
    }
    if (partner.row.status === 'blocked') throw withFormat(new ProtocolError(403, 'Partner blocked'), format);
    if (partner.testPeriodOver(Date.now())) throw withFormat(new ProtocolError(403, 'Test period over'), format);
    return { partner, params, format, param: (name) => params.get(partner.paramName(name)) };
  }

  addressOf(req: FastifyRequest): ipaddr.IPv4 | ipaddr.IPv6 | null {
    return clientAddress(socketAddress(req.raw.socket), req.headers['x-forwarded-for'], this.trustedProxies);
  }
}

/** A ProtocolError that remembers the answer format known at the time it was raised. */
export class FormattedError extends ProtocolError {
  constructor(
    error: ProtocolError,
    readonly format: OutputFormat,
  ) {
    super(error.code, error.text);
  }
}

function withFormat(error: ProtocolError, format: OutputFormat): FormattedError {
  return new FormattedError(error, format);
}
