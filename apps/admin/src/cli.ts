// What every command group of the CLI shares: the database, change notifications, printing and
// the audit log.
import { userInfo } from 'node:os';
import Redis from 'ioredis';
import { createPrismaClient } from '@smsgw/db';
import { writeAudit, type ChangeContext } from '@smsgw/partners';

export { camel } from '@smsgw/partners';

export type Db = ReturnType<typeof createPrismaClient>;
export type Row = Record<string, unknown>;

export const prefix = process.env.REDIS_PREFIX ?? 'smsgw';
export const actor = `cli:${safeUser()}`;

export async function withDb<T>(f: (db: Db) => Promise<T>): Promise<T> {
  const db = createPrismaClient();
  try {
    return await f(db);
  } finally {
    await db.$disconnect();
  }
}

/** Tells running services to reload; they also reload periodically if this is missed. */
export async function announce(channel: string, payload: string): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: true });
  try {
    await redis.connect();
    await redis.publish(channel, payload);
  } catch (e) {
    process.stderr.write(`warning: change stored, but running services could not be notified through Redis (${(e as Error).message}); they pick it up at their next periodic reload\n`);
  } finally {
    redis.disconnect();
  }
}

/** Prints a row as `key  value` lines, or as JSON. The caller removes secrets first. */
export function printRow(view: Row, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(view).map((k) => k.length));
  for (const [k, v] of Object.entries(view)) {
    const shown = v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? '');
    process.stdout.write(`${k.padEnd(width)}  ${shown}\n`);
  }
}

/** One audit_log row. `before` and `after` must already be free of secrets. */
export async function audit(db: Db, action: string, entity: string, before: Row | null, after: Row | null): Promise<void> {
  await writeAudit({ db, actor }, action, entity, before, after);
}

/** The CLI as the author of a configuration change (see @smsgw/partners). */
export function changeContext(db: Db): ChangeContext {
  return { db, actor, prefix, publish: announce };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
