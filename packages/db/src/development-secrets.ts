// Production (NODE_ENV=production) refuses the development secrets the repository publishes: the
// default API password pepper, and the passwords the seed gives its demo accounts. Every service
// that checks a password calls refuseDevelopmentSecrets() before it listens, so a deployment
// that forgot one of them does not start, instead of running with a password anyone can read.
import { createPrismaClient, type PrismaClient } from './index';
import { DevelopmentSecretError, hashApiPassword, refuseDevelopmentPepper, verifyUserPassword } from './passwords';
import {
  DEMO_OPERATOR_LOGIN,
  DEMO_OPERATOR_PASSWORD,
  DEMO_PARTNER_PASSWORD,
  DEMO_PARTNER_USER_LOGIN,
  DEMO_PARTNER_USER_PASSWORD,
} from './seed';

/** The API passwords the seed sets; any partner may have been given one (`--password demo-pass`). */
export const SEEDED_API_PASSWORDS: readonly string[] = [DEMO_PARTNER_PASSWORD];

/** The portal accounts the seed creates, with their fixed passwords. */
export const SEEDED_PORTAL_USERS: readonly { login: string; password: string }[] = [
  { login: DEMO_OPERATOR_LOGIN, password: DEMO_OPERATOR_PASSWORD },
  { login: DEMO_PARTNER_USER_LOGIN, password: DEMO_PARTNER_USER_PASSWORD },
];

/**
 * Logins of the active partners whose API password is a seeded one. The hash is keyed with the
 * pepper, so one query finds every such partner; a
 * blocked partner cannot send, so it does not count.
 */
export async function partnersWithSeededPassword(db: PrismaClient, pepper: string): Promise<string[]> {
  const rows = await db.partner.findMany({
    where: { status: 'active', apiPasswordHash: { in: SEEDED_API_PASSWORDS.map((p) => hashApiPassword(p, pepper)) } },
    select: { login: true },
    orderBy: { login: 'asc' },
  });
  return rows.map((r) => r.login);
}

/**
 * Seeded portal accounts that still have their seeded password. Portal hashes are salted scrypt,
 * so only the seeded logins are checked, one scrypt each (~0.1 s), not every user.
 */
export async function portalUsersWithSeededPassword(db: PrismaClient): Promise<string[]> {
  const users = await db.user.findMany({ where: { login: { in: SEEDED_PORTAL_USERS.map((u) => u.login) } }, select: { login: true, passwordHash: true } });
  const found: string[] = [];
  for (const seeded of SEEDED_PORTAL_USERS) {
    const user = users.find((u) => u.login === seeded.login);
    if (user && (await verifyUserPassword(seeded.password, user.passwordHash))) found.push(seeded.login);
  }
  return found;
}

export interface DevelopmentSecretsCheck {
  /** NODE_ENV as the service read it; nothing is checked unless it is `production`. */
  nodeEnv: string | undefined;
  /** The service's API_PASSWORD_PEPPER (after its default), when it checks API passwords. */
  pepper?: string;
  databaseUrl: string;
  /** Refuse while an active partner has a seeded API password (ingress). */
  partners?: boolean;
  /** Refuse while a seeded portal account has its seeded password (portal). */
  portalUsers?: boolean;
}

/**
 * Throws DevelopmentSecretError, with one line naming the setting or the accounts and what to do,
 * when NODE_ENV=production and a development secret is in use. Development is never checked.
 */
export async function refuseDevelopmentSecrets(check: DevelopmentSecretsCheck): Promise<void> {
  if (check.nodeEnv !== 'production') return;
  if (check.pepper !== undefined) refuseDevelopmentPepper(check.pepper, { NODE_ENV: check.nodeEnv });
  if (!check.partners && !check.portalUsers) return;
  const db = createPrismaClient(check.databaseUrl);
  try {
    if (check.partners && check.pepper !== undefined) {
      const logins = await partnersWithSeededPassword(db, check.pepper);
      if (logins.length > 0) {
        throw new DevelopmentSecretError(
          `${logins.length > 1 ? `partners ${logins.join(', ')} still have` : `partner ${logins[0]} still has`} the seeded API password (${SEEDED_API_PASSWORDS.join(', ')}) and NODE_ENV=production: ` +
            `give it a new one (npm run admin -- partner set-password ${logins[0]}) or block it (npm run admin -- partner block ${logins[0]})`,
        );
      }
    }
    if (check.portalUsers) {
      const logins = await portalUsersWithSeededPassword(db);
      if (logins.length > 0) {
        throw new DevelopmentSecretError(
          `${logins.length > 1 ? `portal users ${logins.join(', ')} still have their seeded passwords` : `portal user ${logins[0]} still has the seeded password`} and NODE_ENV=production: ` +
            `set a new one (npm run admin -- user set-password ${logins[0]})`,
        );
      }
    }
  } finally {
    await db.$disconnect();
  }
}
