// `npm test` runs every workspace's tests (unit specs and e2e specs against real services) and the
// scripts' short fuzz run (scripts/test).
module.exports = {
  projects: ['<rootDir>/packages/*/jest.config.js', '<rootDir>/apps/*/jest.config.js', '<rootDir>/scripts/jest.config.js'],
};
