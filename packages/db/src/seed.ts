// npm run db:seed: the demo partner the README, the simulator setup and manual testing use, an
// SMSC connection to the local simulator, and the demo partner's service number 4565.
// Each is created when missing; an existing one is left exactly as it is (an operator may have
// changed its settings, and the demo partner's password is not reset).
import { createPrismaClient, databaseUrl, type Partner, type PrismaClient, type SmscConnection } from './index';
import { apiPasswordPepper, hashApiPassword, hashUserPassword } from './passwords';

export const DEMO_PARTNER_LOGIN = 'demo';
export const DEMO_PARTNER_PASSWORD = 'demo-pass';

export interface SeedResult {
  created: boolean;
  partner: Partner;
}

export async function seedDemoPartner(prisma: PrismaClient, pepper: string = apiPasswordPepper()): Promise<SeedResult> {
  // INSERT ... ON CONFLICT DO NOTHING: safe against a concurrent seed, and says whether it inserted.
  const { count } = await prisma.partner.createMany({
    data: [
      {
        login: DEMO_PARTNER_LOGIN,
        name: 'Demo partner',
        apiPasswordHash: hashApiPassword(DEMO_PARTNER_PASSWORD, pepper),
        allowedIps: ['127.0.0.1/32', '::1/128'],
        senders: ['DEMO'],
        defaultSender: 'DEMO',
        defaultCountry: 'RU',
        timeZone: 'Europe/Moscow',
        rateLimit: 10,
        postponedEnabled: true,
      },
    ],
    skipDuplicates: true,
  });
  const partner = await prisma.partner.findUniqueOrThrow({ where: { login: DEMO_PARTNER_LOGIN } });
  return { created: count === 1, partner };
}

/** The connection to apps/smsc-simulator with the simulator's default account. */
export const SIMULATOR_CONNECTION_NAME = 'simulator';
export const SIMULATOR_SYSTEM_ID = 'smsgw';
export const SIMULATOR_PASSWORD = 'smsgw';
export const DEMO_SERVICE_NUMBER = '4565';

/** The simulator's SMPP port: SIM_SMPP_PORT when set (as the simulator reads it), else 2775. */
export function simulatorSmppPort(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SIM_SMPP_PORT;
  if (v === undefined || v === '') return 2775;
  const port = Number(v);
  if (!/^\d+$/.test(v) || port < 1 || port > 65535) throw new Error(`SIM_SMPP_PORT="${v}" is not a fixed port (1-65535) the connector could be given`);
  return port;
}

export interface SimulatorSeedResult {
  created: boolean;
  connection: SmscConnection;
}

export async function seedSimulatorConnection(prisma: PrismaClient, port: number = simulatorSmppPort()): Promise<SimulatorSeedResult> {
  const { count } = await prisma.smscConnection.createMany({
    data: [
      {
        name: SIMULATOR_CONNECTION_NAME,
        host: '127.0.0.1',
        port,
        systemId: SIMULATOR_SYSTEM_ID,
        password: SIMULATOR_PASSWORD,
        tps: 500,
        window: 100,
      },
    ],
    skipDuplicates: true,
  });
  const connection = await prisma.smscConnection.findUniqueOrThrow({ where: { name: SIMULATOR_CONNECTION_NAME } });
  return { created: count === 1, connection };
}

export interface ServiceNumberSeedResult {
  created: boolean;
  /** The partner the number belongs to now (another one's if it was taken). */
  ownerId: number;
}

/** Gives `partnerId` the demo service number unless some partner owns it already. */
export async function seedDemoServiceNumber(prisma: PrismaClient, partnerId: number): Promise<ServiceNumberSeedResult> {
  const { count } = await prisma.serviceNumber.createMany({ data: [{ number: DEMO_SERVICE_NUMBER, partnerId }], skipDuplicates: true });
  const row = await prisma.serviceNumber.findUniqueOrThrow({ where: { number: DEMO_SERVICE_NUMBER } });
  return { created: count === 1, ownerId: row.partnerId };
}

/**
 * Portal accounts for trying the platform out: an operator, and a user of the demo partner. Fixed
 * development credentials, printed by `npm start`; change them (portal: Account > Password) on
 * anything reachable by others.
 */
export const DEMO_OPERATOR_LOGIN = 'operator';
export const DEMO_OPERATOR_PASSWORD = 'operator-pass';
export const DEMO_PARTNER_USER_LOGIN = 'demo';
export const DEMO_PARTNER_USER_PASSWORD = 'demo-portal-pass';

