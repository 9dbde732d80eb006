#!/usr/bin/env node
// Writes the next migration: the SQL that takes a database from what prisma/migrations builds
// to what prisma/schema.prisma describes (the WebAssembly engine's `diff`, replayed on a
// throw-away shadow database on the DATABASE_URL server). The developer's `prisma migrate dev
// --create-only`:
//
//   npm run -w @smsgw/db migration:new -- add_mo_table
//
// Review the SQL, append by hand what the schema cannot express, then `npm run db:migrate`.
// Hand-added sequences, functions and triggers are not compared by the diff; hand-added tables,
// columns or indexes that schema.prisma does not describe come back as drift in the next diff.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  LOCKFILE_CONTENT,
  LOCKFILE_NAME,
  MIGRATIONS_DIR,
  MigrationError,
  NO_FILTER,
  SCHEMA_PATH,
  databaseUrlFromEnv,
  engineMessage,
  openSchemaEngine,
  readMigrationsList,
  withDatabase,
} from './lib/schema-engine.mjs';

/** The SQL from the migrations folder to the schema; '' when they agree. */
export async function diffMigrationsToSchema({
  databaseUrl = databaseUrlFromEnv(),
  migrationsDir = MIGRATIONS_DIR,
  schemaPath = SCHEMA_PATH,
} = {}) {
  const schema = await readFile(schemaPath, 'utf8');
  const migrationsList = await readMigrationsList(migrationsDir);
  // An empty folder still needs the connector named, as a fresh `prisma migrate dev` would write it.
  if (migrationsList.lockfile.content === null) migrationsList.lockfile.content = LOCKFILE_CONTENT;
  // The engine only needs a server to create the shadow database on: use the maintenance db, so
  // the application database need not exist.
  const { engine, close } = await openSchemaEngine({ url: withDatabase(databaseUrl, 'postgres'), schema });
  try {
    const { stdout } = await engine.diff({
      from: { tag: 'migrations', ...migrationsList },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: NO_FILTER,
    });
    const sql = (stdout ?? '').trim();
    return /^-- This is an empty migration\.?$/.test(sql) ? '' : sql;
  } catch (err) {
    throw new MigrationError(engineMessage(err));
  } finally {
    await close();
  }
}

function timestamp(date) {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS, UTC, as Prisma
}

/** Creates prisma/migrations/<timestamp>_<name>/migration.sql. Returns its path, or null if no change. */
export async function newMigration(name, { allowEmpty = false, ...options } = {}) {
  const slug = String(name ?? '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!slug) throw new MigrationError('usage: new-migration.mjs NAME (letters, digits, underscores)');
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;

  const sql = await diffMigrationsToSchema(options);
  if (!sql && !allowEmpty) return null;

  const existing = (await readMigrationsList(migrationsDir)).migrationDirectories.map((d) => d.path);
  let when = new Date();
  let dirName = `${timestamp(when)}_${slug}`;
  // Keep the order strict even when two migrations are made within a second.
  while (existing.some((d) => d.slice(0, 14) >= dirName.slice(0, 14))) {
    when = new Date(when.getTime() + 1000);
    dirName = `${timestamp(when)}_${slug}`;
  }
  const dir = path.join(migrationsDir, dirName);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'migration.sql');
  await writeFile(file, sql ? `${sql}\n` : '-- This is an empty migration.\n');
  await writeFile(path.join(migrationsDir, LOCKFILE_NAME), LOCKFILE_CONTENT);
  return file;
}

async function main() {
  const args = process.argv.slice(2);
  const allowEmpty = args.includes('--empty');
  const name = args.find((a) => !a.startsWith('--'));
  try {
    const file = await newMigration(name, { allowEmpty });
    if (file) console.log(`Wrote ${path.relative(process.cwd(), file)}`);
    else console.log('schema.prisma and prisma/migrations agree: no migration written (--empty to write one anyway)');
  } catch (err) {
    console.error(`new-migration: ${err instanceof MigrationError ? err.message : engineMessage(err)}`);
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
