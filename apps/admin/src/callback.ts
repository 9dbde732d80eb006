// `callback …`: delivery reports and MO pushed to partners by the callback worker (tables
// callback and callback_attempt). A callback gets a `callback` row at its first failed attempt;
// one acknowledged at once has only its attempt record. `resend` re-queues parked callbacks
// through the worker's own code (@smsgw/callback-worker/dist/operator), audited per partner; the
// jobs it adds are what running workers act on, so there is no settings notification to send.
import type { Command } from 'commander';
import { databaseUrl, type Callback } from '@smsgw/db';
import { audit, withDb, type Db, type Row } from './cli';
import { int, SettingError } from '@smsgw/partners';

/** `--partner acme` or `--partner 42`: a login first, then an id. */
async function partnerByLoginOrId(db: Db, value: string): Promise<{ id: number; login: string }> {
  const byLogin = await db.partner.findUnique({ where: { login: value }, select: { id: true, login: true } });
  if (byLogin) return byLogin;
  if (/^[1-9][0-9]{0,9}$/.test(value) && Number(value) <= 2_147_483_647) {
    const byId = await db.partner.findUnique({ where: { id: Number(value) }, select: { id: true, login: true } });
    if (byId) return byId;
  }
  throw new SettingError(`no partner with login or id "${value}" (see: npm run admin -- partner list)`);
}

function callbackIds(values: string[] | undefined): bigint[] | undefined {
  if (!values) return undefined;
  return values.map((v) => {
    if (!/^[1-9][0-9]{0,18}$/.test(v)) throw new SettingError(`--id: "${v}" is not a callback id (see: npm run admin -- callback list)`);
    return BigInt(v);
  });
}

/** What the callback is about: `message 1000 status 2` or `MO 17`. */
function subject(c: Callback): string {
  return c.kind === 'dlr' ? `message ${c.messageId} status ${c.status}` : `MO ${c.moId}`;
}

const time = (d: Date | null): string => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '-');

/** The time that matters for the state: next attempt (pending), delivered or parked. */
function when(c: Callback): string {
  if (c.state === 'pending') return `next ${time(c.nextAttemptAt)}`;
  if (c.state === 'delivered') return `delivered ${time(c.deliveredAt)}`;
  return `parked ${time(c.parkedAt)}`;
}

