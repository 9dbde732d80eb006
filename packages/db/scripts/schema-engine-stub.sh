#!/bin/sh
# Stands in for Prisma's native schema engine, which cannot be downloaded on these machines.
# `prisma generate` only checks that PRISMA_SCHEMA_ENGINE_BINARY exists; anything that runs it
# (prisma migrate / db push / studio ...) is pointed at the WebAssembly engine instead.
echo "The native Prisma schema engine is not installed here. Use: npm run db:migrate (apply)" >&2
echo "or npm run -w @smsgw/db migration:new -- NAME (create a migration)." >&2
exit 1
