#!/usr/bin/env node
// A partner's HTTP endpoint for `npm run test:compose` (docker-compose.test.yml): answers every
// delivery report or MO push with 200 and remembers it.
//   GET /dlr?...        a push (any path but the two below): 200 "OK", recorded
//   GET /received       every push so far, as JSON [{ at, path, query }]
//   GET /health         200
'use strict';
const http = require('node:http');

const port = Number(process.env.SINK_PORT || 8000);
const received = [];

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://sink');
  if (url.pathname === '/health') return void res.end('ok');
  if (url.pathname === '/received') {
    res.setHeader('content-type', 'application/json');
    return void res.end(JSON.stringify(received));
  }
  received.push({ at: new Date().toISOString(), path: url.pathname, query: Object.fromEntries(url.searchParams) });
  res.setHeader('content-type', 'text/plain');
  res.end('OK');
});
server.listen(port, () => console.log(`partner sink on :${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
