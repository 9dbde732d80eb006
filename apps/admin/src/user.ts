// `user …`: portal accounts from the command line. The portal's Users page does the same, but it
// needs a running portal and an operator who can log in; in production the portal refuses to
// start while a seeded account keeps its seeded password, and this is how that is fixed.
import Redis from 'ioredis';
import { Command } from 'commander';
import { hashUserPassword, SEEDED_PORTAL_USERS, type User } from '@smsgw/db';
import { SettingError } from '@smsgw/partners';
import { audit, prefix, withDb } from './cli';
import { addPasswordStdinOption, readPassword } from './password-input';

/** As the portal requires of a new password (apps/portal/src/auth/auth.controller.ts). */
const MIN_PASSWORD_LENGTH = 10;

function view(u: User) {
  return { id: u.id, login: u.login, role: u.role, partnerId: u.partnerId };
}

/**
 * Ends the user's portal sessions, as the portal does on a password reset (SessionService
 * destroyAllOf: the user's set of session keys). Best effort: sessions also end when idle.
 */
async function endSessions(userId: number): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: true });
  try {
    await redis.connect();
    const setKey = `${prefix}:portal:user-sessions:${userId}`;
    const keys = await redis.smembers(setKey);
    await redis.del(...keys, setKey);
  } catch (e) {
    process.stderr.write(`warning: password changed, but the user's open portal sessions could not be ended through Redis (${(e as Error).message}); they end when idle\n`);
  } finally {
    redis.disconnect();
  }
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('portal accounts: operators and partner users');

  addPasswordStdinOption(
    user
      .command('set-password <login>')
      .description("set a portal user's password (from --password-stdin, or prompted for); ends the user's portal sessions")
      .option('--password <password>', 'the new password (visible to other users of this machine: prefer --password-stdin)'),
  ).action(async (login: string, opts: { password?: string; passwordStdin?: boolean }) => {
    const password = (await readPassword(opts, { required: true, label: `new portal password for ${login}` }))!;
    if (password.length < MIN_PASSWORD_LENGTH) throw new SettingError(`the new password needs at least ${MIN_PASSWORD_LENGTH} characters`);
    const seeded = SEEDED_PORTAL_USERS.find((u) => u.password === password);
    if (seeded && process.env.NODE_ENV === 'production') throw new SettingError('that is a seeded development password, which production refuses: choose another');
    await withDb(async (db) => {
      const before = await db.user.findUnique({ where: { login } });
      if (!before) throw new SettingError(`no portal user with login "${login}"`);
      // A new session_version ends every session at its next request, whatever Redis still holds.
      const after = await db.user.update({ where: { id: before.id }, data: { passwordHash: await hashUserPassword(password), sessionVersion: { increment: 1 } } });
      await audit(db, 'user.reset-password', `user:${after.id}`, view(before), view(after));
      await endSessions(after.id);
      process.stdout.write(`${login}: password changed; open portal sessions ended\n`);
    });
  });

  user
    .command('list')
    .description('every portal user, one line each')
    .action(async () =>
      withDb(async (db) => {
        const rows = await db.user.findMany({ orderBy: { id: 'asc' }, include: { partner: { select: { login: true } } } });
        process.stdout.write(`${'id'.padStart(5)}  ${'login'.padEnd(20)} ${'role'.padEnd(8)} partner\n`);
        for (const r of rows) process.stdout.write(`${String(r.id).padStart(5)}  ${r.login.padEnd(20)} ${r.role.padEnd(8)} ${r.partner?.login ?? ''}\n`);
      }),
    );
}
