// For this package's e2e tests; apps use '@smsgw/db/test-helpers' (the same code, built).
export { createTestDatabase, runMigrate, adminQuery, type TestDatabase } from '../src/testing';
