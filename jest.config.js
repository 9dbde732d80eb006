// `npm test` runs every workspace's tests (unit specs and e2e specs against real services).
module.exports = {
  projects: ['<rootDir>/packages/*/jest.config.js', '<rootDir>/apps/*/jest.config.js'],
};
