// The Kubernetes manifests (deploy/k8s): every overlay rendered with `kubectl kustomize`, each
// object validated against the Kubernetes API schemas (kubernetes-models, offline; CloudNativePG's
// Cluster with @kubernetes-models/cloudnative-pg) and checked for unknown fields
// (k8s-validate.mjs), then the rules deploy/k8s/README.md states: probes that mean something,
// requests and limits, non-root and read-only containers, a PodDisruptionBudget per workload,
// autoscalers whose targets exist, NetworkPolicies around every pod, placeholders only among
// production's secrets, grace periods longer than the apps' drains. And the init containers'
// wait-for-database.js against the real PostgreSQL. Needs kubectl (with its built-in kustomize);
// without it the manifest checks are skipped, saying so.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

jest.setTimeout(120_000);

const root = path.resolve(__dirname, '..', '..');
const K8S = path.join(root, 'deploy', 'k8s');
const OVERLAYS = ['dev', 'production'];

/** The long-running apps: their HTTP port variable. */
const { APP_HTTP_PORTS: APPS } = require('./app-ports');
/** Pods that may open connections to PostgreSQL and Redis (admin: deploy/k8s/admin.sh's). */
const DATABASE_CLIENTS = ['ingress-api', 'portal', 'smpp-server', 'smsc-connector', 'callback-worker', 'scheduler', 'migrate', 'admin'];
/** The only ports anyone may reach (the issue: the ingress, the portal, partners' SMPP). */
const PUBLIC = ['ingress-api:8080', 'portal:8081', 'smpp-server:2776'];
/** Namespaces other than its own a policy may admit: Prometheus, and CloudNativePG's operator. */
const MONITORING = 'monitoring';
const CNPG_OPERATOR = 'cnpg-system';

/**
 * Seconds each app may take to stop after SIGTERM, from its settings (operator guide, section
 * 15), before the pod is killed; the grace period must cover the preStop pause plus this.
 */
const DRAIN_SECONDS = {
  // running jobs, then outstanding submit responses and unbind, then the journal: each at most
  // CONNECTOR_SHUTDOWN_TIMEOUT_MS
  'smsc-connector': (env) => (3 * msSetting(env, 'CONNECTOR_SHUTDOWN_TIMEOUT_MS', 10_000)) / 1000,
  // the requests in flight, at most CALLBACK_TIMEOUT_MS, then their records
  'callback-worker': (env) => msSetting(env, 'CALLBACK_TIMEOUT_MS', 10_000) / 1000 + 5,
  // the submit_sm in flight, then unbind: each at most SMPP_UNBIND_TIMEOUT_MS
  'smpp-server': (env) => (2 * msSetting(env, 'SMPP_UNBIND_TIMEOUT_MS', 2000)) / 1000 + 5,
  // no limit of their own: a request in progress, a commit, a batch transaction
  'ingress-api': () => 10,
  portal: () => 10,
  scheduler: () => 10,
  'smsc-simulator': () => 2,
};

function msSetting(env, name, fallback) {
  const v = env[name];
  return v === undefined || v === '' ? fallback : Number(v);
}

const kubectl = spawnSync('kubectl', ['kustomize', '--help'], { encoding: 'utf8' });
const haveKubectl = kubectl.status === 0;
if (!haveKubectl) {
  console.warn('k8s.e2e-spec: kubectl is not installed (or has no `kustomize`): the Kubernetes manifests in deploy/k8s are NOT checked');
}

