// Checks that PostgreSQL and Redis answer before anything is started, and says in one line
// which one does not and how to point the platform at it.
const net = require('node:net');

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/smsgw';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function reachable(url, defaultPort) {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(u.port || defaultPort);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(3000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function preflight() {
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  const shown = (url) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  if (!(await reachable(databaseUrl, 5432))) {
    return `PostgreSQL is not reachable at ${shown(databaseUrl)} — start it, or set DATABASE_URL=postgresql://user:password@host:port/database`;
  }
  if (!(await reachable(redisUrl, 6379))) {
    return `Redis is not reachable at ${shown(redisUrl)} — start it, or set REDIS_URL=redis://host:port`;
  }
  return null;
}

module.exports = { preflight, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL };

if (require.main === module) {
  preflight().then((problem) => {
    if (problem) {
      process.stderr.write(`${problem}\n`);
      process.exit(1);
    }
  });
}
