import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_CONFIG, loadConfig, VARIABLES } from '../../src/config.ts';
import { eventually, freePorts, postSignal, ROOT, startService } from '../process.ts';

/**
 * The operations stack (Dockerfile, docker-compose.yml, deploy/, the .env profiles), checked without
 * a Docker engine: Debian's promtool on the Prometheus files, the service's own validation on the
 * profiles, and a running service (plus a real Prometheus) for every metric the rules and dashboards
 * read.
 */

type Obj = Record<string, unknown>;

const PRINCIPLES = ['jidoka', 'kanban', 'andon', 'kaizen', 'heijunka', 'tracing'] as const;
const NAMED_ALERTS = [
  'JidokaCircuitOpenCritical',
  'JidokaHighFailureRate',
  'KanbanQueueDepthCritical',
  'KanbanDLQDepthHigh',
  'KanbanNoAvailableWorkers',
  'AndonHighErrorRate',
  'KaizenSLOMiss',
  'HeijunkaPoolBottleneck',
  'HeijunkaUnbalancedLoad',
  'TracingHighP99Latency',
];
const RULES = 'deploy/prometheus/rules/tps.rules.yml';
const RULES_TEST = 'deploy/prometheus/tests/tps.rules.test.yml';
const PROMETHEUS_CONFIG = 'deploy/prometheus/prometheus.yml';
const DASHBOARDS = 'deploy/grafana/dashboards';
const DATASOURCES = 'deploy/grafana/provisioning/datasources/datasources.yml';
const DASHBOARD_PROVIDERS = 'deploy/grafana/provisioning/dashboards/dashboards.yml';
/** Metric names as PromQL uses them: the service's families and prom-client's process metrics. */
const METRIC_NAME = /\b(?:tps|process|nodejs)_[a-z0-9_]+\b/g;

// --- small readers -----------------------------------------------------------------------------

function obj(value: unknown, what: string): Obj {
  assert.ok(
    typeof value === 'object' && value !== null && !Array.isArray(value),
    `${what}: expected a mapping`,
  );
  return value as Obj;
}

function list(value: unknown, what: string): unknown[] {
  assert.ok(Array.isArray(value), `${what}: expected a list`);
  return value;
}

function text(value: unknown, what: string): string {
  assert.equal(typeof value, 'string', `${what}: expected a string`);
  return value as string;
}

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const readYaml = (file: string): unknown => parse(read(file));
const exists = (file: string) => existsSync(join(ROOT, file));

interface Run {
  readonly code: number;
  readonly output: string;
}

/** Runs a command in the repository; a missing command is exit code 127. */
function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error === null) return done({ code: 0, output: stdout + stderr });
      const code = (error as NodeJS.ErrnoException).code;
      done({
        code: typeof code === 'number' ? code : code === 'ENOENT' ? 127 : 1,
        output: `${stdout}${stderr}${error.message}`,
      });
    });
  });
}

async function promtool(args: string[]): Promise<void> {
  const { code, output } = await run('promtool', args);
  assert.notEqual(
    code,
    127,
    'promtool is not installed: install the Debian package prometheus (.ci/run does)',
  );
  assert.equal(code, 0, `promtool ${args.join(' ')}:\n${output}`);
}

/** The metric names a PromQL expression reads. */
function metricNames(expr: string): string[] {
  return [...new Set(expr.match(METRIC_NAME) ?? [])];
}

/** `KEY=value` lines of an env file (comments and blank lines skipped). */
function parseEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  read(file)
    .split('\n')
    .forEach((line, i) => {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(trimmed);
      assert.ok(m, `${file}:${i + 1}: not a KEY=value line: ${line}`);
      const [, key, value] = m as unknown as [string, string, string];
      // Tools differ on inline comments and quotes: the profiles use neither.
      assert.ok(!/\s#/.test(value) && !/^["']/.test(value), `${file}:${i + 1}: no quotes or inline comments`);
      assert.ok(!(key in env), `${file}:${i + 1}: ${key} set twice`);
      env[key] = value;
    });
  return env;
}

// --- docker-compose.yml ------------------------------------------------------------------------