function render(overlay) {
  const r = spawnSync('kubectl', ['kustomize', path.join(K8S, 'overlays', overlay)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kubectl kustomize overlays/${overlay} failed: ${r.stderr || r.error}`);
  const docs = YAML.parseAllDocuments(r.stdout);
  for (const d of docs) if (d.errors.length) throw new Error(`overlays/${overlay}: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS()).filter(Boolean);
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];
const podTemplate = (w) => (w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template : w.spec.template);
const appName = (w) => podTemplate(w).metadata?.labels?.['app.kubernetes.io/name'];
const id = (o) => `${o.kind}/${o.metadata.name}`;

function selects(selector, labels = {}) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
const isEmptySelector = (s) => !s || (Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0);

/** CPU in millicores, memory in bytes. */
function quantity(q) {
  const m = /^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(String(q));
  if (!m) throw new Error(`not a quantity: ${q}`);
  const factor = { m: 1e-3, k: 1e3, Ki: 1024, M: 1e6, Mi: 1024 ** 2, G: 1e9, Gi: 1024 ** 3, T: 1e12, Ti: 1024 ** 4 }[m[2]] ?? 1;
  return Number(m[1]) * factor;
}

/** The variables a container sees that are plain values: its ConfigMaps' (envFrom), then its own env. */
function plainEnv(container, objects) {
  const env = {};
  for (const from of container.envFrom ?? []) {
    if (!from.configMapRef) continue;
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef.name);
    Object.assign(env, cm?.data ?? {});
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function preStopSeconds(container) {
  const cmd = container.lifecycle?.preStop?.exec?.command;
  if (cmd?.[0] === 'sleep') return Number(cmd[1]);
  if (container.lifecycle?.preStop?.sleep) return Number(container.lifecycle.preStop.sleep.seconds);
  return 0;
}

/** The peers a NetworkPolicy ingress rule set admits to `labels` on `port`: 'anyone', or `from` peers. */
function admitted(policies, labels, port) {
  const peers = [];
  for (const p of policies) {
    if (!selects(p.spec.podSelector, labels) && !isEmptySelector(p.spec.podSelector)) continue;
    for (const rule of p.spec.ingress ?? []) {
      if (rule.ports && !rule.ports.some((rp) => rp.port === undefined || rp.port === port)) continue;
      if (!rule.from || rule.from.length === 0) peers.push('anyone');
      else peers.push(...rule.from);
    }
  }
  return peers;
}
const peerNamespace = (peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];
const peerApps = (peer) => {
  const s = peer.podSelector;
  if (!s) return null;
  const name = s.matchLabels?.['app.kubernetes.io/name'];
  if (name) return [name];
  const e = (s.matchExpressions ?? []).find((x) => x.key === 'app.kubernetes.io/name' && x.operator === 'In');
  return e ? e.values : null;
};

const describeIfKubectl = haveKubectl ? describe : describe.skip;

describeIfKubectl.each(OVERLAYS)(haveKubectl ? 'deploy/k8s/overlays/%s' : 'deploy/k8s/overlays/%s (skipped: no kubectl with kustomize on PATH)', (overlay) => {
  let objects;
  let workloads;
  let policies;
  beforeAll(() => {
    objects = render(overlay);
    workloads = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
    policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  });
  const ofKind = (kind) => objects.filter((o) => o.kind === kind);
  const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  /** Every container of every pod template, init containers included. */
  const allContainers = () =>
    workloads.flatMap((w) => {
      const spec = podTemplate(w).spec;
      return [...(spec.initContainers ?? []).map((c) => ({ w, c, init: true })), ...spec.containers.map((c) => ({ w, c, init: false }))];
    });
  const appContainers = () => allContainers().filter(({ w, c, init }) => !init && w.kind !== 'Job' && APPS[appName(w)] && c.name === appName(w));

  test('renders, and every object is valid against the Kubernetes schemas, without unknown fields', () => {
    expect(objects.length).toBeGreaterThan(20);
    const r = spawnSync(process.execPath, [path.join(__dirname, 'k8s-validate.mjs')], { input: JSON.stringify(objects), encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`k8s-validate.mjs failed: ${r.stderr}`);
    expect(JSON.parse(r.stdout).errors).toEqual([]);
  });

  test('every app runs, with liveness on /health/live and readiness on /health/ready of a declared port', () => {
    const expected = ['ingress-api', 'portal', 'smpp-server', 'smsc-connector', 'callback-worker', 'scheduler', ...(overlay === 'dev' ? ['smsc-simulator'] : [])];
    expect(appContainers().map(({ w }) => appName(w)).sort()).toEqual(expected.sort());
    for (const { w, c } of appContainers()) {
      const where = `${id(w)} ${c.name}`;
      const ports = c.ports ?? [];
      const declared = (port) => ports.some((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
      for (const [probe, pathWanted] of [
        ['livenessProbe', '/health/live'],
        ['readinessProbe', '/health/ready'],
      ]) {
        const get = c[probe]?.httpGet;
        expect({ where, probe, path: get?.path, declared: get ? declared(get.port) : false }).toEqual({ where, probe, path: pathWanted, declared: true });
      }
      // The app listens where the probes ask: its port variable is the probed container port.
      const httpPort = ports.find((p) => p.name === c.readinessProbe.httpGet.port || p.containerPort === c.readinessProbe.httpGet.port);
      expect({ where, port: plainEnv(c, objects)[APPS[appName(w)]] }).toEqual({ where, port: String(httpPort.containerPort) });
    }
  });

  test('every other long-running container has liveness and readiness probes too', () => {
    const others = allContainers().filter(({ w, init }) => !init && w.kind !== 'Job' && !appContainers().some((a) => a.w === w));
    for (const { w, c } of others) {
      expect({ where: `${id(w)} ${c.name}`, liveness: !!c.livenessProbe, readiness: !!c.readinessProbe }).toEqual({ where: `${id(w)} ${c.name}`, liveness: true, readiness: true });
    }
  });

  test('every container has CPU and memory requests and limits, limits not below requests', () => {
    for (const { w, c } of allContainers()) {
      const where = `${id(w)} ${c.name}`;
      for (const r of ['cpu', 'memory']) {
        const request = c.resources?.requests?.[r];
        const limit = c.resources?.limits?.[r];
        expect({ where, r, request: request !== undefined, limit: limit !== undefined }).toEqual({ where, r, request: true, limit: true });
        expect({ where, r, ok: quantity(limit) >= quantity(request) }).toEqual({ where, r, ok: true });
      }
    }
  });

  test('every container runs as a non-root user id, without privilege escalation or capabilities, read-only, with seccomp', () => {
    for (const { w, c } of allContainers()) {
      const pod = podTemplate(w).spec.securityContext ?? {};
      const sc = c.securityContext ?? {};
      const where = `${id(w)} ${c.name}`;
      expect({
        where,
        runAsNonRoot: sc.runAsNonRoot ?? pod.runAsNonRoot,
        // a numeric user: the images name theirs (`node`), which runAsNonRoot cannot verify
        numericUser: (sc.runAsUser ?? pod.runAsUser) > 0,
        allowPrivilegeEscalation: sc.allowPrivilegeEscalation,
        dropsAll: (sc.capabilities?.drop ?? []).includes('ALL'),
        adds: sc.capabilities?.add ?? [],
        privileged: sc.privileged ?? false,
        readOnlyRootFilesystem: sc.readOnlyRootFilesystem,
        seccomp: (sc.seccompProfile ?? pod.seccompProfile)?.type,
      }).toEqual({
        where,
        runAsNonRoot: true,
        numericUser: true,
        allowPrivilegeEscalation: false,
        dropsAll: true,
        adds: [],
        privileged: false,
        readOnlyRootFilesystem: true,
        seccomp: 'RuntimeDefault',
      });
    }
    for (const w of workloads) {
      // the platform's own pods talk to nobody's API server
      if (!APPS[appName(w)] && appName(w) !== 'migrate') continue;
      expect({ w: id(w), token: podTemplate(w).spec.automountServiceAccountToken }).toEqual({ w: id(w), token: false });
    }
  });

  test('the namespace enforces the restricted Pod Security Standard', () => {
    const [ns] = ofKind('Namespace');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of objects) if (o.kind !== 'Namespace') expect({ o: id(o), ns: o.metadata.namespace }).toEqual({ o: id(o), ns: ns.metadata.name });
  });

  test("the apps' writable paths are volumes: /tmp, and the journals (the connector's on a claim per replica)", () => {
    for (const { w, c } of appContainers()) {
      const mounts = c.volumeMounts ?? [];
      expect({ where: id(w), tmp: mounts.some((m) => m.mountPath === '/tmp') }).toEqual({ where: id(w), tmp: true });
    }
    const connector = find('StatefulSet', 'smsc-connector');
    const cc = connector.spec.template.spec.containers.find((c) => c.name === 'smsc-connector');
    const journal = plainEnv(cc, objects).CONNECTOR_JOURNAL_DIR;
    const mount = cc.volumeMounts.find((m) => m.mountPath === journal);
    expect(mount).toBeDefined();
    // From the claim template, not a pod volume: each replica keeps its own journal across restarts.
    expect(connector.spec.volumeClaimTemplates.map((t) => t.metadata.name)).toContain(mount.name);
    expect((connector.spec.template.spec.volumes ?? []).map((v) => v.name)).not.toContain(mount.name);
    expect(connector.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });

    const worker = find('Deployment', 'callback-worker');
    const wc = worker.spec.template.spec.containers.find((c) => c.name === 'callback-worker');
    const wjournal = plainEnv(wc, objects).CALLBACK_JOURNAL_DIR;
    const wmount = wc.volumeMounts.find((m) => m.mountPath === wjournal);
    expect(worker.spec.template.spec.volumes.find((v) => v.name === wmount?.name)?.emptyDir).toBeDefined();
  });

  test('every Deployment and StatefulSet has a PodDisruptionBudget that lets a node drain', () => {
    const pdbs = ofKind('PodDisruptionBudget');
    for (const w of workloads.filter((x) => ['Deployment', 'StatefulSet'].includes(x.kind))) {
      const mine = pdbs.filter((p) => selects(p.spec.selector, w.spec.template.metadata.labels));
      expect({ w: id(w), pdbs: mine.length }).toEqual({ w: id(w), pdbs: 1 });
      const hpa = ofKind('HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === w.metadata.name);
      const replicas = hpa ? hpa.spec.minReplicas : (w.spec.replicas ?? 1);
      const { maxUnavailable, minAvailable } = mine[0].spec;
      const allowed = maxUnavailable !== undefined ? Number(maxUnavailable) >= 1 : Number(minAvailable) < replicas;
      expect({ w: id(w), evictionAllowed: allowed }).toEqual({ w: id(w), evictionAllowed: true });
    }
  });

  test("autoscalers scale on CPU and target workloads that exist and leave `replicas` to them", () => {
    const hpas = ofKind('HorizontalPodAutoscaler');
    for (const h of hpas) {
      const target = find(h.spec.scaleTargetRef.kind, h.spec.scaleTargetRef.name);
      expect({ h: id(h), target: !!target }).toEqual({ h: id(h), target: true });
      expect({ h: id(h), replicas: target.spec.replicas }).toEqual({ h: id(h), replicas: undefined });
      expect(h.spec.metrics.some((m) => m.type === 'Resource' && m.resource.name === 'cpu')).toBe(true);
      expect(h.spec.minReplicas).toBeLessThanOrEqual(h.spec.maxReplicas);
    }
    const scaled = hpas.map((h) => h.spec.scaleTargetRef.name).sort();
    // dev runs one replica of each, without autoscaling
    expect(scaled).toEqual(overlay === 'dev' ? [] : ['callback-worker', 'ingress-api', 'scheduler']);
  });

  test('NetworkPolicies deny by default and give every pod a policy of its own', () => {
    const deny = policies.filter((p) => isEmptySelector(p.spec.podSelector) && p.spec.policyTypes.includes('Ingress') && !(p.spec.ingress ?? []).length);
    expect(deny).toHaveLength(1);
    for (const w of workloads) {
      const labels = podTemplate(w).metadata.labels;
      const own = policies.filter((p) => !isEmptySelector(p.spec.podSelector) && selects(p.spec.podSelector, labels));
      expect({ w: id(w), own: own.length > 0 }).toEqual({ w: id(w), own: true });
    }
    // Pods an operator makes: CloudNativePG's instances carry cnpg.io/cluster=<name>.
    for (const cluster of ofKind('Cluster')) {
      const labels = { 'cnpg.io/cluster': cluster.metadata.name };
      expect(policies.some((p) => !isEmptySelector(p.spec.podSelector) && selects(p.spec.podSelector, labels))).toBe(true);
    }
  });

  test('only the ingress, the portal and SMPP 2776 are open to anyone; every other port to the pods that need it', () => {
    const open = [];
    for (const w of workloads) {
      const labels = podTemplate(w).metadata.labels;
      for (const c of podTemplate(w).spec.containers) {
        for (const p of c.ports ?? []) {
          const peers = admitted(policies, labels, p.containerPort);
          if (peers.includes('anyone')) open.push(`${appName(w)}:${p.containerPort}`);
          for (const peer of peers) {
            if (peer === 'anyone') continue;
            // Another namespace: Prometheus only (and CloudNativePG's operator, below).
            if (peer.namespaceSelector) {
              expect({ w: id(w), port: p.containerPort, ns: peerNamespace(peer) }).toEqual({ w: id(w), port: p.containerPort, ns: MONITORING });
              continue;
            }
            expect({ w: id(w), port: p.containerPort, peer: peerApps(peer) !== null }).toEqual({ w: id(w), port: p.containerPort, peer: true });
          }
        }
      }
    }
    expect(open.sort()).toEqual([...PUBLIC].sort());

    // The SMPP server's relay and /binds: callback workers and the portal.
    const smpp = find('StatefulSet', 'smpp-server').spec.template.metadata.labels;
    const relayPeers = admitted(policies, smpp, 8093).filter((p) => !p.namespaceSelector);
    expect([...new Set(relayPeers.flatMap(peerApps))].sort()).toEqual(['callback-worker', 'portal']);
    // The connector's HTTP port: the portal.
    const connector = find('StatefulSet', 'smsc-connector').spec.template.metadata.labels;
    expect(admitted(policies, connector, 8090).filter((p) => !p.namespaceSelector).flatMap(peerApps)).toEqual(['portal']);
    // The callback worker's and the scheduler's: nobody but Prometheus.
    for (const [name, port] of [
      ['callback-worker', 8091],
      ['scheduler', 8092],
    ]) {
      expect(admitted(policies, find('Deployment', name).spec.template.metadata.labels, port).filter((p) => !p.namespaceSelector)).toEqual([]);
    }
  });

  test('PostgreSQL and Redis admit the apps only', () => {
    const databases = [];
    if (overlay === 'dev') {
      databases.push(['postgres', find('StatefulSet', 'postgres').spec.template.metadata.labels, 5432]);
      databases.push(['redis', find('StatefulSet', 'redis').spec.template.metadata.labels, 6379]);
    }
    for (const cluster of ofKind('Cluster')) databases.push([id(cluster), { 'cnpg.io/cluster': cluster.metadata.name }, 5432]);
    expect(databases.length).toBeGreaterThan(0);
    for (const [what, labels, port] of databases) {
      for (const peer of admitted(policies, labels, port)) {
        expect({ what, anyone: peer === 'anyone' }).toEqual({ what, anyone: false });
        if (peer.namespaceSelector) {
          // CloudNativePG's operator manages the instances.
          expect({ what, ns: peerNamespace(peer) }).toEqual({ what, ns: CNPG_OPERATOR });
          continue;
        }
        if (peer.podSelector?.matchLabels?.['cnpg.io/cluster']) {
          expect(peer.podSelector.matchLabels['cnpg.io/cluster']).toBe(labels['cnpg.io/cluster']); // its own instances (replication)
          continue;
        }
        const apps = peerApps(peer);
        expect({ what, apps: apps && apps.every((a) => DATABASE_CLIENTS.includes(a)) }).toEqual({ what, apps: true });
      }
    }
  });

  test("grace periods cover the preStop pause and the apps' drain limits", () => {
    for (const { w, c } of appContainers()) {
      const grace = podTemplate(w).spec.terminationGracePeriodSeconds ?? 30;
      const needed = preStopSeconds(c) + DRAIN_SECONDS[appName(w)](plainEnv(c, objects));
      expect({ w: id(w), grace, enough: grace >= needed }).toEqual({ w: id(w), grace, enough: true });
    }
    // The connector's drain is three phases of CONNECTOR_SHUTDOWN_TIMEOUT_MS: 30 s by default.
    expect(find('StatefulSet', 'smsc-connector').spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(40);
  });

  test('the migration Job runs migrate-and-seed after PostgreSQL answers; every app waits for its migrations', () => {
    const job = find('Job', 'smsgw-migrate');
    const [main] = job.spec.template.spec.containers;
    expect(main.command).toEqual(['node', '/app/docker/migrate-and-seed.js']);
    expect(main.image).toMatch(/smsgw\/admin:/);
    expect(job.spec.template.spec.initContainers.map((c) => c.command.slice(1))).toEqual([['/opt/smsgw-k8s/wait-for-database.js', '--database']]);
    const env = plainEnv(main, objects);
    expect({ NODE_ENV: env.NODE_ENV, SEED_DEMO: env.SEED_DEMO }).toEqual(overlay === 'dev' ? { NODE_ENV: 'development', SEED_DEMO: 'true' } : { NODE_ENV: 'production', SEED_DEMO: 'false' });
    for (const w of workloads.filter((x) => x.kind !== 'Job')) {
      const spec = podTemplate(w).spec;
      const usesDatabase = spec.containers.some((c) => (c.env ?? []).some((e) => e.name === 'DATABASE_URL'));
      if (!usesDatabase) continue;
      const wait = (spec.initContainers ?? []).find((c) => c.name === 'wait-for-migrations');
      expect({ w: id(w), wait: wait?.command }).toEqual({ w: id(w), wait: ['node', '/opt/smsgw-k8s/wait-for-database.js', '--migrations'] });
      // Its own image: the migrations it waits for are the ones this version of the app carries.
      expect(wait.image).toBe(spec.containers[0].image);
    }
    const scripts = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['wait-for-database.js']);
    expect(scripts.data['wait-for-database.js']).toBe(fs.readFileSync(path.join(K8S, 'base', 'wait-for-database.js'), 'utf8'));
  });

  test('every ConfigMap, Secret, Service and claim a pod names exists (smsgw-db-app: made by CloudNativePG)', () => {
    const clusters = ofKind('Cluster').map((c) => `${c.metadata.name}-app`);
    const exists = (kind, name) => !!find(kind, name) || (kind === 'Secret' && clusters.includes(name));
    for (const w of workloads) {
      const spec = podTemplate(w).spec;
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) expect({ w: id(w), cm: from.configMapRef.name, ok: exists('ConfigMap', from.configMapRef.name) }).toEqual({ w: id(w), cm: from.configMapRef.name, ok: true });
          if (from.secretRef) expect({ w: id(w), secret: from.secretRef.name, ok: exists('Secret', from.secretRef.name) }).toEqual({ w: id(w), secret: from.secretRef.name, ok: true });
        }
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          const secret = find('Secret', ref.name);
          const ok = secret ? Object.keys({ ...secret.data, ...secret.stringData }).includes(ref.key) : exists('Secret', ref.name);
          expect({ w: id(w), secret: `${ref.name}/${ref.key}`, ok }).toEqual({ w: id(w), secret: `${ref.name}/${ref.key}`, ok: true });
        }
      }
      for (const v of spec.volumes ?? []) if (v.configMap) expect(exists('ConfigMap', v.configMap.name)).toBe(true);
      if (w.kind === 'StatefulSet') {
        const svc = find('Service', w.spec.serviceName);
        expect({ w: id(w), headless: svc?.spec.clusterIP }).toEqual({ w: id(w), headless: 'None' });
      }
    }
    // Each Service reaches pods, on ports they declare.
    for (const svc of ofKind('Service').filter((s) => s.spec.type !== 'ExternalName')) {
      const pods = workloads.filter((w) => selects({ matchLabels: svc.spec.selector }, podTemplate(w).metadata.labels));
      expect({ svc: id(svc), pods: pods.length > 0 }).toEqual({ svc: id(svc), pods: true });
      const ports = pods.flatMap((w) => podTemplate(w).spec.containers.flatMap((c) => c.ports ?? []));
      for (const p of svc.spec.ports) {
        const ok = ports.some((cp) => (typeof p.targetPort === 'string' ? cp.name === p.targetPort : cp.containerPort === (p.targetPort ?? p.port)));
        expect({ svc: id(svc), port: p.port, ok }).toEqual({ svc: id(svc), port: p.port, ok: true });
      }
    }
    for (const ing of ofKind('Ingress')) {
      for (const rule of ing.spec.rules) {
        for (const { backend } of rule.http.paths) {
          const svc = find('Service', backend.service.name);
          expect(svc?.spec.ports.some((p) => p.name === backend.service.port.name || p.port === backend.service.port.number)).toBe(true);
        }
      }
    }
  });

  test("the portal lists every connector and SMPP server pod; each SMPP server advertises its own pod's address", () => {
    const portal = find('Deployment', 'portal').spec.template.spec.containers.find((c) => c.name === 'portal');
    const env = plainEnv(portal, objects);
    const urls = (sts, port) => {
      const s = find('StatefulSet', sts);
      return Array.from({ length: s.spec.replicas ?? 1 }, (_, i) => `http://${sts}-${i}.${s.spec.serviceName}:${port}`).join(',');
    };
    expect(env.CONNECTOR_URLS).toBe(urls('smsc-connector', 8090));
    expect(env.SMPP_SERVER_URLS).toBe(urls('smpp-server', 8093));
    const smpp = find('StatefulSet', 'smpp-server').spec.template.spec.containers.find((c) => c.name === 'smpp-server');
    const names = smpp.env.map((e) => e.name);
    expect(smpp.env.find((e) => e.name === 'POD_IP').valueFrom.fieldRef.fieldPath).toBe('status.podIP');
    expect(smpp.env.find((e) => e.name === 'SMPP_SERVER_RELAY_URL').value).toBe('http://$(POD_IP):8093');
    // $(POD_IP) is expanded only from variables defined before it
    expect(names.indexOf('POD_IP')).toBeLessThan(names.indexOf('SMPP_SERVER_RELAY_URL'));
    for (const w of workloads) expect({ w: id(w), serviceLinks: podTemplate(w).spec.enableServiceLinks }).toEqual({ w: id(w), serviceLinks: false });
  });

  test("deploy/k8s/admin.sh runs the CLI in a pod with the Job's image and settings, which the namespace admits", async () => {
    const job = find('Job', 'smsgw-migrate');
    const namespace = job.metadata.namespace;
    // A kubectl of the test's first on PATH: `get job` answers from the rendered Job (through the
    // real kubectl's jsonpath, offline), `run` records its arguments.
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'smsgw-k8s-admin-'));
    try {
      const jobFile = path.join(dir, 'job.json');
      const record = path.join(dir, 'run.json');
      fs.writeFileSync(jobFile, JSON.stringify(job));
      const realKubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
      fs.writeFileSync(
        path.join(dir, 'kubectl'),
        `#!${process.execPath}
const { spawnSync } = require('node:child_process');
const args = process.argv.slice(2);
if (args[2] === 'get') {
  const r = spawnSync(${JSON.stringify(realKubectl)}, ['label', '--local', '-f', ${JSON.stringify(jobFile)}, 'k8s-test=1', ...args.slice(5)], { stdio: 'inherit' });
  process.exit(r.status);
}
require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(args));
`,
        { mode: 0o755 },
      );
      const r = spawnSync('sh', [path.join(K8S, 'admin.sh'), '-n', namespace, 'partner', 'show', 'it "quoted"'], {
        env: { ...process.env, PATH: `${dir}${path.delimiter}${process.env.PATH}` },
        encoding: 'utf8',
        input: '',
      });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      const args = JSON.parse(fs.readFileSync(record, 'utf8'));
      expect(args.slice(0, 3)).toEqual(['-n', namespace, 'run']);
      expect(args).toEqual(expect.arrayContaining(['--rm', '--stdin', '--restart=Never', '--override-type=strategic']));
      expect(args.slice(-7)).toEqual(['--command', '--', 'node', '/app/apps/admin/dist/main.js', 'partner', 'show', 'it "quoted"']);

      // The pod those arguments make: what the real kubectl generates and merges, client-side,
      // asked without attaching (a dry run), against a stand-in API server for its discovery.
      const api = require('node:http').createServer((req, res) => {
        const body = {
          '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
          '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
          '/api/v1': { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'get', 'delete'] }] },
        }[req.url.split('?')[0]];
        res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 }));
      });
      await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
      let pod;
      try {
        const dry = args.filter((a) => !['--rm', '--stdin', '--tty', '--quiet'].includes(a) && !a.startsWith('--pod-running-timeout'));
        const out = await new Promise((resolve, reject) => {
          const child = spawn(realKubectl, [`--server=http://127.0.0.1:${api.address().port}`, '--dry-run=client', '-o', 'json', ...dry], { env: { ...process.env, KUBECONFIG: '/dev/null' } });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stderr += d));
          child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`kubectl run --dry-run: ${stderr}`))));
        });
        pod = JSON.parse(out);
        // what a dry run prints besides the object: no part of what is sent
        delete pod.metadata.creationTimestamp;
        delete pod.status;
      } finally {
        api.close();
      }
      const [c] = pod.spec.containers;
      expect(c.image).toBe(job.spec.template.spec.containers[0].image);
      // as the Job's: a :latest image loaded into the cluster (dev) is not pulled
      expect(c.imagePullPolicy).toBe('IfNotPresent');
      expect(c.command).toEqual(['node', '/app/apps/admin/dist/main.js', 'partner', 'show', 'it "quoted"']);
      expect(c.envFrom).toEqual(job.spec.template.spec.containers[0].envFrom);
      expect(c.env).toEqual(job.spec.template.spec.containers[0].env.filter((e) => e.name === 'DATABASE_URL'));
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(c.resources.limits).toBeDefined();
      const v = spawnSync(process.execPath, [path.join(__dirname, 'k8s-validate.mjs')], { input: JSON.stringify([pod]), encoding: 'utf8' });
      expect(JSON.parse(v.stdout).errors).toEqual([]);
      // PostgreSQL (and in dev Redis) let it in.
      const databases = overlay === 'dev' ? [find('StatefulSet', 'postgres'), find('StatefulSet', 'redis')].map((w) => [w.spec.template.metadata.labels, w.spec.template.spec.containers[0].ports[0].containerPort]) : ofKind('Cluster').map((cl) => [{ 'cnpg.io/cluster': cl.metadata.name }, 5432]);
      for (const [labels, port] of databases) {
        expect({ port, admitted: admitted(policies, labels, port).some((peer) => peer !== 'anyone' && !peer.namespaceSelector && selects(peer.podSelector, pod.metadata.labels)) }).toEqual({ port, admitted: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  if (overlay === 'production') {
    test('production: placeholders only in Secrets, no demo data, images with a release tag', () => {
      const PLACEHOLDER = /change-?me|replace|placeholder|example/i;
      for (const secret of ofKind('Secret')) {
        const values = { ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])), ...secret.stringData };
        for (const [key, value] of Object.entries(values)) {
          let url = null;
          try {
            url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? new URL(value) : null;
          } catch {
            url = null;
          }
          // A URL may stand as it is when it holds no password; anything else must say it is a placeholder.
          const ok = url ? url.password === '' || PLACEHOLDER.test(decodeURIComponent(url.password)) : PLACEHOLDER.test(value);
          expect({ secret: `${secret.metadata.name}/${key}`, placeholder: ok }).toEqual({ secret: `${secret.metadata.name}/${key}`, placeholder: true });
        }
      }
      const config = ofKind('ConfigMap').find((c) => c.metadata.name.startsWith('smsgw-config'));
      expect(config.data).toMatchObject({ NODE_ENV: 'production', CALLBACK_ALLOW_PRIVATE_TARGETS: 'false' });
      expect(find('Deployment', 'smsc-simulator')).toBeUndefined();
      for (const { c } of allContainers()) expect({ image: c.image, tagged: /:[\w][\w.-]*$/.test(c.image) && !c.image.endsWith(':latest') }).toEqual({ image: c.image, tagged: true });
      // Partners' source addresses reach the SMPP server (allow-lists).
      expect(find('Service', 'smpp-server').spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
    });
  } else {
    test('dev: one replica of everything, PostgreSQL, Redis and the simulator in the namespace, the demo seed', () => {
      for (const w of workloads.filter((x) => x.kind !== 'Job')) expect({ w: id(w), replicas: w.spec.replicas ?? 1 }).toEqual({ w: id(w), replicas: 1 });
      expect(find('StatefulSet', 'postgres')).toBeDefined();
      expect(find('StatefulSet', 'redis')).toBeDefined();
      expect(find('Deployment', 'smsc-simulator')).toBeDefined();
      const job = find('Job', 'smsgw-migrate').spec.template.spec.containers[0];
      expect(plainEnv(job, objects)).toMatchObject({ SEED_DEMO: 'true', SIMULATOR_HOST: 'smsc-simulator' });
      const redis = find('StatefulSet', 'redis').spec.template.spec.containers[0].args.join(' ');
      expect(redis).toMatch(/--appendonly yes/);
      expect(redis).toMatch(/--maxmemory-policy noeviction/);
    });
  }
});

