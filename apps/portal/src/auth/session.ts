import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export type Role = 'operator' | 'partner';

/** What a logged-in request knows about its user (stored in Redis under the session id). */
export interface Session {
  userId: number;
  login: string;
  role: Role;
  /** partner users: the one partner whose data they see. */
  partnerId: number | null;
  /** Double-submit token: the X-CSRF-Token header of every state-changing request must equal it. */
  csrf: string;
  createdAt: string;
  /** app_user.session_version when the session was made; a higher one in the table ends it. */
  version: number;
}

export type SessionRequest = FastifyRequest & { session?: Session; sessionId?: string };

export const SESSION_COOKIE = 'smsgw_session';
export const CSRF_COOKIE = 'smsgw_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export const PUBLIC_ROUTE = 'portal:public';
export const ROLES = 'portal:roles';

/** No session needed (login). Every other route needs one: the guard decides by the matched route. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** Only these roles; others get 403. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/** The request's session (the guard has checked there is one). */
export const CurrentSession = createParamDecorator((_: unknown, ctx: ExecutionContext): Session => {
  const req = ctx.switchToHttp().getRequest<SessionRequest>();
  if (!req.session) throw new Error('CurrentSession used on a public route');
  return req.session;
});
