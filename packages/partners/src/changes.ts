// Configuration changes as the operator CLI and the portal make them: each one is validated,
// stored, written to audit_log (who, what, before and after, without secrets) and announced on
// Redis so that running services reload within a second (they also reload periodically, so a
// lost announcement only delays a change).
import { ALL_PARTNERS, partnerChangedChannel, smscChangedChannel } from '@smsgw/contracts';
import {
  apiPasswordPepper,
  generateApiPassword,
  generateSmppPassword,
  hashApiPassword,
  smppPasswordProblem,
  type Partner,
  type Prisma,
  type PrismaClient,
  type SmscConnection,
} from '@smsgw/db';
import { checkCallbackTargets } from './callback-targets';
import { checkLogin, checkServiceNumber, SettingError } from './partner-settings';

export type Row = Record<string, unknown>;

/** Who changes things and how running services hear of it. */
export interface ChangeContext {
  db: PrismaClient;
  /** audit_log.actor: `cli:<os user>`, `portal:<login>`. */
  actor: string;
  /** REDIS_PREFIX of the deployment: the channels the services listen on. */
  prefix: string;
  /** Publishes on a Redis channel; reports (never throws) when Redis is unreachable. */
  publish(channel: string, payload: string): Promise<void>;
  /** CALLBACK_ALLOW_PRIVATE_TARGETS as the caller read it; undefined: read from the environment. */
  allowPrivateCallbackTargets?: boolean;
}

/** Never shown, never audited. */
const PARTNER_SECRET_FIELDS = ['apiPasswordHash', 'smppPasswordHash'];

/**
 * A partner row without its password hashes, the signing secret shown as "(set)", and in place of
 * the SMPP password hash whether it has one: `smppEnabled` (false: SMPP binds refused).
 */
export function partnerPublicView(row: Row | Partner): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === 'smppPasswordHash') out.smppEnabled = v !== null && v !== undefined;
    else if (!PARTNER_SECRET_FIELDS.includes(k)) out[k] = v;
  }
  if (out.signingSecret) out.signingSecret = '(set)';
  return out;
}

/** The SMSC password is stored in clear (the connector must send it): never shown. */
export function smscPublicView(c: SmscConnection): Row {
  const { password, ...rest } = c;
  return { ...rest, password: password === '' ? '(empty)' : '(set)' };
}

/** What the audit log keeps of an SMSC connection: everything but the password. */
export function smscAuditView(c: SmscConnection): Row {
  const { password: _password, ...rest } = c;
  return rest;
}

/** One audit_log row. `before` and `after` must already be free of secrets. */
export async function writeAudit(ctx: Pick<ChangeContext, 'db' | 'actor'>, action: string, entity: string, before: Row | null, after: Row | null): Promise<void> {
  const json = (r: Row) => JSON.parse(JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) as Prisma.InputJsonValue;
  await ctx.db.auditLog.create({ data: { actor: ctx.actor, action, entity, before: before ? json(before) : undefined, after: after ? json(after) : undefined } });
}

async function partnerAudited(ctx: ChangeContext, action: string, before: Partner | null, after: Partner): Promise<void> {
  await writeAudit(ctx, action, `partner:${after.id}`, before ? partnerPublicView(before) : null, partnerPublicView(after));
  await ctx.publish(partnerChangedChannel(ctx.prefix), String(after.id));
}

export async function findPartner(db: PrismaClient, id: number): Promise<Partner> {
  const p = await db.partner.findUnique({ where: { id } });
  if (!p) throw new SettingError(`no partner #${id}`);
  return p;
}

/**
 * Creates a partner from parsed settings; returns it with its API password (generated unless
 * given). A taken login fails with Prisma's P2002.
 */
export async function createPartner(ctx: ChangeContext, login: string, settings: Row, password?: string): Promise<{ partner: Partner; password: string }> {
  checkLogin(login);
  await checkCallbackTargets(settings, { allowPrivate: ctx.allowPrivateCallbackTargets });
  const pass = password ?? generateApiPassword();
  const partner = await ctx.db.partner.create({
    data: { ...(settings as Partial<Prisma.PartnerCreateInput>), login, apiPasswordHash: hashApiPassword(pass, apiPasswordPepper()) },
  });
  await partnerAudited(ctx, 'partner.create', null, partner);
  return { partner, password: pass };
}