describe('deploy/k8s/base/wait-for-database.js against PostgreSQL', () => {
  const { adminQuery, runMigrate } = require(path.join(root, 'packages/db/dist/testing'));
  const { databaseUrl } = require(path.join(root, 'packages/db/dist/database-url'));
  const script = path.join(K8S, 'base', 'wait-for-database.js');
  const name = `smsgw_k8s_wait_${process.pid}`;
  const server = databaseUrl();
  const url = (() => {
    const u = new URL(server);
    u.pathname = `/${name}`;
    return u.toString();
  })();
  const children = [];

  /** Starts the script; resolves `exited` with its code and output. */
  function start(mode, databaseUrl = url) {
    const child = spawn(process.execPath, [script, mode], {
      env: { ...process.env, DATABASE_URL: databaseUrl, SMSGW_DB_PACKAGE: path.join(root, 'packages/db'), WAIT_INTERVAL_MS: '200' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
    return { child, exited, output: () => output };
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function until(predicate, ms = 10_000) {
    const end = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > end) throw new Error('timed out');
      await sleep(50);
    }
  }

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await adminQuery(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  test('waits while the database is missing, then until every migration is applied; never prints the URL', async () => {
    await adminQuery(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    const apps = start('--migrations');
    await until(() => apps.output().includes(`database ${name} does not exist yet`));

    await adminQuery(server, `CREATE DATABASE "${name}"`);
    await until(() => apps.output().includes(`database ${name} has no migrations applied yet`));
    const job = start('--database');
    expect((await job.exited).code).toBe(0);
    expect(apps.child.exitCode).toBeNull(); // still waiting

    await runMigrate(url);
    const { code, output } = await apps.exited;
    expect(code).toBe(0);
    expect(output).toMatch(/has this image's \d+ migrations/);
    const password = new URL(server).password;
    if (password) expect(output).not.toContain(password);
    expect(output).not.toContain(url);
  });

  test('ends at once on SIGTERM, and fails plainly where the image holds no migrations', async () => {
    const waiting = start('--migrations', url.replace(name, `${name}_missing`));
    await until(() => waiting.output().includes('does not exist yet'));
    const killed = Date.now();
    waiting.child.kill('SIGTERM');
    expect((await waiting.exited).code).toBe(143);
    expect(Date.now() - killed).toBeLessThan(2000);

    const child = spawn(process.execPath, [script, '--migrations'], {
      env: { ...process.env, DATABASE_URL: url, SMSGW_DB_PACKAGE: path.join(root, 'packages/common') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/cannot (load the pg module|read the image's migrations)/);
  });
});
