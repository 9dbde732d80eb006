// The long-running apps and the variable that sets each one's HTTP port (/health, /metrics), as
// scripts/docker/healthcheck.js knows them: for the tests of the deployment files.
module.exports = {
  APP_HTTP_PORTS: {
    'ingress-api': 'INGRESS_PORT',
    portal: 'PORTAL_PORT',
    'smpp-server': 'SMPP_SERVER_HTTP_PORT',
    'smsc-connector': 'CONNECTOR_HTTP_PORT',
    'callback-worker': 'CALLBACK_HTTP_PORT',
    scheduler: 'SCHEDULER_HTTP_PORT',
    'smsc-simulator': 'SIM_HTTP_PORT',
  },
};
