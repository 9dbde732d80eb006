import { randomBytes } from 'node:crypto';
import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Patch, Post } from '@nestjs/common';
import { z } from 'zod';
import { hashUserPassword, type PrismaClient, type User } from '@smsgw/db';
import { writeAudit } from '@smsgw/partners';
import { checkNewPassword } from '../auth/auth.controller';
import { CurrentSession, Roles, type Session } from '../auth/session';
import { SessionService } from '../auth/session.service';
import { PRISMA } from '../infra/tokens';
import { actorOf } from '../http/scope';
import { parseBody } from '../http/validation';
import { asHttp, idParam } from './settings-errors';

const LOGIN = /^[A-Za-z0-9_.@-]{1,64}$/;
const CreateBody = z.object({
  login: z.string().regex(LOGIN, '1-64 of letters, digits, _ . @ -'),
  role: z.enum(['operator', 'partner']),
  partnerId: z.number().int().positive().nullable().optional(),
  password: z.string().optional(),
});
const UpdateBody = z.object({ role: z.enum(['operator', 'partner']).optional(), partnerId: z.number().int().positive().nullable().optional(), resetPassword: z.boolean().optional() });

function view(u: User & { partner?: { login: string } | null }) {
  return { id: u.id, login: u.login, role: u.role, partnerId: u.partnerId, partnerLogin: u.partner?.login ?? null, blocked: u.blockedAt !== null, createdAt: u.createdAt };
}

/** A password for a new or reset account, shown once to the operator who passes it on. */
function generatedPassword(): string {
  return randomBytes(12).toString('base64url');
}

/** Portal accounts: operators, and partner users tied to one partner. Audited; passwords never are. */
@Roles('operator')
@Controller('api/operator/users')
export class UsersController {
  constructor(
    @Inject(PRISMA) private readonly db: PrismaClient,
    private readonly sessions: SessionService,
  ) {}

  @Get()
  async list() {
    return (await this.db.user.findMany({ orderBy: { id: 'asc' }, include: { partner: { select: { login: true } } } })).map(view);
  }

  @Post()
  async create(@CurrentSession() s: Session, @Body() body: unknown) {
    const b = parseBody(CreateBody, body);
    if (b.role === 'partner' && !b.partnerId) throw new BadRequestException({ message: 'a partner user needs its partner', field: 'partnerId' });
    const partnerId = b.role === 'partner' ? b.partnerId! : null;
    if (partnerId && !(await this.db.partner.findUnique({ where: { id: partnerId } }))) throw new BadRequestException({ message: 'no such partner', field: 'partnerId' });
    const password = b.password ?? generatedPassword();
    checkNewPassword(password);
    const user = await asHttp(async () => this.db.user.create({ data: { login: b.login, role: b.role, partnerId, passwordHash: await hashUserPassword(password) }, include: { partner: { select: { login: true } } } }));
    await writeAudit({ db: this.db, actor: actorOf(s) }, 'user.create', `user:${user.id}`, null, view(user));
    return { user: view(user), password: b.password ? undefined : password };
  }

  /**
   * Role and partner; `resetPassword: true` sets a generated password (answered once). A new
   * password, role or partner ends every session of the user (its session_version moves on).
   */
  @Patch(':id')
  async update(@CurrentSession() s: Session, @Param('id') id: string, @Body() body: unknown) {
    const b = parseBody(UpdateBody, body);
    const before = await this.db.user.findUnique({ where: { id: idParam(id) }, include: { partner: { select: { login: true } } } });
    if (!before) throw new NotFoundException('no such user');
    const role = b.role ?? before.role;
    const partnerId = role === 'operator' ? null : b.partnerId !== undefined ? b.partnerId : before.partnerId;
    if (role === 'partner' && !partnerId) throw new BadRequestException({ message: 'a partner user needs its partner', field: 'partnerId' });
    if (partnerId && partnerId !== before.partnerId && !(await this.db.partner.findUnique({ where: { id: partnerId } }))) {
      throw new BadRequestException({ message: 'no such partner', field: 'partnerId' });
    }
    const password = b.resetPassword ? generatedPassword() : undefined;
    const endSessions = password !== undefined || role !== before.role || partnerId !== before.partnerId;
    const after = await this.db.user.update({
      where: { id: before.id },
      data: { role, partnerId, ...(password ? { passwordHash: await hashUserPassword(password) } : {}), ...(endSessions ? { sessionVersion: { increment: 1 } } : {}) },
      include: { partner: { select: { login: true } } },
    });
    await writeAudit({ db: this.db, actor: actorOf(s) }, password ? 'user.reset-password' : 'user.update', `user:${after.id}`, view(before), view(after));
    if (endSessions) await this.sessions.destroyAllOf(after.id);
    return { user: view(after), password };
  }

  /** No login and no session until unblocked: every session of the user ends now. */
  @Post(':id/block')
  @HttpCode(200)
  async block(@CurrentSession() s: Session, @Param('id') id: string) {
    const userId = idParam(id);
    if (userId === s.userId) throw new BadRequestException('you cannot block yourself');
    return this.setBlocked(s, userId, true);
  }

  @Post(':id/unblock')
  @HttpCode(200)
  async unblock(@CurrentSession() s: Session, @Param('id') id: string) {
    return this.setBlocked(s, idParam(id), false);
  }

  private async setBlocked(s: Session, userId: number, blocked: boolean) {
    const before = await this.db.user.findUnique({ where: { id: userId }, include: { partner: { select: { login: true } } } });
    if (!before) throw new NotFoundException('no such user');
    const after = await this.db.user.update({
      where: { id: userId },
      data: blocked ? { blockedAt: before.blockedAt ?? new Date(), sessionVersion: { increment: 1 } } : { blockedAt: null },
      include: { partner: { select: { login: true } } },
    });
    await writeAudit({ db: this.db, actor: actorOf(s) }, blocked ? 'user.block' : 'user.unblock', `user:${userId}`, view(before), view(after));
    if (blocked) await this.sessions.destroyAllOf(userId);
    return { user: view(after) };
  }

  @Delete(':id')
  @HttpCode(200)
  async remove(@CurrentSession() s: Session, @Param('id') id: string) {
    const before = await this.db.user.findUnique({ where: { id: idParam(id) }, include: { partner: { select: { login: true } } } });
    if (!before) throw new NotFoundException('no such user');
    if (before.id === s.userId) throw new BadRequestException('you cannot delete yourself');
    await this.db.user.delete({ where: { id: before.id } });
    await writeAudit({ db: this.db, actor: actorOf(s) }, 'user.delete', `user:${before.id}`, view(before), null);
    await this.sessions.destroyAllOf(before.id);
    return { ok: true };
  }
}
