// The Prometheus and Grafana files (deploy/prometheus, deploy/grafana): promtool checks the alert
// rules and runs their unit tests (alerts.test.yml) and the scrape configuration; every PromQL
// expression of the rules and of the dashboard parses (the dashboard's, with Grafana's variables
// put in, as recording rules of a temporary file for `promtool check rules`) and names only
// metrics that the platform's code registers (or Node's default metrics, or Prometheus's `up`);
// every alert has a test that fires it and one that does not; the dashboard takes its data source
// from a variable; Compose's Prometheus scrapes every app on its port (`docker-compose config`
// renders the profile when docker-compose is installed). Needs promtool (Debian package `prometheus`; .ci/run installs it): without it
// this file fails, saying so.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const { parser } = require('@prometheus-io/lezer-promql');
const { Registry, collectDefaultMetrics } = require('prom-client');
const { APP_HTTP_PORTS } = require('./app-ports');

jest.setTimeout(60_000);

const root = path.resolve(__dirname, '..', '..');
const PROMETHEUS = path.join(root, 'deploy', 'prometheus');
const DASHBOARD = path.join(root, 'deploy', 'grafana', 'smsgw-overview.json');

function promtool(...args) {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`promtool: ${r.error.message} (apt-get install prometheus)`);
  return { ok: r.status === 0, output: `promtool ${args.join(' ')}\n${r.stdout}${r.stderr}` };
}

/** Passes when promtool succeeds; fails with promtool's own output otherwise. */
function expectPromtool(...args) {
  const r = promtool(...args);
  if (!r.ok) throw new Error(r.output);
}

/** Metric names the code registers: literal names given to prom-client, in every app and package. */
function registeredMetricNames() {
  const names = new Set();
  const histograms = new Set();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) {
        const src = fs.readFileSync(p, 'utf8');
        // registeredCounter('name', …), registeredGauge('name', …), and the apps' gauge helpers (dueGauge, queueGauge)
        for (const m of src.matchAll(/\b(?:registered(?:Counter|Gauge)|[a-z]+Gauge)\(\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) names.add(m[1]);
        for (const m of src.matchAll(/new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name: '([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) {
          names.add(m[2]);
          if (m[1] === 'Histogram') histograms.add(m[2]);
        }
      }
    }
  };
  for (const top of ['apps', 'packages']) {
    for (const pkg of fs.readdirSync(path.join(root, top))) {
      const src = path.join(root, top, pkg, 'src');
      if (fs.existsSync(src)) walk(src);
    }
  }
  for (const h of histograms) for (const suffix of ['_bucket', '_sum', '_count']) names.add(h + suffix);
  return { names, histograms };
}

/** prom-client's default Node and process metrics, as every service serves them. */
async function defaultMetricNames() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const names = new Set();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (m.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m.name + suffix);
  }
  return names;
}

/** The metric names a PromQL expression selects; throws when the expression does not parse. */
function selectedMetrics(expr) {
  const names = [];
  let error = null;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(expr.slice(node.from, node.to));
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'QuotedLabelMatcher') {
        const m = /^__name__\s*=\s*"([^"]+)"$/.exec(expr.slice(node.from, node.to));
        if (m) names.push(m[1]);
      }
    },
  });
  if (error !== null) throw new Error(`PromQL does not parse at ${error}: ${expr}`);
  return names;
}

/** Grafana's variables replaced by values Prometheus takes, so that the expression can be checked. */
const withGrafanaVariables = (expr) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h');

function alertRules() {
  return YAML.parse(fs.readFileSync(path.join(PROMETHEUS, 'alerts.yml'), 'utf8')).groups.flatMap((g) => g.rules);
}

function dashboardTargets() {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  return { dashboard, panels, targets: panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, ...t }))) };
}