export interface PortalUsersSeedResult {
  /** Logins created now (existing ones are left as they are, passwords included). */
  created: string[];
}

export async function seedPortalUsers(prisma: PrismaClient, demoPartnerId: number): Promise<PortalUsersSeedResult> {
  const created: string[] = [];
  for (const u of [
    { login: DEMO_OPERATOR_LOGIN, password: DEMO_OPERATOR_PASSWORD, role: 'operator' as const, partnerId: null },
    { login: DEMO_PARTNER_USER_LOGIN, password: DEMO_PARTNER_USER_PASSWORD, role: 'partner' as const, partnerId: demoPartnerId },
  ]) {
    if (await prisma.user.findUnique({ where: { login: u.login } })) continue;
    const { count } = await prisma.user.createMany({
      data: [{ login: u.login, role: u.role, partnerId: u.partnerId, passwordHash: await hashUserPassword(u.password) }],
      skipDuplicates: true,
    });
    if (count === 1) created.push(u.login);
  }
  return { created };
}

/**
 * The seed is for development and trying the platform out: its accounts have passwords printed
 * in the README, which production services refuse to start with. So in production it refuses to
 * create them at all rather than leave a deployment that cannot start (or, before that check,
 * one anyone could log in to).
 */
export function refuseSeedInProduction(env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV !== 'production') return;
  throw new Error(
    `NODE_ENV=production: the seed creates demo accounts with published passwords (${DEMO_PARTNER_PASSWORD}, ${DEMO_OPERATOR_PASSWORD}, ` +
      `${DEMO_PARTNER_USER_PASSWORD}), which production refuses; create partners and users with npm run admin instead (or seed with NODE_ENV=development for a trial)`,
  );
}

async function main(): Promise<void> {
  refuseSeedInProduction();
  const port = simulatorSmppPort();
  const prisma = createPrismaClient(databaseUrl());
  try {
    const { created, partner } = await seedDemoPartner(prisma);
    if (created) {
      console.log(
        `Created demo partner #${partner.id}: login ${partner.login}, API password ${DEMO_PARTNER_PASSWORD}, ` +
          `allowed IPs ${partner.allowedIps.join(' ')}, sender ${partner.defaultSender}, ` +
          `${partner.timeZone}, ${partner.rateLimit} msg/s, postponed delivery on`,
      );
      if (!process.env.API_PASSWORD_PEPPER) console.log('(password hashed with the development pepper: API_PASSWORD_PEPPER is not set)');
    } else {
      console.log(`demo partner exists (#${partner.id}); left unchanged, password not reset`);
    }

    const { created: smscCreated, connection: c } = await seedSimulatorConnection(prisma, port);
    if (smscCreated) {
      console.log(
        `Created SMSC connection #${c.id} ${c.name}: ${c.host}:${c.port}, system_id ${c.systemId}, ` +
          `${c.bindMode}, ${c.tps} submits/s, window ${c.window} (the simulator's defaults)`,
      );
    } else {
      console.log(`SMSC connection ${c.name} exists (#${c.id}, ${c.host}:${c.port}, ${c.enabled ? 'enabled' : 'disabled'}); left unchanged`);
      if (c.port !== port) console.log(`  note: it points at port ${c.port}, not ${port}; to change it: npm run admin -- smsc update ${c.name} --port ${port}`);
    }

    const { created: numberCreated, ownerId } = await seedDemoServiceNumber(prisma, partner.id);
    if (numberCreated) console.log(`Assigned service number ${DEMO_SERVICE_NUMBER} to the demo partner (MO to ${DEMO_SERVICE_NUMBER} goes to demo)`);
    else if (ownerId === partner.id) console.log(`service number ${DEMO_SERVICE_NUMBER} belongs to the demo partner already; left unchanged`);
    else console.log(`service number ${DEMO_SERVICE_NUMBER} belongs to partner #${ownerId}; left unchanged`);

    const users = await seedPortalUsers(prisma, partner.id);
    if (users.created.length > 0) console.log(`Created portal users: ${users.created.join(', ')} (operator / ${DEMO_OPERATOR_PASSWORD}, demo / ${DEMO_PARTNER_USER_PASSWORD})`);
    else console.log('portal users operator and demo exist; left unchanged, passwords not reset');
  } finally {
    await prisma.$disconnect();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const message = (err instanceof Error ? err.message : String(err)).trim().split('\n').pop() ?? '';
    const hint = /does not exist/.test(message) ? ' (run npm run db:migrate first)' : '';
    console.error(`db:seed: ${message}${hint}`);
    process.exitCode = 1;
  });
}