/** Changes parsed settings of a partner. */
export async function updatePartner(ctx: ChangeContext, id: number, settings: Row): Promise<Partner> {
  if (Object.keys(settings).length === 0) throw new SettingError('nothing to change: give at least one setting');
  const before = await findPartner(ctx.db, id);
  await checkCallbackTargets(settings, { allowPrivate: ctx.allowPrivateCallbackTargets });
  const after = await ctx.db.partner.update({ where: { id }, data: settings as Prisma.PartnerUpdateInput });
  await partnerAudited(ctx, 'partner.update', before, after);
  return after;
}

/** block (403 on every request) or unblock. */
export async function setPartnerBlocked(ctx: ChangeContext, id: number, blocked: boolean): Promise<Partner> {
  const before = await findPartner(ctx.db, id);
  const after = await ctx.db.partner.update({ where: { id }, data: { status: blocked ? 'blocked' : 'active' } });
  await partnerAudited(ctx, blocked ? 'partner.block' : 'partner.unblock', before, after);
  return after;
}

/** A partner's password changed: audited without the password or its hash, announced. */
async function partnerPasswordChanged(ctx: ChangeContext, action: string, id: number): Promise<void> {
  await writeAudit(ctx, action, `partner:${id}`, null, null);
  await ctx.publish(partnerChangedChannel(ctx.prefix), String(id));
}

/** A new API password, stored hashed; the old one stops working as soon as ingress reloads. Returned once. */
export async function rotateApiPassword(ctx: ChangeContext, id: number): Promise<string> {
  const p = await findPartner(ctx.db, id);
  const password = generateApiPassword();
  await ctx.db.partner.update({ where: { id: p.id }, data: { apiPasswordHash: hashApiPassword(password, apiPasswordPepper()) } });
  await partnerPasswordChanged(ctx, 'partner.set-password', p.id);
  return password;
}

/** setSmppPassword with `onlyIfEnabled` found the partner's SMPP disabled: nothing changed. */
export class SmppDisabledError extends Error {
  constructor(readonly partnerId: number) {
    super('SMPP is disabled for this partner: only an operator can enable it');
  }
}

/**
 * A new SMPP bind password (generated unless given; a given one must pass smppPasswordProblem),
 * stored hashed as the API password is. The old one stops working once the SMPP server reloads.
 * Returns the password in clear, to be shown once.
 *
 * `onlyIfEnabled`: replaces an existing password only, never enables SMPP (a partner changing its
 * own; enabling is the operator's decision). Checked in the same UPDATE, so an operator disabling
 * SMPP meanwhile is not undone; a partner without one gets SmppDisabledError.
 */
export async function setSmppPassword(ctx: ChangeContext, id: number, password?: string, opts: { onlyIfEnabled?: boolean } = {}): Promise<string> {
  const pass = password ?? generateSmppPassword();
  const problem = smppPasswordProblem(pass);
  if (problem) throw new SettingError(problem, 'smppPassword');
  const p = await findPartner(ctx.db, id);
  const smppPasswordHash = hashApiPassword(pass, apiPasswordPepper());
  if (opts.onlyIfEnabled) {
    const { count } = await ctx.db.partner.updateMany({ where: { id: p.id, smppPasswordHash: { not: null } }, data: { smppPasswordHash } });
    if (count === 0) throw new SmppDisabledError(p.id);
  } else {
    await ctx.db.partner.update({ where: { id: p.id }, data: { smppPasswordHash } });
  }
  await partnerPasswordChanged(ctx, 'partner.set-smpp-password', p.id);
  return pass;
}

/** Clears the SMPP password: every bind of the partner is refused. False when it had none (nothing changed, nothing audited). */
export async function disableSmpp(ctx: ChangeContext, id: number): Promise<boolean> {
  const p = await findPartner(ctx.db, id);
  if (p.smppPasswordHash === null) return false;
  await ctx.db.partner.update({ where: { id: p.id }, data: { smppPasswordHash: null } });
  await partnerPasswordChanged(ctx, 'partner.disable-smpp', p.id);
  return true;
}

/** Gives a partner a service number (refused if another partner owns it), or takes it away. */
export async function changeServiceNumber(ctx: ChangeContext, partnerId: number, action: 'add' | 'remove', number: string): Promise<string> {
  const p = await findPartner(ctx.db, partnerId);
  const n = checkServiceNumber(number);
  if (action === 'add') {
    const owner = await ctx.db.serviceNumber.findUnique({ where: { number: n } });
    if (owner && owner.partnerId !== p.id) throw new SettingError(`${n} already belongs to partner ${owner.partnerId}`, 'serviceNumbers');
    await ctx.db.serviceNumber.upsert({ where: { number: n }, create: { number: n, partnerId: p.id }, update: {} });
  } else {
    await ctx.db.serviceNumber.deleteMany({ where: { number: n, partnerId: p.id } });
  }
  await writeAudit(ctx, `service-number.${action}`, `partner:${p.id}`, null, { number: n });
  await ctx.publish(partnerChangedChannel(ctx.prefix), String(p.id));
  return n;
}

