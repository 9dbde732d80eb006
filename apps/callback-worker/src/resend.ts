// Re-sends parked callbacks from the command line (the admin CLI can import resendParkedWithEnv):
//   node apps/callback-worker/dist/resend.js                 every parked callback
//   node apps/callback-worker/dist/resend.js --partner 42    one partner's
//   node apps/callback-worker/dist/resend.js --id 7 --id 9   these callbacks (callback.id)
import { Queue } from 'bullmq';
import { Pool } from 'pg';
import { ConfigError, createRedis } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { loadCallbackConfig } from './config';
import { resendParked, type ResendResult, type ResendTarget } from './parking/resend-parked';

/** Opens what a re-send needs from the environment (DATABASE_URL, REDIS_URL, REDIS_PREFIX), re-sends, closes. */
export async function resendParkedWithEnv(target: ResendTarget, env: NodeJS.ProcessEnv = process.env): Promise<ResendResult> {
  const config = loadCallbackConfig(env);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 1 });
  const connection = createRedis(config.REDIS_URL, 'client');
  const dlr = new Queue(QUEUES.CALLBACK_DLR, { prefix: config.REDIS_PREFIX, connection });
  const mo = new Queue(QUEUES.CALLBACK_MO, { prefix: config.REDIS_PREFIX, connection });
  try {
    return await resendParked(pool, { dlr, mo }, target);
  } finally {
    await Promise.allSettled([dlr.close(), mo.close()]);
    connection.disconnect();
    await pool.end();
  }
}

function parseArgs(argv: string[]): ResendTarget {
  const target: ResendTarget = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if ((arg === '--partner' || arg === '--id') && (value === undefined || !/^[1-9][0-9]*$/.test(value))) throw new ConfigError(`${arg} needs a positive integer`);
    if (arg === '--partner') target.partnerId = Number(value);
    else if (arg === '--id') (target.ids ??= []).push(value as string);
    else throw new ConfigError(`unknown argument ${arg} (usage: resend.js [--partner ID] [--id CALLBACK_ID ...])`);
    i++;
  }
  return target;
}

if (require.main === module) {
  resendParkedWithEnv(parseArgs(process.argv.slice(2)))
    .then((r) => process.stdout.write(`re-sent ${r.dlr} delivery reports and ${r.mo} MO callbacks\n`))
    .catch((e: Error) => {
      process.stderr.write(`${e instanceof ConfigError ? e.message : `re-send failed: ${e.message}`}\n`);
      process.exit(1);
    });
}
