import { Body, Controller, ForbiddenException, Get, Header, HttpCode, Inject, NotFoundException, Post, Query, Req } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { PrismaClient } from '@smsgw/db';
import { rotateApiPassword, setSmppPassword, SmppDisabledError } from '@smsgw/partners';
import { Reauthentication } from '../auth/reauthentication.service';
import { CurrentSession, Roles, type Session, type SessionRequest } from '../auth/session';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { Changes } from '../infra/changes.service';
import { PG_POOL, PRISMA, REDIS } from '../infra/tokens';
import { partnerScope } from '../http/scope';
import { SmppBinds } from '../http/smpp-binds.service';
import { parseBody } from '../http/validation';
import { asHttp } from '../operator/settings-errors';
import { partnerDetails } from './partner-view';

const RotateBody = z.object({ partnerId: z.number().int().positive().optional(), currentPassword: z.string().min(1, 'your portal password is needed').max(200) });
const SmppPasswordBody = z.object({ currentPassword: z.string().min(1, 'your portal password is needed').max(200) });

/** The partner's own account: its settings (read-only here), its API password and its SMPP password. */
@Controller('api/account')
export class AccountController {
  constructor(
    @Inject(PRISMA) private readonly db: PrismaClient,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
    private readonly changes: Changes,
    private readonly reauthenticate: Reauthentication,
    private readonly smppBinds: SmppBinds,
  ) {}

  /** The partner's SMPP sessions now: who, from where, since when, its window and what it sent. */
  @Get('smpp-binds')
  smppBindsOf(@CurrentSession() s: Session, @Query('partnerId') requested?: string) {
    return this.smppBinds.live(partnerScope(s, requested));
  }

  @Get('settings')
  async settings(@CurrentSession() s: Session, @Query('partnerId') requested?: string) {
    const details = await partnerDetails(this.db, this.pool, (k) => this.redis.get(k), this.config.REDIS_PREFIX, partnerScope(s, requested));
    if (!details) throw new NotFoundException('no such partner');
    return details;
  }

  /**
   * A new API password, returned once and stored hashed; running ingress instances switch within
   * a second. The user's own portal password is asked again: a borrowed session must not be
   * enough to take over the partner's API.
   */
  @Post('api-password')
  @HttpCode(200)
  async rotate(@CurrentSession() s: Session, @Body() body: unknown, @Req() req: SessionRequest) {
    const { partnerId, currentPassword } = parseBody(RotateBody, body);
    const id = partnerScope(s, partnerId);
    await this.reauthenticate.check(s, currentPassword, req.ip);
    const p = await this.db.partner.findUnique({ where: { id }, select: { login: true } });
    if (!p) throw new NotFoundException('no such partner');
    return { login: p.login, password: await rotateApiPassword(this.changes.by(s), id) };
  }

  /**
   * A partner user's new SMPP bind password for its own partner (the session's, never one named
   * in the request), generated, returned once and stored hashed; the SMPP server unbinds the
   * sessions bound with the old one within a second. Asks for the user's portal password again,
   * as a new API password does. Only replaces an existing one: a partner whose SMPP is disabled
   * gets 403 (enabling SMPP is the operator's decision). Operators set it on the partner's page
   * (POST /api/operator/partners/:id/smpp-password).
   */
  @Post('smpp-password')
  @Roles('partner')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async smppPassword(@CurrentSession() s: Session, @Body() body: unknown, @Req() req: SessionRequest) {
    const { currentPassword } = parseBody(SmppPasswordBody, body);
    const id = partnerScope(s, undefined);
    await this.reauthenticate.check(s, currentPassword, req.ip);
    const p = await this.db.partner.findUnique({ where: { id }, select: { login: true } });
    if (!p) throw new NotFoundException('no such partner');
    try {
      return { login: p.login, password: await asHttp(() => setSmppPassword(this.changes.by(s), id, undefined, { onlyIfEnabled: true })) };
    } catch (e) {
      if (e instanceof SmppDisabledError) throw new ForbiddenException('SMPP is disabled for your account: only your operator can enable it');
      throw e;
    }
  }
}
