#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import { ALL_PARTNERS, partnerChangedChannel } from '@smsgw/contracts';
import { apiPasswordPepper, generateApiPassword, hashApiPassword, type Prisma } from '@smsgw/db';
import { announce as announceOn, audit as auditRow, camel, prefix, printRow, withDb, type Db, type Row } from './cli';
import { SETTINGS, SettingError } from './partner-settings';
import { registerCallbackCommands } from './callback';
import { registerSmscCommands } from './smsc';

/** Never printed or written to the audit log. */
const SECRET_FIELDS = ['apiPasswordHash'];

/** Partner and blacklist changes: ingress instances reload the partner named (or everything). */
async function announce(payload: string): Promise<void> {
  await announceOn(partnerChangedChannel(prefix), payload);
}

function settingsFrom(opts: Row): Row {
  const data: Row = {};
  for (const s of SETTINGS) {
    const key = camel(s.option);
    const raw = opts[key];
    if (raw === undefined) continue;
    data[s.field] = s.parse(String(raw));
  }
  if (data.signingSecret === 'generate') data.signingSecret = randomBytes(32).toString('base64url');
  return data;
}

function addSettingOptions(cmd: Command): Command {
  for (const s of SETTINGS) cmd.addOption(new Option(`--${s.option} <value>`, s.description));
  return cmd;
}

function publicView(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) if (!SECRET_FIELDS.includes(k)) out[k] = v;
  if (out.signingSecret) out.signingSecret = '(set)';
  return out;
}

function print(row: Row, json: boolean): void {
  printRow(publicView(row), json);
}

async function audit(db: Db, action: string, entity: string, before: Row | null, after: Row | null): Promise<void> {
  await auditRow(db, action, entity, before ? publicView(before) : null, after ? publicView(after) : null);
}

async function findPartner(db: Db, login: string) {
  const p = await db.partner.findUnique({ where: { login } });
  if (!p) throw new SettingError(`no partner with login "${login}" (see: npm run admin -- partner list)`);
  return p;
}

function printPassword(login: string, password: string): void {
  process.stdout.write(`\nAPI password for ${login} (shown once, stored hashed):\n  ${password}\n`);
}

const program = new Command('admin').description('Operator command line of the SMS platform').showHelpAfterError();
const partner = program.command('partner').description('partners: the businesses that send SMS');

addSettingOptions(
  partner
    .command('create')
    .description('create a partner; prints its generated API password once')
    .requiredOption('--login <login>', 'serviceId the partner sends')
    .option('--password <password>', 'use this API password instead of a generated one (demo and migrations only)')
    .option('--json', 'print as JSON'),
).action(async (opts: Row) =>
  withDb(async (db) => {
    const login = String(opts.login);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(login)) throw new SettingError('login: 1-64 characters of letters, digits, _ . -');
    const password = (opts.password as string | undefined) ?? generateApiPassword();
    const data = settingsFrom(opts);
    const created = await db.partner.create({
      data: { ...(data as Partial<Prisma.PartnerCreateInput>), login, apiPasswordHash: hashApiPassword(password, apiPasswordPepper()) },
    });
    await audit(db, 'partner.create', `partner:${created.id}`, null, created as unknown as Row);
    await announce(String(created.id));
    print(created as unknown as Row, Boolean(opts.json));
    if (!opts.password) printPassword(login, password);
  }),
);

addSettingOptions(
  partner.command('update <login>').description('change settings of a partner; takes effect on running services within a second').option('--json', 'print as JSON'),
).action(async (login: string, opts: Row) =>
  withDb(async (db) => {
    const before = await findPartner(db, login);
    const data = settingsFrom(opts);
    if (Object.keys(data).length === 0) throw new SettingError('nothing to change: give at least one setting option (see --help)');
    const after = await db.partner.update({ where: { id: before.id }, data: data as Prisma.PartnerUpdateInput });
    await audit(db, 'partner.update', `partner:${after.id}`, before as unknown as Row, after as unknown as Row);
    await announce(String(after.id));
    print(after as unknown as Row, Boolean(opts.json));
  }),
);

for (const [name, status] of [['block', 'blocked'], ['unblock', 'active']] as const) {
  partner
    .command(`${name} <login>`)
    .description(`${name} a partner (a blocked partner gets 403)`)
    .action(async (login: string) =>
      withDb(async (db) => {
        const before = await findPartner(db, login);
        const after = await db.partner.update({ where: { id: before.id }, data: { status } });
        await audit(db, `partner.${name}`, `partner:${after.id}`, before as unknown as Row, after as unknown as Row);
        await announce(String(after.id));
        process.stdout.write(`${login}: ${status}\n`);
      }),
    );
}

