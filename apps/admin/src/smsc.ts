// `smsc …`: the operator SMSCs the connector binds to (table smsc_connection). Every change is
// audited and announced on <prefix>:smsc-changed with the connection's id, so connectors rebind.
import { Command, Option } from 'commander';
import type { SmscConnection } from '@smsgw/db';
import {
  createSmscConnection,
  deleteSmscConnection,
  setSmscEnabled,
  SettingError,
  SMSC_SETTINGS,
  smscPublicView as publicView,
  smscSettingsFrom,
  updateSmscConnection,
} from '@smsgw/partners';
import { changeContext, printRow, withDb, type Db, type Row } from './cli';
import { addPasswordStdinOption, readPassword } from './password-input';

function print(c: SmscConnection, json: boolean): void {
  const view = publicView(c);
  if (!json && c.routes.length === 0) view.routes = '(every number)';
  // The SMPP fields in the order an operator reads them off an SMSC's connection sheet.
  const order = ['id', 'name', 'host', 'port', 'systemId', 'password', 'systemType', 'bindMode', 'tps', 'window', 'routes', 'priority', 'enabled', 'createdAt', 'updatedAt'];
  printRow(Object.fromEntries(order.map((k) => [k, view[k]])), json);
}

async function findConnection(db: Db, name: string): Promise<SmscConnection> {
  const c = await db.smscConnection.findUnique({ where: { name } });
  if (!c) throw new SettingError(`no SMSC connection named "${name}" (see: npm run admin -- smsc list)`);
  return c;
}

function addSettingOptions(cmd: Command, creating: boolean): Command {
  for (const s of SMSC_SETTINGS) {
    const o = new Option(`--${s.option} <value>`, s.description);
    // The password is required too, but may come from --password-stdin or a prompt instead.
    if (creating && s.required && s.option !== 'password') o.makeOptionMandatory();
    cmd.addOption(o);
  }
  return addPasswordStdinOption(cmd).option('--json', 'print as JSON');
}

function table(rows: SmscConnection[]): string {
  const head = ['id', 'name', 'host:port', 'system_id', 'bind', 'tps', 'window', 'routes', 'priority', 'enabled'];
  const right = new Set(['id', 'tps', 'window', 'priority']);
  const cells = rows.map((r) => [
    String(r.id),
    r.name,
    `${r.host.includes(':') ? `[${r.host}]` : r.host}:${r.port}`,
    r.systemId,
    r.bindMode,
    String(r.tps),
    String(r.window),
    r.routes.length ? r.routes.join(',') : 'all',
    String(r.priority),
    r.enabled ? 'yes' : 'no',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (right.has(head[i]!) ? v.padStart(width[i]!) : v.padEnd(width[i]!))).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}

export function registerSmscCommands(program: Command): void {
  const smsc = program
    .command('smsc')
    .description('SMSC connections: the operator SMSCs the connector binds to over SMPP 3.4');

  addSettingOptions(smsc.command('create').description('add an SMSC connection; running connectors bind to it within a second'), true).action(async (opts: Row) => {
    smscSettingsFrom({ ...opts, password: undefined }); // the other values first: no prompt for a command that fails anyway
    opts.password = await readPassword(opts, { required: true, label: 'SMSC password' });
    await withDb(async (db) => {
      const created = await createSmscConnection(changeContext(db), smscSettingsFrom(opts));
      print(created, Boolean(opts.json));
    });
  });

  addSettingOptions(smsc.command('update <name>').description('change settings of an SMSC connection; running connectors rebind to it'), false).action(async (name: string, opts: Row) => {
    smscSettingsFrom({ ...opts, password: undefined });
    opts.password = await readPassword(opts, { required: false, label: 'SMSC password' });
    await withDb(async (db) => {
      const before = await findConnection(db, name);
      const data = smscSettingsFrom(opts);
      if (Object.keys(data).length === 0) throw new SettingError('nothing to change: give at least one setting option (see --help)');
      const after = await updateSmscConnection(changeContext(db), before, data);
      print(after, Boolean(opts.json));
    });
  });

  for (const [command, enabled] of [['enable', true], ['disable', false]] as const) {
    smsc
      .command(`${command} <name>`)
      .description(enabled ? 'use an SMSC connection again: connectors bind to it' : 'stop using an SMSC connection: connectors unbind from it; its settings are kept')
      .action(async (name: string) =>
        withDb(async (db) => {
          const before = await findConnection(db, name);
          if (!(await setSmscEnabled(changeContext(db), before, enabled))) {
            process.stdout.write(`${name}: already ${enabled ? 'enabled' : 'disabled'}, nothing changed\n`);
            return;
          }
          process.stdout.write(`${name}: ${enabled ? 'enabled' : 'disabled'}\n`);
        }),
      );
  }

  smsc
    .command('delete <name>')
    .description('delete an SMSC connection; connectors unbind from it (to keep its settings, disable it instead)')
    .action(async (name: string) =>
      withDb(async (db) => {
        const before = await findConnection(db, name);
        await deleteSmscConnection(changeContext(db), before);
        process.stdout.write(`${name}: deleted (was #${before.id})\n`);
      }),
    );

  smsc
    .command('show <name>')
    .description('every setting of an SMSC connection (the password is shown as "(set)")')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: Row) =>
      withDb(async (db) => {
        print(await findConnection(db, name), Boolean(opts.json));
      }),
    );

  smsc
    .command('list')
    .description('every SMSC connection, one line each')
    .option('--json', 'print as JSON')
    .action(async (opts: Row) =>
      withDb(async (db) => {
        const rows = await db.smscConnection.findMany({ orderBy: { id: 'asc' } });
        if (opts.json) process.stdout.write(`${JSON.stringify(rows.map(publicView), null, 2)}\n`);
        else if (rows.length === 0) process.stdout.write('no SMSC connections (add one: npm run admin -- smsc create --help)\n');
        else process.stdout.write(table(rows));
      }),
    );
}