/** Compose interpolation with the defaults: `${VAR:-default}` / `${VAR-default}` → default. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{[A-Z_][A-Z0-9_]*(?::?-([^}]*))?\}/g, (_, fallback: string | undefined) => fallback ?? '')
    .replace(/\$\$/g, '$');
}

interface Port {
  readonly host: number;
  readonly container: number;
}

function ports(service: Obj, name: string): Port[] {
  return list(service.ports ?? [], `${name}.ports`).map((p) => {
    if (typeof p === 'object' && p !== null) {
      const long = p as Obj;
      return { host: Number(long.published), container: Number(long.target) };
    }
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    assert.ok(parts.length >= 2, `${name}: publish ports as host:container, got ${String(p)}`);
    return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
  });
}

interface Mount {
  readonly source: string;
  readonly target: string;
  readonly bind: boolean;
}

function mounts(service: Obj, name: string): Mount[] {
  return list(service.volumes ?? [], `${name}.volumes`).map((v) => {
    if (typeof v === 'object' && v !== null) {
      const long = v as Obj;
      return { source: String(long.source), target: String(long.target), bind: long.type === 'bind' };
    }
    const [source = '', target = ''] = interpolate(String(v)).split(':');
    return { source, target, bind: source.startsWith('.') || source.startsWith('/') };
  });
}

function environment(service: Obj, name: string): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const [key = '', ...rest] = String(entry).split('=');
        return [key, interpolate(rest.join('='))];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(obj(env, `${name}.environment`)).map(([k, v]) => [k, interpolate(String(v))]),
  );
}

function envFiles(service: Obj): string[] {
  const value = service.env_file;
  if (value === undefined) return [];
  const entries = Array.isArray(value) ? value : [value];
  return entries.map((e) => interpolate(typeof e === 'string' ? e : String(obj(e, 'env_file').path)));
}

/** A path inside a container, as the repository file a bind mount puts there (or undefined). */
function hostPath(service: Obj, name: string, containerPath: string): string | undefined {
  for (const m of mounts(service, name)) {
    if (!m.bind || !m.source.startsWith('.')) continue;
    if (containerPath === m.target || containerPath.startsWith(`${m.target}/`)) {
      return posix.normalize(posix.join(m.source, containerPath.slice(m.target.length)));
    }
  }
  return undefined;
}

function compose(): { services: Record<string, Obj>; volumes: Obj } {
  const doc = obj(readYaml('docker-compose.yml'), 'docker-compose.yml');
  const services = obj(doc.services, 'services');
  return {
    services: Object.fromEntries(Object.entries(services).map(([k, v]) => [k, obj(v, `services.${k}`)])),
    volumes: obj(doc.volumes ?? {}, 'volumes'),
  };
}

/** The `tps` service's effective environment: its env_file, then `environment` over it. */
function tpsEnvironment(tps: Obj, profile?: string): Record<string, string> {
  const files = profile === undefined ? envFiles(tps) : [profile];
  return Object.assign({}, ...files.map(parseEnvFile), environment(tps, 'tps'));
}

// --- Prometheus text format ----------------------------------------------------------------------

/** The sample names of an exposition (histograms: their _bucket, _sum and _count series). */
function sampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (m) names.add(m[1] as string);
  }
  return names;
}

// --- Grafana -------------------------------------------------------------------------------------

interface Query {
  readonly dashboard: string;
  readonly panel: string;
  readonly datasource: string;
  readonly expr: string;
}

function dashboardFiles(): string[] {
  return readdirSync(join(ROOT, DASHBOARDS))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function panelsOf(panels: unknown[]): Obj[] {
  return panels.flatMap((p) => {
    const panel = obj(p, 'panel');
    return [panel, ...(Array.isArray(panel.panels) ? panelsOf(panel.panels) : [])];
  });
}

/** Every query of every panel, with the uid of its data source. */
function dashboardQueries(file: string): Query[] {
  const d = obj(JSON.parse(read(`${DASHBOARDS}/${file}`)), file);
  const out: Query[] = [];
  for (const panel of panelsOf(list(d.panels, `${file}.panels`))) {
    if (panel.type === 'row') continue;
    const title = text(panel.title, `${file}: panel title`);
    const panelUid = panel.datasource === undefined ? undefined : obj(panel.datasource, title).uid;
    const targets = list(panel.targets, `${file}: "${title}" targets`);
    assert.ok(targets.length > 0, `${file}: "${title}" has no query`);
    for (const t of targets) {
      const target = obj(t, `${file}: "${title}" target`);
      const uid = String(target.datasource === undefined ? panelUid : obj(target.datasource, title).uid);
      const expr = typeof target.expr === 'string' ? target.expr : '';
      out.push({ dashboard: file, panel: title, datasource: uid, expr });
    }
  }
  return out;
}

/** Grafana's variables, as a real Prometheus can run the expression. */
function substituteGrafana(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__range', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$instance', '.*');
}

