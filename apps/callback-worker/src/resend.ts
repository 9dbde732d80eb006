// Re-sends parked callbacks where only the worker is installed (e.g. its container). Operators
// normally use the admin CLI, which does the same through ./operator and writes the audit log:
//   npm run admin -- callback resend [--partner <login|id>] [--id N ...]
// This script takes partner ids only:
//   node apps/callback-worker/dist/resend.js                 every parked callback
//   node apps/callback-worker/dist/resend.js --partner 42    one partner's
//   node apps/callback-worker/dist/resend.js --id 7 --id 9   these callbacks (callback.id)
import { ConfigError } from '@smsgw/common';
import { operatorConnectionFromEnv, resendParkedCallbacks, type ResendResult, type ResendTarget } from './operator';

/** Re-sends with DATABASE_URL, REDIS_URL and REDIS_PREFIX from `env`. */
export function resendParkedWithEnv(target: ResendTarget, env: NodeJS.ProcessEnv = process.env): Promise<ResendResult> {
  return resendParkedCallbacks(operatorConnectionFromEnv(env), target);
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
  Promise.resolve()
    .then(() => resendParkedWithEnv(parseArgs(process.argv.slice(2))))
    .then((r) => process.stdout.write(`re-sent ${r.dlr} delivery reports and ${r.mo} MO callbacks\n`))
    .catch((e: Error) => {
      process.stderr.write(`${e instanceof ConfigError ? e.message : `re-send failed: ${e.message}`}\n`);
      process.exit(1);
    });
}
