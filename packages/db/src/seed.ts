// npm run db:seed: the demo partner the README, the simulator setup and manual testing use.
// Creates it when missing; an existing demo partner is left exactly as it is (an operator may
// have changed its settings, and its password is not reset).
import { createPrismaClient, databaseUrl, type Partner, type PrismaClient } from './index';
import { apiPasswordPepper, hashApiPassword } from './passwords';

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

async function main(): Promise<void> {
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
