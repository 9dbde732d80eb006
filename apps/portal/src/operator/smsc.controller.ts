import { Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Patch, Post } from '@nestjs/common';
import { z } from 'zod';
import type { PrismaClient, SmscConnection } from '@smsgw/db';
import { createSmscConnection, deleteSmscConnection, SettingError, setSmscEnabled, SMSC_SETTINGS, smscPublicView, smscSettingsFrom, updateSmscConnection } from '@smsgw/partners';
import { CurrentSession, Roles, type Session } from '../auth/session';
import { Changes } from '../infra/changes.service';
import { PRISMA } from '../infra/tokens';
import { parseBody } from '../http/validation';
import { SmppBinds } from '../http/smpp-binds.service';
import { ConnectorState } from './connector-state.service';
import { asHttp, idParam } from './settings-errors';

const Settings = z.record(z.string(), z.unknown());

/** SMSC connections (validated, audited and announced like the CLI's `smsc` commands) and their live state. */
@Roles('operator')
@Controller('api/operator/smsc')
export class SmscController {
  constructor(
    @Inject(PRISMA) private readonly db: PrismaClient,
    private readonly changes: Changes,
    private readonly state: ConnectorState,
    private readonly smppBinds: SmppBinds,
  ) {}

  private async find(id: string): Promise<SmscConnection> {
    const c = await this.db.smscConnection.findUnique({ where: { id: idParam(id) } });
    if (!c) throw new NotFoundException('no such SMSC connection');
    return c;
  }

  @Get('settings-schema')
  schema() {
    return SMSC_SETTINGS.map((s) => ({ field: s.field, option: s.option, description: s.description, required: Boolean(s.required) }));
  }

  @Get()
  async list() {
    return (await this.db.smscConnection.findMany({ orderBy: { id: 'asc' } })).map(smscPublicView);
  }

  /** What the connectors report now: bind state, window, throughput. */
  @Get('live')
  live() {
    return this.state.live();
  }

  /** Every partner's SMPP sessions on every SMPP server. */
  @Get('smpp-binds')
  binds() {
    return this.smppBinds.live();
  }

  @Post()
  async create(@CurrentSession() s: Session, @Body() body: unknown) {
    const data = parseBody(Settings, body);
    return asHttp(async () => {
      const parsed = smscSettingsFrom(data, 'field');
      for (const spec of SMSC_SETTINGS) if (spec.required && parsed[spec.field] === undefined) throw new SettingError(`${spec.field} is required`, spec.field);
      return smscPublicView(await createSmscConnection(this.changes.by(s), parsed));
    });
  }

  @Patch(':id')
  async update(@CurrentSession() s: Session, @Param('id') id: string, @Body() body: unknown) {
    const data = parseBody(Settings, body);
    const before = await this.find(id);
    return asHttp(async () => smscPublicView(await updateSmscConnection(this.changes.by(s), before, smscSettingsFrom(data, 'field'))));
  }

  @Post(':id/enable')
  @HttpCode(200)
  async enable(@CurrentSession() s: Session, @Param('id') id: string) {
    return { changed: await setSmscEnabled(this.changes.by(s), await this.find(id), true) };
  }

  @Post(':id/disable')
  @HttpCode(200)
  async disable(@CurrentSession() s: Session, @Param('id') id: string) {
    return { changed: await setSmscEnabled(this.changes.by(s), await this.find(id), false) };
  }

  @Delete(':id')
  @HttpCode(200)
  async remove(@CurrentSession() s: Session, @Param('id') id: string) {
    await deleteSmscConnection(this.changes.by(s), await this.find(id));
    return { ok: true };
  }
}
