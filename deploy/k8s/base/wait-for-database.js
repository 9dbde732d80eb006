#!/usr/bin/env node
// The init container of every smsgw pod that uses PostgreSQL (mounted from the ConfigMap
// smsgw-k8s-scripts; run with the pod's own image, its node and its `pg` module). It waits, and
// never gives up, until:
//
//   --database    the database server in DATABASE_URL accepts connections: the init container of
//                 the migration Job, so that the Job's one attempt is not spent on a database
//                 still starting (the migrations themselves do not wait: they fail and exit);
//   --migrations  every migration this image carries (packages/db/prisma/migrations) is recorded as
//                 applied in _prisma_migrations: the init container of the apps, so that an app
//                 starts only on the schema it was built for, once the migration Job has applied
//                 it (at the first install and at every upgrade that brings a migration).
//
// It prints what it waits for once, and again when that changes or every 30 s; it names the
// server as host:port only, never the URL (which holds the password). Exit 0 when done; 1 when it
// cannot work at all (no migrations in the image, no `pg`: a layout this script does not know);
// SIGTERM ends it at once.
//
// SMSGW_DB_PACKAGE: where @smsgw/db is in the image (default /app/packages/db, as the Dockerfile
// lays it out); WAIT_INTERVAL_MS: time between attempts (default 2000).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const MODES = ['--database', '--migrations'];
const mode = process.argv[2];
if (!MODES.includes(mode)) {
  console.error(`wait-for-database: usage: wait-for-database.js ${MODES.join('|')}`);
  process.exit(2);
}
const dbPackage = process.env.SMSGW_DB_PACKAGE || '/app/packages/db';
const intervalMs = Number(process.env.WAIT_INTERVAL_MS) > 0 ? Number(process.env.WAIT_INTERVAL_MS) : 2000;
const url = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/smsgw';

// As PID 1 a process has no default SIGTERM action: without this a pod deleted while waiting
// would wait for its whole grace period.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(143));

function fail(message) {
  console.error(`wait-for-database: ${message}`);
  process.exit(1);
}

let pg;
try {
  pg = createRequire(path.join(dbPackage, 'package.json'))('pg');
} catch (err) {
  fail(`cannot load the pg module from ${dbPackage} (${err.code ?? err.message}); set SMSGW_DB_PACKAGE`);
}

let expected = [];
if (mode === '--migrations') {
  const dir = path.join(dbPackage, 'prisma', 'migrations');
  try {
    expected = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    fail(`cannot read the image's migrations in ${dir} (${err.code ?? err.message}); set SMSGW_DB_PACKAGE`);
  }
  if (expected.length === 0) fail(`no migrations in ${dir}; set SMSGW_DB_PACKAGE`);
}

let where = 'the database server';
let database = '';
try {
  const u = new URL(url);
  where = `PostgreSQL at ${u.hostname}:${u.port || 5432}`;
  database = decodeURIComponent(u.pathname.replace(/^\//, ''));
} catch {
  fail('DATABASE_URL is not a URL');
}

/** null when done, else why not yet (no secrets in it). */
async function check() {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, query_timeout: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    if (err.code === '3D000') return `${where} answers, database ${database} does not exist yet (the migration Job creates it)`;
    return `${where} does not answer yet (${err.code ?? err.message})`;
  }
  try {
    if (mode === '--database') return null;
    let rows;
    try {
      ({ rows } = await client.query(
        'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      ));
    } catch (err) {
      if (err.code === '42P01') return `database ${database} has no migrations applied yet (the migration Job applies them)`;
      return `${where}: cannot read the applied migrations (${err.code ?? err.message})`;
    }
    const applied = new Set(rows.map((r) => r.migration_name));
    const missing = expected.filter((name) => !applied.has(name));
    if (missing.length === 0) return null;
    return `database ${database}: ${missing.length} of this image's ${expected.length} migrations not applied yet (${missing[0]}${missing.length > 1 ? ', …' : ''}); the migration Job applies them`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function main() {
  const started = Date.now();
  let said = '';
  let saidAt = 0;
  for (;;) {
    const why = await check();
    if (why === null) {
      const what = mode === '--database' ? `${where} answers` : `database ${database} has this image's ${expected.length} migrations`;
      console.log(`wait-for-database: ${what}, after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return;
    }
    if (why !== said || Date.now() - saidAt >= 30_000) {
      console.log(`wait-for-database: waiting: ${why}`);
      said = why;
      saidAt = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

main().then(
  () => process.exit(0),
  (err) => fail(err.message),
);
