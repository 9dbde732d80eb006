import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { HealthController, MetricsController, MetricsElsewhereController } from '@smsgw/common';
import { SessionService } from './session.service';
import { CSRF_HEADER, PUBLIC_ROUTE, type Role, ROLES, SESSION_COOKIE, type SessionRequest } from './session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The platform's probes, answered without a session like every service's (/metrics: 404 when METRICS_PORT moves it). */
const PROBES: ReadonlySet<unknown> = new Set([HealthController, MetricsController, MetricsElsewhereController]);

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Every portal route is private unless its handler or controller is marked @Public() (or it is a
 * probe): a session (else 401), the route's role (else 403) and, for every state-changing
 * method, the CSRF header matching the session's token (else 403).
 *
 * The decision is made on the route the router matched, never on the text of the URL: the router
 * decodes percent-escapes and takes absolute-form targets, so a prefix test on `req.url` can be
 * walked around with another spelling of the same path.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (PROBES.has(ctx.getClass())) return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<SessionRequest>();
    const id = req.cookies?.[SESSION_COOKIE];
    const session = await this.sessions.authenticate(id);
    if (!session || !id) throw new UnauthorizedException('log in first');
    req.session = session;
    req.sessionId = id;
    if (!SAFE_METHODS.has(req.method)) {
      const header = req.headers[CSRF_HEADER];
      if (typeof header !== 'string' || !sameToken(header, session.csrf)) throw new ForbiddenException('missing or wrong CSRF token (X-CSRF-Token header)');
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(session.role)) throw new ForbiddenException('not allowed for your role');
    return true;
  }
}
