// The scripts' own tests: the short fuzz run (scripts/test/*.e2e-spec.js, plain Node like the scripts).
module.exports = { ...require('../jest.preset'), rootDir: __dirname, testMatch: ['<rootDir>/test/**/*.e2e-spec.js'] };
