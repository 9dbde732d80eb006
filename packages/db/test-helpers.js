// `require('@smsgw/db/test-helpers')`: the built src/testing.ts (run `npm run build -w @smsgw/db`).
module.exports = require('./dist/testing');
