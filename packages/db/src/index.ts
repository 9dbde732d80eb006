import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';
import { databaseUrl } from './database-url';

// The generated client (prisma generate -> src/generated/prisma): PrismaClient, the Prisma
// namespace, model types (Partner, Message, ...) and enums (PartnerStatus, UserRole).
export * from './generated/prisma/client';
export * from './passwords';
export * from './message-id.allocator';
export { DEFAULT_DATABASE_URL, databaseUrl } from './database-url';

/**
 * A PrismaClient on the pg driver adapter (no native engine: Prisma 7's query compiler runs in
 * wasm and pg does the I/O). One per process; call $disconnect() on shutdown.
 */
export function createPrismaClient(url: string = databaseUrl()): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}

// After createPrismaClient: the checks open a client of their own.
export * from './development-secrets';