// --- a real Prometheus -------------------------------------------------------------------------

async function startPrometheus(t: TestContext, target: string): Promise<string> {
  const [port] = (await freePorts(1)) as [number];
  const dir = mkdtempSync(join(tmpdir(), 'tps-ops-prometheus-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tps\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  let child: ChildProcess;
  try {
    child = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
  } catch (error) {
    assert.fail(`cannot start prometheus (Debian package prometheus): ${String(error)}`);
  }
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const closed = new Promise<void>((done) => child.once('close', () => done()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null && spawnError === undefined) {
      child.kill('SIGTERM');
      await closed;
    }
  });
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (spawnError) throw new Error(`prometheus (Debian package prometheus): ${spawnError.message}`);
      return (await fetch(`${base}/-/ready`).catch(() => undefined))?.status === 200;
    },
    () => 'Prometheus to be ready',
    20_000,
    100,
  );
  return base;
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { result?: unknown[] };
}

async function instantQuery(base: string, expr: string): Promise<QueryAnswer> {
  const res = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }),
  });
  return (await res.json()) as QueryAnswer;
}

// --- the tests -----------------------------------------------------------------------------------

describe('operations stack: Prometheus and Alertmanager', () => {
  test('prometheus.yml passes promtool check config and scrapes the compose service', async () => {
    await promtool(['check', 'config', PROMETHEUS_CONFIG]);
    const config = obj(readYaml(PROMETHEUS_CONFIG), PROMETHEUS_CONFIG);

    // rule_files are relative to the config file: they must name the rules file from the repository
    // (and, mounted at /etc/prometheus, from the container).
    const ruleFiles = list(config.rule_files, 'rule_files').map((f) => text(f, 'rule_files[]'));
    const configDir = dirname(PROMETHEUS_CONFIG);
    const matched = ruleFiles.flatMap((pattern) => {
      const dir = posix.join(configDir, posix.dirname(pattern));
      const re = new RegExp(`^${posix.basename(pattern).replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
      return exists(dir) ? readdirSync(join(ROOT, dir)).filter((f) => re.test(f)) : [];
    });
    assert.deepEqual(
      matched,
      [posix.basename(RULES)],
      `rule_files ${ruleFiles.join(', ')} from ${configDir}`,
    );

    const { services } = compose();
    const scrape = list(config.scrape_configs, 'scrape_configs').map((s) => obj(s, 'scrape_config'));
    const tpsJob = scrape.find((s) => s.job_name === 'tps');
    assert.ok(tpsJob, 'a scrape job named tps');
    const targets = list(tpsJob.static_configs, 'tps.static_configs').flatMap((s) =>
      list(obj(s, 'static_config').targets, 'targets'),
    );
    assert.deepEqual(targets, [`tps:${DEFAULT_CONFIG.metricsPort}`], 'the service at its METRICS_PORT');
    assert.equal(tpsJob.metrics_path ?? '/metrics', '/metrics');
    assert.ok(services.tps, 'compose has the tps service Prometheus scrapes');

    // Every scrape target and the alertmanager are compose services.
    const alertTargets = list(obj(config.alerting, 'alerting').alertmanagers, 'alertmanagers').flatMap((a) =>
      list(obj(a, 'alertmanager').static_configs, 'static_configs').flatMap((s) =>
        list(obj(s, 'static_config').targets, 'targets'),
      ),
    );
    assert.deepEqual(alertTargets, ['alertmanager:9093']);
    for (const job of scrape) {
      for (const s of list(job.static_configs, `${String(job.job_name)}.static_configs`)) {
        for (const target of list(obj(s, 'static_config').targets, 'targets')) {
          const host = String(target).split(':')[0] as string;
          assert.ok(
            host === 'localhost' || host in services,
            `scrape target ${String(target)} of ${String(job.job_name)} is not a compose service`,
          );
        }
      }
    }
  });

  test('the alert rules pass promtool check rules: one group per principle, each named alert in its group', async () => {
    await promtool(['check', 'rules', RULES]);
    const doc = obj(readYaml(RULES), RULES);
    const groups = list(doc.groups, 'groups').map((g) => obj(g, 'group'));
    const names = groups.map((g) => String(g.name));
    for (const p of PRINCIPLES) assert.ok(names.includes(p), `a rule group for ${p}`);

    const alertGroup = new Map<string, string>();
    for (const group of groups) {
      for (const r of list(group.rules, `${String(group.name)}.rules`)) {
        const rule = obj(r, 'rule');
        const alert = text(rule.alert, `${String(group.name)}: alert name`);
        assert.ok(!alertGroup.has(alert), `${alert} defined twice`);
        alertGroup.set(alert, String(group.name));
        const labels = obj(rule.labels, `${alert}.labels`);
        assert.ok(['critical', 'warning'].includes(String(labels.severity)), `${alert}: severity`);
        assert.equal(labels.principle, group.name, `${alert}: principle label names its group`);
        const annotations = obj(rule.annotations, `${alert}.annotations`);
        assert.ok(String(annotations.summary ?? '').length > 0, `${alert}: summary`);
        assert.ok(String(annotations.description ?? '').length > 0, `${alert}: description`);
      }
    }
    for (const alert of NAMED_ALERTS) {
      const principle = PRINCIPLES.find((p) => alert.toLowerCase().startsWith(p));
      assert.equal(alertGroup.get(alert), principle, `${alert} in the ${principle} group`);
    }
  });

  test('the alert rules pass their unit tests (promtool test rules)', async () => {
    // The unit tests must exercise the alerts, firing and not firing, not only load the rules.
    const doc = obj(readYaml(RULES_TEST), RULES_TEST);
    const cases = list(doc.tests, 'tests').flatMap((c) =>
      list(obj(c, 'test').alert_rule_test ?? [], 'alert_rule_test').map((a) => obj(a, 'alert_rule_test')),
    );
    const firing = (alert: string) =>
      cases.some((c) => c.alertname === alert && list(c.exp_alerts ?? [], 'exp_alerts').length > 0);
    const quiet = (alert: string) =>
      cases.some((c) => c.alertname === alert && list(c.exp_alerts ?? [], 'exp_alerts').length === 0);
    for (const alert of NAMED_ALERTS) {
      assert.ok(firing(alert), `${RULES_TEST} shows ${alert} firing`);
      assert.ok(quiet(alert), `${RULES_TEST} shows ${alert} quiet`);
    }
    await promtool(['test', 'rules', RULES_TEST]);
  });

  test('alertmanager.yml routes every alert to a receiver it defines', () => {
    const file = 'deploy/alertmanager/alertmanager.yml';
    const config = obj(readYaml(file), file);
    const receivers = new Set(
      list(config.receivers, 'receivers').map((r) => String(obj(r, 'receiver').name)),
    );
    const walk = (route: Obj, path: string): void => {
      if (route.receiver !== undefined) {
        assert.ok(receivers.has(String(route.receiver)), `${path}: receiver ${String(route.receiver)}`);
      }
      for (const [i, child] of list(route.routes ?? [], `${path}.routes`).entries()) {
        walk(obj(child, 'route'), `${path}.routes[${i}]`);
      }
    };
    const root = obj(config.route, 'route');
    assert.ok(root.receiver !== undefined, 'the root route has a receiver');
    walk(root, 'route');
  });
});

describe('operations stack: compose, image and profiles', () => {
  test('docker-compose.yml: services, published ports, mounts, env files and healthchecks', () => {
    const { services, volumes } = compose();
    for (const name of [
      'tps',
      'nats',
      'rabbitmq',
      'prometheus',
      'alertmanager',
      'grafana',
      'jaeger',
      'loki',
      'promtail',
    ]) {
      assert.ok(services[name], `service ${name}`);
    }
    const published = (name: string) => ports(services[name] as Obj, name);
    const publishes = (name: string, host: number, container: number) =>
      assert.ok(
        published(name).some((p) => p.host === host && p.container === container),
        `${name} publishes ${host}:${container}; it has ${JSON.stringify(published(name))}`,
      );

    // The service: the container listens where its configuration says, published on the defaults.
    const tps = services.tps as Obj;
    assert.ok(
      tps.build === '.' || obj(tps.build, 'tps.build').context === '.',
      'tps is built from the Dockerfile',
    );
    const files = envFiles(tps);
    assert.ok(files.length > 0, 'tps loads a profile (env_file)');
    for (const f of files) assert.ok(exists(f), `env_file ${f} exists`);
    const env = tpsEnvironment(tps);
    assert.equal(env.TPS_KANBAN_BACKEND, 'failover');
    assert.equal(env.NATS_URL, 'nats://nats:4222');
    assert.equal(env.RABBITMQ_URL, 'amqp://guest:guest@rabbitmq:5672/');
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
    const config = loadConfig(env);
    publishes('tps', DEFAULT_CONFIG.httpPort, config.httpPort);
    publishes('tps', DEFAULT_CONFIG.metricsPort, config.metricsPort);
    const dependsOn = obj(tps.depends_on, 'tps.depends_on');
    for (const broker of ['nats', 'rabbitmq']) {
      assert.equal(obj(dependsOn[broker], `depends_on.${broker}`).condition, 'service_healthy', broker);
      assert.ok(services[broker]?.healthcheck, `${broker} has the healthcheck tps waits for`);
    }
    const tpsHealth = JSON.stringify(obj(tps.healthcheck, 'tps.healthcheck').test);
    assert.ok(tpsHealth.includes(`:${config.httpPort}/health`), `tps healthcheck asks /health: ${tpsHealth}`);
    // The broker URLs point at compose services on their published container ports.
    assert.ok(
      new URL(config.natsUrl).hostname in services && new URL(config.rabbitmqUrl).hostname in services,
    );

    publishes('nats', 4222, 4222);
    publishes('nats', 8222, 8222);
    assert.ok(JSON.stringify(services.nats?.command).includes('-js'), 'NATS with JetStream');
    assert.ok(JSON.stringify(services.nats?.healthcheck).includes('8222/healthz'), 'NATS healthcheck');
    publishes('rabbitmq', 5672, 5672);
    publishes('rabbitmq', 15672, 15672);
    assert.ok(JSON.stringify(services.rabbitmq?.healthcheck).includes('rabbitmq-diagnostics'));
    publishes('grafana', 3000, 3000);
    publishes('jaeger', 16686, 16686);
    publishes('jaeger', 4318, 4318);
    publishes('alertmanager', 9093, 9093);
    publishes('loki', 3100, 3100);
    publishes('prometheus', 9091, 9090);

    // No two services publish the same host port.
    const hostPorts = Object.entries(services).flatMap(([name, s]) => ports(s, name).map((p) => p.host));
    assert.equal(new Set(hostPorts).size, hostPorts.length, `host ports collide: ${hostPorts.join(', ')}`);

    // Every bind mount comes from the repository (the Docker socket excepted), every named volume is
    // declared, and every --config.file a service is given is a file some mount puts there.
    for (const [name, service] of Object.entries(services)) {
      for (const m of mounts(service, name)) {
        if (!m.bind) {
          assert.ok(m.source in volumes, `${name}: volume ${m.source} is declared`);
        } else if (m.source.startsWith('/')) {
          assert.equal(
            m.source,
            '/var/run/docker.sock',
            `${name}: host path ${m.source} outside the repository`,
          );
        } else {
          assert.ok(exists(m.source), `${name}: ${m.source} exists in the repository`);
        }
      }
      const args = Array.isArray(service.command) ? service.command.map(String) : [];
      for (const arg of args) {
        const m = /^--?config\.file=(.+)$/.exec(arg);
        if (!m) continue;
        const file = hostPath(service, name, m[1] as string);
        assert.ok(file && exists(file) && statSync(join(ROOT, file)).isFile(), `${name}: ${arg} is mounted`);
      }
    }
    for (const v of ['nats-data', 'rabbitmq-data', 'prometheus-data', 'grafana-data', 'loki-data']) {
      assert.ok(v in volumes, `named volume ${v}`);
    }
    assert.equal(
      hostPath(services.prometheus as Obj, 'prometheus', '/etc/prometheus/prometheus.yml'),
      PROMETHEUS_CONFIG,
    );
    assert.equal(hostPath(services.prometheus as Obj, 'prometheus', '/etc/prometheus/rules'), dirname(RULES));

    // Grafana's provisioning and dashboards are where its provider looks for them.
    const grafana = services.grafana as Obj;
    assert.equal(
      hostPath(grafana, 'grafana', '/etc/grafana/provisioning/datasources/datasources.yml'),
      DATASOURCES,
    );
    const providers = list(obj(readYaml(DASHBOARD_PROVIDERS), DASHBOARD_PROVIDERS).providers, 'providers');
    for (const p of providers) {
      const path = text(obj(obj(p, 'provider').options, 'options').path, 'provider path');
      assert.equal(hostPath(grafana, 'grafana', path), DASHBOARDS, `dashboard provider path ${path}`);
    }
    const home = environment(grafana, 'grafana').GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    if (home !== undefined) {
      const file = hostPath(grafana, 'grafana', home);
      assert.ok(file && exists(file), `home dashboard ${home}`);
    }

    // Promtail pushes to the loki service.
    const promtail = obj(readYaml('deploy/promtail/promtail.yml'), 'promtail.yml');
    for (const c of list(promtail.clients, 'clients')) {
      const url = new URL(text(obj(c, 'client').url, 'client url'));
      assert.equal(url.hostname, 'loki');
      assert.ok(
        published('loki').some((p) => p.container === Number(url.port)),
        `loki listens on ${url.port}`,
      );
    }
  });

  test('the Dockerfile builds what the service runs, as npm start runs it', () => {
    const dockerfile = read('Dockerfile');
    const lines = dockerfile
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const args = Object.fromEntries(
      lines
        .map((l) => /^ARG (\w+)=(\S+)$/.exec(l))
        .filter((m) => m !== null)
        .map((m) => [m[1], m[2]]),
    );
    const froms = lines
      .filter((l) => l.startsWith('FROM '))
      .map((l) => l.replace(/\$\{(\w+)\}/g, (_, k: string) => String(args[k])));
    assert.equal(froms.length, 2, 'a build stage and a runtime stage');
    for (const from of froms) assert.match(from, /^FROM node:24-[a-z]+-slim /, from);
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const [build = '', runtime = ''] = stages;
    assert.match(build, /RUN npm ci\b/);
    assert.match(build, /RUN npm run build\b/);
    assert.match(runtime, /npm ci --omit=dev\b/);
    assert.match(runtime, /COPY --from=build \/app\/dist \.\/dist/);
    // The malloc-trim addon (native/), built in the build stage where there is a compiler.
    assert.match(build, /node native\/build\.mjs --require/);
    assert.match(runtime, /COPY --from=build \/app\/build \.\/build/);
    const user = /^USER (\S+)/m.exec(runtime);
    assert.ok(user && !['root', '0'].includes(user[1] as string), 'runs as a non-root user');
    const exposed = (/^EXPOSE (.+)$/m.exec(runtime)?.[1] ?? '').split(/\s+/).map(Number);
    assert.deepEqual(exposed, [DEFAULT_CONFIG.httpPort, DEFAULT_CONFIG.metricsPort]);
    assert.match(runtime, /HEALTHCHECK[\s\S]*fetch\([\s\S]*\/health/);
    assert.doesNotMatch(lines.join('\n'), /\bcurl\b|\bwget\b/, 'slim images have neither curl nor wget');

    // CMD is package.json's start script, and its entry point is what the build emits.
    const cmd = /^CMD (\[.*\])$/m.exec(runtime);
    assert.ok(cmd, 'CMD in exec form');
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
    assert.equal((JSON.parse(cmd[1] as string) as string[]).join(' '), start);
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as {
      include: string[];
      compilerOptions: { outDir: string; rootDir: string };
    };
    const entry = (JSON.parse(cmd[1] as string) as string[]).at(-1) as string;
    const source = posix.join(
      tsconfig.compilerOptions.rootDir,
      posix.relative(tsconfig.compilerOptions.outDir, entry).replace(/\.js$/, '.ts'),
    );
    assert.ok(exists(source), `${entry} is compiled from ${source}`);

    // The build stage copies every input of tsconfig.build.json, and .dockerignore keeps none out.
    const copied = [...build.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
      const parts = (m[1] as string).split(/\s+/);
      return parts.slice(0, -1);
    });
    for (const src of copied) assert.ok(exists(src), `COPY ${src}: exists`);
    const inputs = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      ...tsconfig.include,
    ];
    for (const input of inputs) {
      assert.ok(
        copied.some((c) => input === c || input.startsWith(`${c.replace(/\/$/, '')}/`)),
        `the build stage copies ${input}`,
      );
    }
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((p) => new RegExp(`^${p.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}(/.*)?$`));
    for (const input of [...inputs, ...copied]) {
      assert.ok(!ignored.some((re) => re.test(input)), `.dockerignore keeps ${input} out of the build`);
    }
    for (const secret of ['.env', '.env.prod', '.git', 'node_modules']) {
      assert.ok(
        ignored.some((re) => re.test(secret)),
        `.dockerignore keeps ${secret} out of the context`,
      );
    }
  });

  test('every .env profile loads with the service’s own validation', async () => {
    const profiles = readdirSync(ROOT)
      .filter((f) => /^\.env\.[a-z]+$/.test(f) && f !== '.env.example')
      .sort();
    for (const p of ['.env.dev', '.env.staging', '.env.prod']) {
      assert.ok(profiles.includes(p), `profile ${p}`);
    }
    const known = new Set(VARIABLES.map((v) => v.env));
    const { services } = compose();
    // The production profile ships no token: the deployment supplies it (see below).
    const supplied = (profile: string) =>
      profile === '.env.prod' ? { AUTH_TOKEN: 'a-token-the-deployment-supplies' } : {};
    for (const profile of profiles) {
      const env = parseEnvFile(profile);
      for (const key of Object.keys(env)) assert.ok(known.has(key), `${profile}: ${key} is not a variable`);
      try {
        loadConfig({ ...env, ...supplied(profile) });
      } catch (error) {
        assert.fail(`${profile} does not load: ${(error as Error).message}`);
      }
      // As the compose stack runs it too, on the ports it publishes.
      const stacked = loadConfig({ ...tpsEnvironment(services.tps as Obj, profile), ...supplied(profile) });
      assert.equal(stacked.httpPort, DEFAULT_CONFIG.httpPort, profile);
      assert.equal(stacked.metricsPort, DEFAULT_CONFIG.metricsPort, profile);
      // Committed, not ignored like .env (git check-ignore exits 1 for a path it does not ignore).
      const { code } = await run('git', ['check-ignore', '-q', profile]);
      assert.equal(code, 1, `${profile} is not ignored by git`);
    }
    // Production requires the bearer token and ships none: without one it refuses to start.
    assert.throws(() => loadConfig(parseEnvFile('.env.prod')), /AUTH_TOKEN/);
    const prod = loadConfig({ ...parseEnvFile('.env.prod'), ...supplied('.env.prod') });
    assert.equal(prod.authEnabled, true, 'production requires the bearer token');
    assert.match(read('.env.prod'), /^#.*SET AUTH_TOKEN/m, 'a comment says to set it');
    assert.equal(prod.faultInjection, false, 'no fault injection in production');
    assert.equal(loadConfig(parseEnvFile('.env.staging')).faultInjection, false);
  });
});

describe('operations stack: Grafana and the metrics it reads', () => {
  test('datasources and dashboards are provisioned, one dashboard per principle plus an overview', () => {
    const { services } = compose();
    const datasources = list(obj(readYaml(DATASOURCES), DATASOURCES).datasources, 'datasources').map((d) =>
      obj(d, 'datasource'),
    );
    const byType = new Map(datasources.map((d) => [String(d.type), d]));
    const expected: [string, string, number][] = [
      ['prometheus', 'prometheus', 9090],
      ['loki', 'loki', 3100],
      ['jaeger', 'jaeger', 16686],
    ];
    for (const [type, service, port] of expected) {
      const d = byType.get(type);
      assert.ok(d, `a ${type} data source`);
      const url = new URL(text(d.url, `${type} url`));
      assert.equal(url.hostname, service, `${type} points at the ${service} service`);
      assert.equal(Number(url.port), port);
      assert.ok(service in services);
    }
    const uids = new Set(datasources.map((d) => String(d.uid)));

    const files = dashboardFiles();
    for (const name of ['overview', ...PRINCIPLES]) assert.ok(files.includes(`${name}.json`), `${name}.json`);
    const seen = new Set<string>();
    for (const file of files) {
      const d = obj(JSON.parse(read(`${DASHBOARDS}/${file}`)), file);
      const uid = text(d.uid, `${file}: uid`);
      assert.ok(!seen.has(uid), `${file}: uid ${uid} is unique`);
      seen.add(uid);
      text(d.title, `${file}: title`);
      const queries = dashboardQueries(file);
      for (const q of queries)
        assert.ok(uids.has(q.datasource), `${file}: "${q.panel}" data source ${q.datasource}`);
      const promQueries = queries.filter((q) => q.datasource === 'prometheus');
      assert.ok(promQueries.length > 0, `${file} charts some metric`);
      for (const q of promQueries) assert.ok(q.expr.trim() !== '', `${file}: "${q.panel}" has an expression`);
      for (const q of queries.filter((x) => x.datasource === 'loki')) {
        assert.match(q.expr, /^\{job="tps"/, `${file}: "${q.panel}" reads the service's logs`);
      }
    }
  });

  test('every metric the rules and dashboards read is exported, and every panel query has data', async (t) => {
    // Every name a rule or a panel reads, with where it is read.
    const used = new Map<string, string[]>();
    const use = (expr: string, where: string) => {
      for (const name of metricNames(expr)) used.set(name, [...(used.get(name) ?? []), where]);
    };
    const rules = obj(readYaml(RULES), RULES);
    for (const g of list(rules.groups, 'groups')) {
      for (const r of list(obj(g, 'group').rules, 'rules')) {
        const rule = obj(r, 'rule');
        use(text(rule.expr, 'expr'), `${RULES}: ${String(rule.alert)}`);
      }
    }
    const panelQueries = dashboardFiles()
      .flatMap(dashboardQueries)
      .filter((q) => q.datasource === 'prometheus');
    for (const q of panelQueries) use(q.expr, `${q.dashboard}: "${q.panel}"`);
    for (const file of dashboardFiles()) {
      const d = obj(JSON.parse(read(`${DASHBOARDS}/${file}`)), file);
      for (const v of list(obj(d.templating ?? { list: [] }, 'templating').list, 'templating.list')) {
        const variable = obj(v, 'variable');
        const query =
          typeof variable.query === 'string' ? variable.query : obj(variable.query ?? {}, 'q').query;
        if (typeof query === 'string') use(query, `${file}: variable ${String(variable.name)}`);
      }
    }
    assert.ok(used.size > 20, `found ${used.size} metric names`);

    // A running service (embedded queue), with every signal type processed and a circuit opened
    // (threshold 1, one attempt), so that histograms, dead letters and Andon changes all have series.
    const service = await startService(t, {
      env: {
        LOG_LEVEL: 'warn',
        TPS_KANBAN_BACKEND: 'memory',
        TPS_CB_THRESHOLD: '1',
        TPS_MAX_ATTEMPTS: '1',
      },
    });
    for (const type of ['validate', 'execute', 'report', 'validate', 'report']) {
      const answer = await postSignal(service, type, { data: [1, 2, 3] }, { prefer: 'wait=5' });
      assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
    }
    await postSignal(service, 'chaos', { failure_rate: 1 }, { prefer: 'wait=5' });
    const scrape = async () => (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
    let exposition = '';
    await eventually(
      async () => {
        exposition = await scrape();
        return /^tps_andon_alerts_total\{/m.test(exposition) && /^tps_kanban_dlq_depth 1$/m.test(exposition);
      },
      () => `an Andon change and a dead letter in the exposition:\n${exposition.slice(0, 3000)}`,
      10_000,
    );
    const exported = sampleNames(exposition);
    const missing = [...used]
      .filter(([name]) => !exported.has(name))
      .map(([name, where]) => `${name} (${where[0]})`);
    assert.deepEqual(missing, [], 'metrics read by rules or dashboards but not exported');

    // A real Prometheus scraping that service runs every panel query: each must parse and return data.
    const base = await startPrometheus(t, `127.0.0.1:${service.metricsPort}`);
    const failures: string[] = [];
    const broken = () => failures.filter((f) => !f.includes(': no data: '));
    await eventually(
      async () => {
        failures.length = 0;
        for (const q of panelQueries) {
          const expr = substituteGrafana(q.expr);
          const answer = await instantQuery(base, expr);
          const where = `${q.dashboard} "${q.panel}"`;
          if (answer.status !== 'success') failures.push(`${where}: ${answer.error}: ${expr}`);
          else if ((answer.data?.result ?? []).length === 0) failures.push(`${where}: no data: ${expr}`);
        }
        // An invalid query never heals: stop waiting at the first one.
        return failures.length === 0 || broken().length > 0;
      },
      () => failures.join('\n'),
      20_000,
      500,
    );
    assert.deepEqual(broken(), [], 'every panel query is valid PromQL (Grafana variables substituted)');
    assert.deepEqual(failures, [], 'every panel query returns data from a real Prometheus');
  });
});
