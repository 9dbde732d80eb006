#!/usr/bin/env node
import { Command, Option } from 'commander';
import {
  changeBlacklist,
  changeServiceNumber,
  checkLogin,
  createPartner,
  disableSmpp,
  parsePartnerSettings,
  partnerPublicView,
  reloadAllPartners,
  rotateApiPassword,
  setPartnerBlocked,
  setSmppPassword,
  SETTINGS,
  SettingError,
  updatePartner,
} from '@smsgw/partners';
import { SEEDED_API_PASSWORDS } from '@smsgw/db';
import { changeContext, printRow, withDb, type Db, type Row } from './cli';
import { registerCallbackCommands } from './callback';
import { registerSmscCommands } from './smsc';
import { registerUserCommands } from './user';
import { addPasswordStdinOption, readPassword } from './password-input';

// Validation, audit log and change announcements live in @smsgw/partners (the portal makes the
// same changes); this file parses options and prints.

function addSettingOptions(cmd: Command): Command {
  for (const s of SETTINGS) cmd.addOption(new Option(`--${s.option} <value>`, s.description));
  return cmd;
}

function print(row: Row, json: boolean): void {
  printRow(partnerPublicView(row), json);
}

async function findPartner(db: Db, login: string) {
  const p = await db.partner.findUnique({ where: { login } });
  if (!p) throw new SettingError(`no partner with login "${login}" (see: npm run admin -- partner list)`);
  return p;
}

/** A signing secret typed as an argument is as visible as a password there (ps, shell history). */
function warnOnSecretArgument(opts: Row): void {
  const v = opts.signingSecret;
  if (typeof v === 'string' && !['generate', 'none', ''].includes(v)) {
    process.stderr.write('warning: --signing-secret puts the secret on the command line, where other users of this machine can see it (ps) and shell history keeps it; prefer --signing-secret generate\n');
  }
}

function printPassword(login: string, password: string, kind: 'API' | 'SMPP' = 'API'): void {
  process.stdout.write(`\n${kind} password for ${login} (shown once, stored hashed):\n  ${password}\n`);
}

const program = new Command('admin').description('Operator command line of the SMS platform').showHelpAfterError();
const partner = program.command('partner').description('partners: the businesses that send SMS');

addSettingOptions(
  addPasswordStdinOption(
    partner
      .command('create')
      .description('create a partner; prints its generated API password once')
      .requiredOption('--login <login>', 'serviceId the partner sends')
      .option('--password <password>', 'use this API password instead of a generated one (demo and migrations only; prefer --password-stdin)'),
  ).option('--json', 'print as JSON'),
).action(async (opts: Row) => {
  // Not required: without one, a random password is generated and printed once.
  const chosen = await readPassword(opts, { required: false, label: 'API password' });
  warnOnSecretArgument(opts);
  if (chosen !== undefined && process.env.NODE_ENV === 'production' && SEEDED_API_PASSWORDS.includes(chosen)) {
    throw new SettingError('that is the seeded demo API password, which production refuses: choose another or leave it out to have one generated');
  }
  await withDb(async (db) => {
    const login = checkLogin(String(opts.login));
    const { partner: created, password } = await createPartner(changeContext(db), login, parsePartnerSettings(opts), chosen);
    print(created as unknown as Row, Boolean(opts.json));
    if (chosen === undefined) printPassword(login, password);
  });
});

addSettingOptions(
  partner.command('update <login>').description('change settings of a partner; takes effect on running services within a second').option('--json', 'print as JSON'),
).action(async (login: string, opts: Row) =>
  withDb(async (db) => {
    warnOnSecretArgument(opts);
    const before = await findPartner(db, login);
    const data = parsePartnerSettings(opts);
    if (Object.keys(data).length === 0) throw new SettingError('nothing to change: give at least one setting option (see --help)');
    const after = await updatePartner(changeContext(db), before.id, data);
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
        await setPartnerBlocked(changeContext(db), before.id, status === 'blocked');
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
      printPassword(login, await rotateApiPassword(changeContext(db), p.id));
    }),
  );

addPasswordStdinOption(
  partner
    .command('smpp-password <login>')
    .description(
      'generate a new SMPP bind password (at most 8 characters, as SMPP 3.4 allows), printed once; --password-stdin sets a chosen one instead; the old one stops working at once',
    )
    .option('--disable', 'clear the SMPP password: every SMPP bind of the partner is refused'),
).action(async (login: string, opts: Row) => {
  if (opts.disable && opts.passwordStdin) throw new SettingError('give --disable or --password-stdin, not both');
  const chosen = opts.disable ? undefined : await readPassword(opts, { required: false, label: 'SMPP password' });
  await withDb(async (db) => {
    const p = await findPartner(db, login);
    if (opts.disable) {
      const changed = await disableSmpp(changeContext(db), p.id);
      process.stdout.write(changed ? `${login}: SMPP disabled (binds refused)\n` : `${login}: SMPP was disabled already; nothing changed\n`);
      return;
    }
    const password = await setSmppPassword(changeContext(db), p.id, chosen);
    if (chosen === undefined) printPassword(login, password, 'SMPP');
    else process.stdout.write(`${login}: SMPP password set (stored hashed)\n`);
  });
});

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
        process.stdout.write(`${JSON.stringify(rows.map((r) => partnerPublicView(r)), null, 2)}\n`);
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
      if (action !== 'add' && action !== 'remove') throw new SettingError('action is add or remove');
      const n = await changeServiceNumber(changeContext(db), p.id, action, number);
      process.stdout.write(`${login}: service number ${n} ${action === 'add' ? 'added' : 'removed'}\n`);
    }),
  );

const blacklist = program.command('blacklist').description('numbers the platform never sends to (406)');
blacklist
  .command('add <msisdn...>')
  .option('--reason <text>', 'why', '')
  .action(async (numbers: string[], opts: Row) =>
    withDb(async (db) => {
      const clean = await changeBlacklist(changeContext(db), 'add', numbers, String(opts.reason));
      process.stdout.write(`blacklisted: ${clean.join(', ')}\n`);
    }),
  );
blacklist.command('remove <msisdn...>').action(async (numbers: string[]) =>
  withDb(async (db) => {
    const clean = await changeBlacklist(changeContext(db), 'remove', numbers);
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
  .action(async () => withDb(async (db) => reloadAllPartners(changeContext(db))));

registerSmscCommands(program);
registerUserCommands(program);
registerCallbackCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof SettingError) process.stderr.write(`error: ${e.message}\n`);
  else if ((e as { code?: string }).code === 'P2002') process.stderr.write('error: that login or number exists already\n');
  else process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exit(1);
});