partner
  .command('set-password <login>')
  .description('generate a new API password (the old one stops working at once); printed once')
  .action(async (login: string) =>
    withDb(async (db) => {
      const p = await findPartner(db, login);
      const password = generateApiPassword();
      await db.partner.update({ where: { id: p.id }, data: { apiPasswordHash: hashApiPassword(password, apiPasswordPepper()) } });
      await audit(db, 'partner.set-password', `partner:${p.id}`, null, null);
      await announce(String(p.id));
      printPassword(login, password);
    }),
  );

partner
  .command('show <login>')
  .description('all settings of a partner')
  .option('--json', 'print as JSON')
  .action(async (login: string, opts: Row) =>
    withDb(async (db) => {
      const p = await db.partner.findUnique({ where: { login }, include: { serviceNumbers: { select: { number: true } } } });
      if (!p) throw new SettingError(`no partner with login "${login}"`);
      const { serviceNumbers, ...rest } = p;
      print({ ...rest, serviceNumbers: serviceNumbers.map((s) => s.number) }, Boolean(opts.json));
    }),
  );

partner
  .command('list')
  .description('every partner, one line each')
  .option('--json', 'print as JSON')
  .action(async (opts: Row) =>
    withDb(async (db) => {
      const rows = await db.partner.findMany({ orderBy: { id: 'asc' } });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows.map((r) => publicView(r as unknown as Row)), null, 2)}\n`);
        return;
      }
      process.stdout.write(`${'id'.padStart(5)}  ${'login'.padEnd(20)} ${'status'.padEnd(8)} ${'rate/s'.padStart(7)}  test  senders\n`);
      for (const r of rows) {
        process.stdout.write(`${String(r.id).padStart(5)}  ${r.login.padEnd(20)} ${r.status.padEnd(8)} ${String(r.rateLimit).padStart(7)}  ${r.testMode ? 'yes ' : 'no  '}  ${r.senders.join(', ')}\n`);
      }
    }),
  );

partner
  .command('service-number <login> <action> <number>')
  .description('add or remove a service number (action: add|remove) that subscribers send MO to')
  .action(async (login: string, action: string, number: string) =>
    withDb(async (db) => {
      const p = await findPartner(db, login);
      if (!/^\+?[0-9A-Za-z]{1,15}$/.test(number)) throw new SettingError(`"${number}" is not a service number`);
      const n = number.replace(/^\+/, '');
      if (action === 'add') {
        const owner = await db.serviceNumber.findUnique({ where: { number: n } });
        if (owner && owner.partnerId !== p.id) throw new SettingError(`${n} already belongs to partner ${owner.partnerId}`);
        await db.serviceNumber.upsert({ where: { number: n }, create: { number: n, partnerId: p.id }, update: {} });
      } else if (action === 'remove') {
        await db.serviceNumber.deleteMany({ where: { number: n, partnerId: p.id } });
      } else throw new SettingError('action is add or remove');
      await audit(db, `service-number.${action}`, `partner:${p.id}`, null, { number: n });
      await announce(String(p.id));
      process.stdout.write(`${login}: service number ${n} ${action === 'add' ? 'added' : 'removed'}\n`);
    }),
  );

const blacklist = program.command('blacklist').description('numbers the platform never sends to (406)');
blacklist
  .command('add <msisdn...>')
  .option('--reason <text>', 'why', '')
  .action(async (numbers: string[], opts: Row) =>
    withDb(async (db) => {
      const clean = numbers.map((n) => n.replace(/[^0-9]/g, ''));
      await db.blacklistedNumber.createMany({ data: clean.map((msisdn) => ({ msisdn, reason: String(opts.reason) })), skipDuplicates: true });
      await audit(db, 'blacklist.add', 'blacklist', null, { numbers: clean });
      await announce('blacklist');
      process.stdout.write(`blacklisted: ${clean.join(', ')}\n`);
    }),
  );
blacklist.command('remove <msisdn...>').action(async (numbers: string[]) =>
  withDb(async (db) => {
    const clean = numbers.map((n) => n.replace(/[^0-9]/g, ''));
    await db.blacklistedNumber.deleteMany({ where: { msisdn: { in: clean } } });
    await audit(db, 'blacklist.remove', 'blacklist', { numbers: clean }, null);
    await announce('blacklist');
    process.stdout.write(`removed: ${clean.join(', ')}\n`);
  }),
);
blacklist.command('list').action(async () =>
  withDb(async (db) => {
    for (const r of await db.blacklistedNumber.findMany({ orderBy: { msisdn: 'asc' } })) process.stdout.write(`${r.msisdn}  ${r.reason}\n`);
  }),
);

program
  .command('reload')
  .description('ask every running service to reload all partner settings')
  .action(async () => announce(ALL_PARTNERS));

registerSmscCommands(program);
registerCallbackCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof SettingError) process.stderr.write(`error: ${e.message}\n`);
  else if ((e as { code?: string }).code === 'P2002') process.stderr.write('error: that login or number exists already\n');
  else process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exit(1);
});