/** Numbers the platform never sends to. */
export async function changeBlacklist(ctx: ChangeContext, action: 'add' | 'remove', numbers: string[], reason = ''): Promise<string[]> {
  const clean = numbers.map((n) => n.replace(/[^0-9]/g, ''));
  if (action === 'add') {
    await ctx.db.blacklistedNumber.createMany({ data: clean.map((msisdn) => ({ msisdn, reason })), skipDuplicates: true });
    await writeAudit(ctx, 'blacklist.add', 'blacklist', null, { numbers: clean });
  } else {
    await ctx.db.blacklistedNumber.deleteMany({ where: { msisdn: { in: clean } } });
    await writeAudit(ctx, 'blacklist.remove', 'blacklist', { numbers: clean }, null);
  }
  await ctx.publish(partnerChangedChannel(ctx.prefix), 'blacklist');
  return clean;
}

/** Every running service reloads every partner. */
export async function reloadAllPartners(ctx: Pick<ChangeContext, 'prefix' | 'publish'>): Promise<void> {
  await ctx.publish(partnerChangedChannel(ctx.prefix), ALL_PARTNERS);
}

// SMSC connections: announced on <prefix>:smsc-changed with the id, so connectors rebind.

async function smscChanged(ctx: ChangeContext, action: string, before: SmscConnection | null, after: SmscConnection | null): Promise<void> {
  const id = (after ?? before)!.id;
  const afterView = after ? smscAuditView(after) : null;
  if (afterView && before && after && before.password !== after.password) afterView.passwordChanged = true;
  await writeAudit(ctx, action, `smsc:${id}`, before ? smscAuditView(before) : null, afterView);
  await ctx.publish(smscChangedChannel(ctx.prefix), String(id));
}

async function smscNameFree(db: PrismaClient, name: string): Promise<void> {
  if (await db.smscConnection.findUnique({ where: { name } })) throw new SettingError(`an SMSC connection named "${name}" exists already`, 'name');
}

/** A concurrent create or rename can still hit the unique index: say which name. */
function uniqueSmscName<T>(name: string, p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => {
    if ((e as { code?: string }).code === 'P2002') throw new SettingError(`an SMSC connection named "${name}" exists already`, 'name');
    throw e;
  });
}

/** Creates an SMSC connection from parsed settings (smscSettingsFrom; name, host, port, systemId, password required). */
export async function createSmscConnection(ctx: ChangeContext, data: Row): Promise<SmscConnection> {
  await smscNameFree(ctx.db, data.name as string);
  const created = await uniqueSmscName(data.name as string, ctx.db.smscConnection.create({ data: data as unknown as Prisma.SmscConnectionCreateInput }));
  await smscChanged(ctx, 'smsc.create', null, created);
  return created;
}

export async function updateSmscConnection(ctx: ChangeContext, before: SmscConnection, data: Row): Promise<SmscConnection> {
  if (Object.keys(data).length === 0) throw new SettingError('nothing to change: give at least one setting');
  if (data.name !== undefined && data.name !== before.name) await smscNameFree(ctx.db, data.name as string);
  const after = await uniqueSmscName(String(data.name ?? before.name), ctx.db.smscConnection.update({ where: { id: before.id }, data: data as Prisma.SmscConnectionUpdateInput }));
  await smscChanged(ctx, 'smsc.update', before, after);
  return after;
}

/** Enables or disables; false when it already was (nothing changed, nothing audited). */
export async function setSmscEnabled(ctx: ChangeContext, before: SmscConnection, enabled: boolean): Promise<boolean> {
  if (before.enabled === enabled) return false;
  const after = await ctx.db.smscConnection.update({ where: { id: before.id }, data: { enabled } });
  await smscChanged(ctx, enabled ? 'smsc.enable' : 'smsc.disable', before, after);
  return true;
}

export async function deleteSmscConnection(ctx: ChangeContext, before: SmscConnection): Promise<void> {
  await ctx.db.smscConnection.delete({ where: { id: before.id } });
  await smscChanged(ctx, 'smsc.delete', before, null);
}
