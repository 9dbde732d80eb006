import { BadRequestException, Body, Controller, Get, Header, HttpCode, Inject, NotFoundException, Param, Patch, Post } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { z } from 'zod';
import { type PrismaClient, smppPasswordProblem } from '@smsgw/db';
import { changeServiceNumber, createPartner, disableSmpp, parsePartnerSettings, partnerPublicView, SETTINGS, setPartnerBlocked, setSmppPassword, updatePartner } from '@smsgw/partners';
import { partnerDetails } from '../account/partner-view';
import { CurrentSession, Roles, type Session } from '../auth/session';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { Changes } from '../infra/changes.service';
import { PG_POOL, PRISMA, REDIS } from '../infra/tokens';
import { parseBody } from '../http/validation';
import { asHttp, idParam } from './settings-errors';

const CreateBody = z.object({ login: z.string(), settings: z.record(z.string(), z.unknown()).default({}) });
const ServiceNumberBody = z.object({ action: z.enum(['add', 'remove']), number: z.string() });
/** `{}`: generate one; `{password}`: this one. Strict: a misspelt key is refused, not taken for "generate". */
const SmppPasswordBody = z.strictObject({ password: z.string().optional() });

/**
 * Partners as operators manage them. Settings are validated by the same code as the CLI's
 * (@smsgw/partners), every change is audited and announced, so running ingress instances apply it
 * within a second.
 */
@Roles('operator')
@Controller('api/operator/partners')
export class PartnersController {
  constructor(
    @Inject(PRISMA) private readonly db: PrismaClient,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
    private readonly changes: Changes,
  ) {}

  /** Every setting an operator can change: field, CLI option and meaning (the edit form is built from it). */
  @Get('settings-schema')
  schema() {
    return SETTINGS.map((s) => ({ field: s.field, option: s.option, description: s.description }));
  }

  @Get()
  async list() {
    const rows = await this.db.partner.findMany({ orderBy: { id: 'asc' } });
    return rows.map((r) => partnerPublicView(r));
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    const p = await partnerDetails(this.db, this.pool, (k) => this.redis.get(k), this.config.REDIS_PREFIX, idParam(id));
    if (!p) throw new NotFoundException('no such partner');
    return p;
  }

  /** `{login, settings: {field: value}}`; answers the partner and its API password (shown once). */
  @Post()
  async create(@CurrentSession() s: Session, @Body() body: unknown) {
    const b = parseBody(CreateBody, body);
    return asHttp(async () => {
      const { partner, password } = await createPartner(this.changes.by(s), b.login, parsePartnerSettings(b.settings, 'field'));
      return { partner: partnerPublicView(partner), password };
    });
  }

  /** `{field: value, ...}`: only the settings given change. */
  @Patch(':id')
  async update(@CurrentSession() s: Session, @Param('id') id: string, @Body() body: unknown) {
    const settings = parseBody(z.record(z.string(), z.unknown()), body);
    return asHttp(async () => partnerPublicView(await updatePartner(this.changes.by(s), idParam(id), parsePartnerSettings(settings, 'field'))));
  }

  @Post(':id/block')
  @HttpCode(200)
  async block(@CurrentSession() s: Session, @Param('id') id: string) {
    return asHttp(async () => partnerPublicView(await setPartnerBlocked(this.changes.by(s), idParam(id), true)));
  }

  @Post(':id/unblock')
  @HttpCode(200)
  async unblock(@CurrentSession() s: Session, @Param('id') id: string) {
    return asHttp(async () => partnerPublicView(await setPartnerBlocked(this.changes.by(s), idParam(id), false)));
  }

  /**
   * A new SMPP bind password, stored hashed (as the CLI's `partner smpp-password`; it also enables
   * SMPP for a partner that had none). `{}`: generated, and answered once as `password`;
   * `{password}`: the one given (1-8 printable ASCII characters, no space), never answered. The
   * SMPP server unbinds the sessions bound with the old one within a second.
   */
  @Post(':id/smpp-password')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async smppPassword(@CurrentSession() s: Session, @Param('id') id: string, @Body() body: unknown) {
    const partnerId = idParam(id);
    const { password } = parseBody(SmppPasswordBody, body);
    const problem = password === undefined ? null : smppPasswordProblem(password);
    if (problem) throw new BadRequestException({ message: problem, field: 'password' });
    return asHttp(async () => {
      const set = await setSmppPassword(this.changes.by(s), partnerId, password);
      return password === undefined ? { smppEnabled: true, password: set } : { smppEnabled: true };
    });
  }

  /** Clears the SMPP password: every bind refused, open sessions unbound. `changed`: false when it was disabled already. */
  @Post(':id/smpp-password/disable')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async disableSmpp(@CurrentSession() s: Session, @Param('id') id: string) {
    return asHttp(async () => ({ smppEnabled: false, changed: await disableSmpp(this.changes.by(s), idParam(id)) }));
  }

  @Post(':id/service-numbers')
  @HttpCode(200)
  async serviceNumber(@CurrentSession() s: Session, @Param('id') id: string, @Body() body: unknown) {
    const b = parseBody(ServiceNumberBody, body);
    return asHttp(async () => ({ number: await changeServiceNumber(this.changes.by(s), idParam(id), b.action, b.number), action: b.action }));
  }
}