describe('Prometheus alert rules and Grafana dashboard', () => {
  it('alert rules pass promtool check rules', () => {
    expectPromtool('check', 'rules', path.join(PROMETHEUS, 'alerts.yml'));
  });

  it('alert rules pass their unit tests (promtool test rules)', () => {
    expectPromtool('test', 'rules', path.join(PROMETHEUS, 'alerts.test.yml'));
  });

  it('the scrape configuration is valid and loads the rules', () => {
    expectPromtool('check', 'config', path.join(PROMETHEUS, 'prometheus.yml'));
  });

  it('every alert has a test where it fires and one where it does not', () => {
    const tests = YAML.parse(fs.readFileSync(path.join(PROMETHEUS, 'alerts.test.yml'), 'utf8')).tests.flatMap((t) => t.alert_rule_test);
    for (const rule of alertRules()) {
      const cases = tests.filter((c) => c.alertname === rule.alert);
      expect({ alert: rule.alert, fires: cases.some((c) => c.exp_alerts.length > 0), stays: cases.some((c) => c.exp_alerts.length === 0) }).toEqual({
        alert: rule.alert,
        fires: true,
        stays: true,
      });
    }
  });

  it('every dashboard expression parses (promtool check rules on a temporary rules file)', () => {
    const { targets } = dashboardTargets();
    expect(targets.length).toBeGreaterThan(20);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-dashboard-'));
    try {
      const file = path.join(dir, 'dashboard-rules.yml');
      const rules = targets.map((t, i) => ({ record: `dashboard:panel_${i}`, expr: withGrafanaVariables(t.expr) }));
      fs.writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules }] }));
      expectPromtool('check', 'rules', file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rules and dashboard name only metrics the services export', async () => {
    const { names: registered } = registeredMetricNames();
    // A sample of what the scan must find, so that a scan that finds nothing cannot pass.
    for (const known of ['smsgw_queue_jobs', 'smsgw_dependency_up', 'smsgw_ingress_request_duration_seconds_bucket', 'smsgw_smsc_bound', 'smsgw_smpp_server_sessions']) {
      expect(registered).toContain(known);
    }
    const known = new Set([...registered, ...(await defaultMetricNames()), 'up']);
    const used = [
      ...alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
      ...dashboardTargets().targets.map((t) => ({ where: `panel "${t.panel}"`, expr: withGrafanaVariables(t.expr) })),
    ];
    const unknown = used.flatMap((u) => selectedMetrics(u.expr).filter((n) => !known.has(n)).map((n) => `${u.where}: ${n}`));
    expect(unknown).toEqual([]);
    // And each expression selects something.
    expect(used.filter((u) => selectedMetrics(u.expr).length === 0).map((u) => u.where)).toEqual([]);
  });

  it('Prometheus in docker-compose.yml scrapes every service on the port it listens on, and mounts what it loads', () => {
    const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
    const scrape = YAML.parse(fs.readFileSync(path.join(PROMETHEUS, 'prometheus.yml'), 'utf8')).scrape_configs;
    const jobs = Object.fromEntries(scrape.map((j) => [j.job_name, j.dns_sd_configs.map((d) => `${d.names.join(',')}:${d.port}`)]));
    // Each long-running app: the variable its HTTP port (/health, /metrics) is set with.
    const listens = Object.entries(APP_HTTP_PORTS).map(([app, variable]) => [`smsgw-${app}`, [`${app}:${compose.services[app].environment[variable]}`]]);
    expect(jobs).toEqual(Object.fromEntries(listens));
    const prometheus = compose.services.prometheus;
    expect(prometheus.profiles).toEqual(['observability']);
    for (const file of ['prometheus.yml', 'alerts.yml']) expect(prometheus.volumes).toContain(`./deploy/prometheus/${file}:/etc/prometheus/${file}:ro`);
    for (const volume of [...prometheus.volumes, ...compose.services.grafana.volumes]) {
      const source = volume.split(':')[0];
      if (source.startsWith('./')) expect(fs.existsSync(path.join(root, source))).toBe(true);
    }
    const dockerCompose = spawnSync('docker-compose', ['--profile', 'observability', 'config', '-q'], { cwd: root, encoding: 'utf8' });
    if (dockerCompose.error) console.log('docker-compose not installed: the Compose file is checked as YAML only');
    else expect(`${dockerCompose.stdout}${dockerCompose.stderr}`).toBe('');
  });

  it('the dashboard takes its Prometheus from a variable, in every panel and query', () => {
    const { dashboard, panels } = dashboardTargets();
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const ds = { type: 'prometheus', uid: '${datasource}' };
    for (const p of panels) {
      expect({ panel: p.title, ds: p.datasource }).toEqual({ panel: p.title, ds });
      for (const t of p.targets) expect({ panel: p.title, ds: t.datasource }).toEqual({ panel: p.title, ds });
    }
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  });
});