function table(rows: Callback[], logins: Map<number, string>): string {
  const head = ['id', 'partner', 'kind', 'callback', 'state', 'attempts', 'last attempt', 'when', 'last result'];
  const right = new Set(['id', 'attempts']);
  const cells = rows.map((c) => [
    String(c.id),
    logins.get(c.partnerId) ?? String(c.partnerId),
    c.kind,
    subject(c),
    c.state,
    String(c.attempts),
    time(c.lastAttemptAt),
    when(c),
    c.lastResult ?? '-',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (right.has(head[i]!) ? v.padStart(width[i]!) : v.padEnd(width[i]!))).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}

function jsonView(c: Callback, login: string | undefined): Row {
  return {
    id: String(c.id),
    partnerId: c.partnerId,
    partner: login ?? null,
    kind: c.kind,
    messageId: c.messageId === null ? null : String(c.messageId),
    status: c.status,
    moId: c.moId === null ? null : String(c.moId),
    state: c.state,
    attempts: c.attempts,
    dueAt: c.dueAt,
    lastAttemptAt: c.lastAttemptAt,
    nextAttemptAt: c.nextAttemptAt,
    lastResult: c.lastResult,
    deliveredAt: c.deliveredAt,
    parkedAt: c.parkedAt,
    resends: c.resends,
  };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function registerCallbackCommands(program: Command): void {
  const callback = program
    .command('callback')
    .description('delivery reports and MO pushed to partners: the ones that needed retries, and re-sending parked ones');

  callback
    .command('list')
    .description('recent callbacks that failed at least once (newest activity first): state, attempts, last result')
    .option('--partner <login|id>', "only this partner's")
    .option('--parked', 'only parked callbacks (the retry horizon ran out; re-send them with callback resend)')
    .option('--limit <n>', 'at most this many (1-10000)', '50')
    .option('--json', 'print as JSON')
    .action(async (opts: Row) =>
      withDb(async (db) => {
        const limit = int(1, 10_000)(String(opts.limit));
        const partner = opts.partner === undefined ? undefined : await partnerByLoginOrId(db, String(opts.partner));
        const rows = await db.callback.findMany({
          where: { ...(partner ? { partnerId: partner.id } : {}), ...(opts.parked ? { state: 'parked' } : {}) },
          orderBy: opts.parked ? [{ parkedAt: 'desc' }, { id: 'desc' }] : [{ updatedAt: 'desc' }, { id: 'desc' }],
          take: limit,
        });
        const partnerIds = [...new Set(rows.map((r) => r.partnerId))];
        const logins = new Map((await db.partner.findMany({ where: { id: { in: partnerIds } }, select: { id: true, login: true } })).map((p) => [p.id, p.login]));
        if (opts.json) process.stdout.write(`${JSON.stringify(rows.map((r) => jsonView(r, logins.get(r.partnerId))), null, 2)}\n`);
        else if (rows.length === 0) process.stdout.write(`no ${opts.parked ? 'parked ' : ''}callbacks${partner ? ` for ${partner.login}` : ''} (a callback acknowledged at its first attempt has no entry here)\n`);
        else process.stdout.write(table(rows, logins));
      }),
    );

  callback
    .command('resend')
    .description('re-send parked callbacks (all, a partner’s, or the given ids) with a fresh retry horizon; running callback workers deliver them')
    .option('--partner <login|id>', "only this partner's")
    .option('--id <id...>', 'only these callbacks (ids from callback list)')
    .action(async (opts: Row) =>
      withDb(async (db) => {
        const ids = callbackIds(opts.id as string[] | undefined);
        const partner = opts.partner === undefined ? undefined : await partnerByLoginOrId(db, String(opts.partner));
        // Ids that are not parked (or not this partner's) are reported, not an error; unknown ones are.
        const asked = ids ? await db.callback.findMany({ where: { id: { in: ids } } }) : [];
        const unknown = (ids ?? []).filter((id) => !asked.some((c) => c.id === id));
        if (unknown.length > 0) throw new SettingError(`no callback with id ${unknown.join(', ')} (see: npm run admin -- callback list)`);

        // Loaded here: BullMQ is not needed by any other command, and costs a noticeable start-up time.
        const { operatorConnectionFromEnv, resendParkedCallbacks } = await import('@smsgw/callback-worker/dist/operator');
        const result = await resendParkedCallbacks({ ...operatorConnectionFromEnv(), databaseUrl: databaseUrl() }, { partnerId: partner?.id, ids });
        const byPartner = new Map<number, string[]>();
        for (const c of result.callbacks) byPartner.set(c.partnerId, [...(byPartner.get(c.partnerId) ?? []), c.id]);
        for (const [partnerId, resent] of byPartner) {
          const mine = result.callbacks.filter((c) => c.partnerId === partnerId);
          await audit(db, 'callback.resend', `partner:${partnerId}`, null, {
            callbacks: resent,
            dlr: mine.filter((c) => c.kind === 'dlr').length,
            mo: mine.filter((c) => c.kind === 'mo').length,
          });
        }

        const lines: string[] = [];
        if (result.ids.length === 0) lines.push(`nothing re-sent: no parked callbacks${partner ? ` for ${partner.login}` : ''}${ids ? ' among the ids given' : ''}`);
        else lines.push(`re-sent ${plural(result.dlr, 'delivery report', 'delivery reports')} and ${plural(result.mo, 'MO callback', 'MO callbacks')}: ${result.ids.join(', ')}`);
        for (const c of asked) {
          if (result.ids.includes(String(c.id))) continue;
          const why =
            c.state !== 'parked' ? `it is ${c.state}, not parked` : partner && c.partnerId !== partner.id ? `it belongs to partner ${c.partnerId}, not ${partner.login}` : 'it changed meanwhile';
          lines.push(`callback ${c.id} not re-sent: ${why}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
