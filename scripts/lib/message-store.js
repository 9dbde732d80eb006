// The partitioned message store as the benches fill it (migration message_partitions): message ids
// carry their UTC hour (hour · 2^30 + a number below 2^30, @smsgw/db's MessageIdAllocator), and
// message / message_part have one partition per 7 days (counted from 1970-01-01, UTC) of ids.
// Needs `npm run build` first (the id arithmetic is @smsgw/db's).
const path = require('node:path');
const { root } = require('./services');
const { ID_HOUR_FACTOR: HOUR_FACTOR, messageIdFloor: idFloor } = require(path.join(root, 'packages/db/dist'));

const WEEK_MS = 7 * 86_400_000;

/** A message id for a row created at `ms`, n (0 ≤ n < 2^30) telling it from the others of its hour. */
const messageId = (ms, n) => String(BigInt(idFloor(ms)) + BigInt(n));

/** The same in SQL, of a timestamptz expression and a bigint expression n. */
const messageIdSql = (ts, n) => `(floor(extract(epoch FROM ${ts}) / 3600)::bigint * ${HOUR_FACTOR} + ${n})`;

/**
 * Replaces the partitions of a new, empty store by those the scheduler would have made since
 * `fromMs`: one per week up to 3 weeks ahead of now, and message_before / message_part_before
 * below them.
 */
async function weeklyPartitions(pool, fromMs) {
  const first = Math.floor(fromMs / WEEK_MS) * WEEK_MS;
  const until = (Math.floor(Date.now() / WEEK_MS) + 4) * WEEK_MS;
  for (const t of ['message', 'message_part']) {
    const { rows } = await pool.query(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = $1::regclass`, [t]);
    for (const r of rows) await pool.query(`DROP TABLE ${r.name}`);
    await pool.query(`CREATE TABLE ${t}_before PARTITION OF ${t} FOR VALUES FROM (MINVALUE) TO (${idFloor(first)})`);
    for (let w = first; w < until; w += WEEK_MS) {
      const name = `${t}_p${new Date(w).toISOString().slice(0, 10).replace(/-/g, '')}`;
      await pool.query(`CREATE TABLE ${name} PARTITION OF ${t} FOR VALUES FROM (${idFloor(w)}) TO (${idFloor(w + WEEK_MS)})`);
    }
  }
}

module.exports = { HOUR_FACTOR, idFloor, messageId, messageIdSql, weeklyPartitions };
