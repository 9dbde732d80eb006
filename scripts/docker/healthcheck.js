#!/usr/bin/env node
// The images' HEALTHCHECK: GET /health on the app's own HTTP port, on loopback; healthy on 200.
// The app is named by SMSGW_APP (set by the Dockerfile from ARG APP); its port by the same
// variable the app itself reads, with the app's default. HEALTH_PORT overrides both.
// Exit 0 = healthy, 1 = unhealthy (Docker's convention).
'use strict';

/** App -> [port variable, default]. The simulator's health is on its HTTP control API. */
const PORTS = {
  'ingress-api': ['INGRESS_PORT', 8080],
  portal: ['PORTAL_PORT', 8081],
  'smsc-connector': ['CONNECTOR_HTTP_PORT', 8090],
  'callback-worker': ['CALLBACK_HTTP_PORT', 8091],
  scheduler: ['SCHEDULER_HTTP_PORT', 8092],
  'smpp-server': ['SMPP_SERVER_HTTP_PORT', 8093],
  'smsc-simulator': ['SIM_HTTP_PORT', 8025],
};
const TIMEOUT_MS = 4000;

const app = process.env.SMSGW_APP ?? '';
if (app === 'admin') process.exit(0); // a command line tool, no server to ask
const known = PORTS[app];
const port = Number(process.env.HEALTH_PORT || (known && (process.env[known[0]] || known[1])));
if (!port) {
  console.error(`healthcheck: no HTTP port known for app "${app}"; set HEALTH_PORT`);
  process.exit(1);
}

fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  .then(async (res) => {
    const body = (await res.text()).slice(0, 500);
    console.log(`${res.status} ${body}`);
    process.exit(res.status === 200 ? 0 : 1);
  })
  .catch((err) => {
    console.log(`no answer on port ${port}: ${err.cause?.code ?? err.message}`);
    process.exit(1);
  });
