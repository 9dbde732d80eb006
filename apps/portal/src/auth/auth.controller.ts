import { BadRequestException, Body, Controller, ForbiddenException, Get, HttpCode, HttpException, Inject, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { hashUserPassword, type PrismaClient, userPasswordNeedsRehash, verifyUserPassword } from '@smsgw/db';
import { writeAudit } from '@smsgw/partners';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { PRISMA } from '../infra/tokens';
import { parseBody } from '../http/validation';
import { LoginThrottle } from './login-throttle.service';
import { Reauthentication } from './reauthentication.service';
import { CSRF_COOKIE, CurrentSession, Public, type Session, SESSION_COOKIE, type SessionRequest } from './session';
import { SessionService } from './session.service';

const LoginBody = z.object({ login: z.string().min(1).max(100), password: z.string().min(1).max(200) });
const PasswordBody = z.object({ currentPassword: z.string().min(1).max(200), newPassword: z.string().max(200) });

/** A password people choose: long enough to resist guessing at the lockout rate. */
export function checkNewPassword(password: string): void {
  if (password.length < 10) throw new BadRequestException({ message: 'the new password needs at least 10 characters', field: 'newPassword' });
}

// Compared against when the login does not exist, so that unknown logins take as long as wrong passwords.
const DUMMY_HASH = hashUserPassword('not a password of anyone');

function userView(s: Session) {
  return { login: s.login, role: s.role, partnerId: s.partnerId, csrfToken: s.csrf };
}

@Controller('api/auth')
export class AuthController {
  constructor(
    @Inject(PRISMA) private readonly db: PrismaClient,
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
    private readonly sessions: SessionService,
    private readonly throttle: LoginThrottle,
    private readonly reauthenticate: Reauthentication,
  ) {}

  private setCookies(reply: FastifyReply, id: string, csrf: string): void {
    const base = { path: '/', sameSite: 'strict' as const, secure: this.config.secureCookies };
    reply.setCookie(SESSION_COOKIE, id, { ...base, httpOnly: true });
    // Readable by the page's script, which echoes it in X-CSRF-Token (double submit).
    reply.setCookie(CSRF_COOKIE, csrf, { ...base, httpOnly: false });
  }

  /**
   * JSON only: a cross-site form cannot send application/json without a CORS preflight, which
   * the portal never grants, so logins cannot be forged from another site either.
   */
  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: unknown, @Req() req: SessionRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new BadRequestException('send JSON');
    const { login, password } = parseBody(LoginBody, body);
    const wait = await this.throttle.retryAfter(login, req.ip);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      throw new HttpException({ statusCode: 429, message: `too many failed logins; try again in ${Math.ceil(wait / 60)} min` }, 429);
    }
    const user = await this.db.user.findUnique({ where: { login } });
    const ok = await verifyUserPassword(password, user?.passwordHash ?? (await DUMMY_HASH));
    if (!user || !ok) {
      await this.throttle.failed(login, req.ip);
      throw new UnauthorizedException('wrong login or password');
    }
    await this.throttle.succeeded(login);
    // Said only to whoever knows the password: it tells nothing to a guesser.
    if (user.blockedAt) throw new ForbiddenException('this account is blocked; ask an operator');
    if (userPasswordNeedsRehash(user.passwordHash)) await this.db.user.update({ where: { id: user.id }, data: { passwordHash: await hashUserPassword(password) } });
    const { id, session } = await this.sessions.create({ userId: user.id, login: user.login, role: user.role, partnerId: user.partnerId, version: user.sessionVersion });
    this.setCookies(reply, id, session.csrf);
    return userView(session);
  }

  /** Who is logged in, with the CSRF token the page must send back. */
  @Get('me')
  me(@CurrentSession() s: Session) {
    return userView(s);
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: SessionRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    if (req.sessionId) await this.sessions.destroy(req.sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    reply.clearCookie(CSRF_COOKIE, { path: '/' });
    return { ok: true };
  }

  /** Changes the user's own password; every other session of the user ends, this one stays. */
  @Post('password')
  @HttpCode(200)
  async changePassword(@CurrentSession() s: Session, @Body() body: unknown, @Req() req: SessionRequest) {
    const { currentPassword, newPassword } = parseBody(PasswordBody, body);
    const user = await this.reauthenticate.check(s, currentPassword, req.ip);
    checkNewPassword(newPassword);
    const updated = await this.db.user.update({
      where: { id: user.id },
      data: { passwordHash: await hashUserPassword(newPassword), sessionVersion: { increment: 1 } },
    });
    await writeAudit({ db: this.db, actor: `portal:${s.login}` }, 'user.change-password', `user:${user.id}`, null, null);
    if (req.sessionId) await this.sessions.adopt(req.sessionId, updated.sessionVersion);
    await this.sessions.destroyAllOf(user.id, req.sessionId);
    return { ok: true };
  }
}
