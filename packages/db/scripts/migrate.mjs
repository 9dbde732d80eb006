#!/usr/bin/env node
// Applies prisma/migrations to DATABASE_URL, as `prisma migrate deploy` would, using the
// WebAssembly schema engine (see lib/schema-engine.mjs). Creates the database if it is missing.
//
//   npm run db:migrate                     (from the repository root)
//   DATABASE_URL=postgresql://... node scripts/migrate.mjs
//
// Also importable, with or without the flag: `const { migrate } = await import('@smsgw/db/scripts/migrate.mjs')`
// (from TS compiled to CommonJS, tsc turns import() into require(): spawn this script instead,
// as src/testing.ts runMigrate() does).
import { pathToFileURL } from 'node:url';
import {
  MIGRATIONS_DIR,
  MigrationError,
  databaseName,
  databaseUrlFromEnv,
  engineMessage,
  ensureDatabase,
  openSchemaEngine,
  readMigrationsList,
  redact,
  NO_FILTER,
} from './lib/schema-engine.mjs';

/**
 * Applies every migration not yet recorded in `_prisma_migrations`.
 * @param {string} [databaseUrl] defaults to DATABASE_URL, then postgresql://postgres@127.0.0.1:5432/smsgw
 * @param {{ migrationsDir?: string, log?: (line: string) => void }} [options]
 * @returns {Promise<{ applied: string[], total: number, createdDatabase: boolean }>}
 */
export async function migrate(databaseUrl = databaseUrlFromEnv(), { migrationsDir = MIGRATIONS_DIR, log = () => {} } = {}) {
  const migrationsList = await readMigrationsList(migrationsDir);
  if (migrationsList.lockfile.content === null) {
    throw new MigrationError(`no migration_lock.toml in ${migrationsDir}`);
  }
  const createdDatabase = await ensureDatabase(databaseUrl);
  if (createdDatabase) log(`Created database ${databaseName(databaseUrl)}`);

  const { engine, close } = await openSchemaEngine({ url: databaseUrl });
  try {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: NO_FILTER });
    for (const name of appliedMigrationNames) log(`Applied migration ${name}`);
    return { applied: appliedMigrationNames, total: migrationsList.migrationDirectories.length, createdDatabase };
  } catch (err) {
    const failed = /migration_name="([^"]+)"/.exec(String(err?.message))?.[1];
    throw new MigrationError(`${failed ? `migration ${failed}` : 'migrate'} failed: ${engineMessage(err)}`);
  } finally {
    await close();
  }
}

async function main() {
  const url = databaseUrlFromEnv();
  const started = Date.now();
  try {
    const { applied, total } = await migrate(url, { log: (line) => console.log(line) });
    const ms = Date.now() - started;
    if (applied.length === 0) {
      console.log(`No pending migrations: ${total} already applied to ${redact(url)} (${ms} ms)`);
    } else {
      console.log(`Applied ${applied.length} of ${total} migration(s) to ${redact(url)} (${ms} ms)`);
    }
  } catch (err) {
    const message = err instanceof MigrationError ? err.message : engineMessage(err);
    console.error(`db:migrate: ${message}`);
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
