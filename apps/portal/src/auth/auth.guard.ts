import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SessionService } from './session.service';
import { CSRF_HEADER, PUBLIC_ROUTE, type Role, ROLES, SESSION_COOKIE, type SessionRequest } from './session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Every /api route but the public ones: a session (else 401), the route's role (else 403) and,
 * for every state-changing method, the CSRF header matching the session's token (else 403).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const req = ctx.switchToHttp().getRequest<SessionRequest>();
    // /health and /metrics are for the platform's probes, like every service's. Decided by the
    // matched route, not the request target: `http://host/api/...` (absolute form) and
    // `/%61pi/...` (escaped) reach /api routes too.
    const route = req.routeOptions?.url;
    if (route !== undefined && !route.startsWith('/api/')) return true;
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const id = req.cookies?.[SESSION_COOKIE];
    const session = id ? await this.sessions.get(id) : null;
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
