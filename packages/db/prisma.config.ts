// Prisma 7 reads its settings from here rather than from the schema's datasource block.
// Only `prisma generate` (scripts/generate.js) runs the Prisma CLI in this project; migrations
// go through scripts/migrate.mjs, because the CLI's native schema engine cannot be downloaded
// here. The url is read lazily with a default so that generate works without DATABASE_URL.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/smsgw' },
});
