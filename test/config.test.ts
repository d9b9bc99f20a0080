import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_CONFIG,
  loadConfig,
  publicConfig,
  resolveConfig,
  typeNumberMap,
  unknownVariables,
  VARIABLES,
} from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

describe('configuration', () => {
  test('an empty environment gives the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.numWorkers, 4);
    assert.equal(c.cbThreshold, 5);
    assert.equal(c.cbTimeoutSecs, 30);
    assert.equal(c.kanbanBuffer, 1000);
    assert.equal(c.andonHistory, 100);
    assert.equal(c.heijunkaPool, 4);
    assert.equal(c.httpPort, 8080);
    assert.equal(c.metricsPort, 9090);
    assert.equal(c.natsUrl, 'nats://localhost:4222');
    assert.equal(c.rabbitmqUrl, 'amqp://guest:guest@localhost:5672/');
    assert.equal(c.appName, 'tps-reference-system');
    assert.equal(c.appEnvironment, 'production');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.kanbanBackend, 'memory');
    assert.deepEqual(c, DEFAULT_CONFIG);
  });

  test('reads every variable it documents', () => {
    const c = loadConfig({
      TPS_NUM_WORKERS: '7',
      TPS_KANBAN_BACKEND: 'MEMORY',
      AUTH_ENABLED: 'false',
      LOG_LEVEL: 'debug',
    });
    assert.equal(c.numWorkers, 7);
    assert.equal(c.kanbanBackend, 'memory');
    assert.equal(c.authEnabled, false);
    assert.equal(c.logLevel, 'debug');
  });

  test('empty and blank values take the default', () => {
    assert.equal(loadConfig({ TPS_NUM_WORKERS: '' }).numWorkers, 4);
    assert.equal(loadConfig({ TPS_NUM_WORKERS: '  ' }).numWorkers, 4);
  });

  const bad: [string, string, RegExp][] = [
    ['TPS_NUM_WORKERS', 'abc', /TPS_NUM_WORKERS: expected an integer from 1 to 256, got "abc"/],
    ['TPS_NUM_WORKERS', '-1', /TPS_NUM_WORKERS: expected an integer from 1/],
    ['TPS_NUM_WORKERS', '2.5', /TPS_NUM_WORKERS/],
    ['TPS_CB_THRESHOLD', '0', /TPS_CB_THRESHOLD/],
    ['TPS_CB_TIMEOUT', '1e3', /TPS_CB_TIMEOUT/],
    ['TPS_KANBAN_BUFFER', '99999999999', /TPS_KANBAN_BUFFER/],
    [
      'TPS_KANBAN_BACKEND',
      'kafka',
      /TPS_KANBAN_BACKEND: expected one of: memory, nats, rabbitmq, failover, got "kafka"/,
    ],
    ['HTTP_PORT', '70000', /HTTP_PORT: expected an integer port from 1 to 65535/],
    ['NATS_URL', 'http://x', /NATS_URL: expected a nats:\/\/ or tls:\/\/ URL/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: expected one of: fatal, error/],
    ['AUTH_ENABLED', 'maybe', /AUTH_ENABLED: expected true or false/],
    ['JAEGER_ENDPOINT', 'not a url', /JAEGER_ENDPOINT/],
    ['TPS_HEIJUNKA_WEIGHTS', 'validate=0', /TPS_HEIJUNKA_WEIGHTS: expected a list type=weight/],
    ['TPS_HEIJUNKA_WEIGHTS', 'validate', /TPS_HEIJUNKA_WEIGHTS/],
    ['TPS_HEIJUNKA_WEIGHTS', 'a=1=2', /TPS_HEIJUNKA_WEIGHTS/],
    ['TPS_HEIJUNKA_CAPS', ' bad type=3', /TPS_HEIJUNKA_CAPS/],
    ['TPS_KANBAN_HIGH_WATER', '0', /TPS_KANBAN_HIGH_WATER/],
    ['TPS_ANDON_ERROR_RED_PCT', '101', /TPS_ANDON_ERROR_RED_PCT/],
    ['TPS_ANDON_WEBHOOK_URL', 'ftp://x', /TPS_ANDON_WEBHOOK_URL/],
  ];
  for (const [name, value, message] of bad) {
    test(`${name}=${value} stops start-up naming the variable`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: unknown) =>
          error instanceof ConfigError && error.variable === name && message.test(error.message),
      );
    });
  }

  test('a secret is never echoed in the error', () => {
    assert.throws(
      () => loadConfig({ RABBITMQ_URL: 'ftp://user:hunter2@host' }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes('hunter2'),
    );
  });

  test('related values are checked together', () => {
    assert.throws(
      () => loadConfig({ TPS_RETRY_BASE_MS: '5000', TPS_RETRY_MAX_MS: '1000' }),
      /TPS_RETRY_BASE_MS/,
    );
    assert.throws(() => loadConfig({ TPS_DEFAULT_TIMEOUT_MS: '500000' }), /TPS_DEFAULT_TIMEOUT_MS/);
    assert.throws(() => loadConfig({ AUTH_ENABLED: 'true' }), /AUTH_TOKEN: expected a token of at least 16/);
    assert.throws(() => loadConfig({ SSL_ENABLED: 'true' }), /SSL_CERT_PATH/);
    assert.throws(
      () => loadConfig({ SSL_ENABLED: 'true', SSL_CERT_PATH: '/nonexistent/cert.pem', SSL_KEY_PATH: '/x' }),
      /SSL_CERT_PATH: cannot read/,
    );
    assert.throws(() => loadConfig({ HTTP_PORT: '9090' }), /METRICS_PORT: must differ from HTTP_PORT/);
    assert.throws(
      () => loadConfig({ TPS_ANDON_ERROR_YELLOW_PCT: '10', TPS_ANDON_ERROR_RED_PCT: '5' }),
      /TPS_ANDON_ERROR_RED_PCT: must be at least TPS_ANDON_ERROR_YELLOW_PCT/,
    );
    assert.throws(() => loadConfig({ TPS_ANDON_P99_RED_MS: '100' }), /TPS_ANDON_P99_RED_MS/);
  });

  test('type lists are read as type=number pairs', () => {
    const c = loadConfig({
      TPS_HEIJUNKA_WEIGHTS: ' validate = 3 , report=1',
      TPS_HEIJUNKA_CAPS: 'execute=8',
    });
    assert.equal(c.heijunkaWeights, 'validate=3,report=1');
    assert.deepEqual(typeNumberMap(c.heijunkaWeights), { validate: 3, report: 1 });
    assert.deepEqual(typeNumberMap(c.heijunkaCaps), { execute: 8 });
    assert.deepEqual(typeNumberMap(loadConfig({}).heijunkaWeights), {});
  });

  test('library overrides are validated like the environment', () => {
    assert.equal(resolveConfig({ numWorkers: 2 }).numWorkers, 2);
    assert.throws(() => resolveConfig({ numWorkers: 0 }), /TPS_NUM_WORKERS/);
    assert.throws(() => resolveConfig({ bogus: 1 } as never), /bogus: is not a configuration option/);
  });

  test('the public view has snake_case names without TPS_, and no secrets', () => {
    const c = loadConfig({ AUTH_ENABLED: 'true', AUTH_TOKEN: 'a-very-secret-token-123' });
    const shown = publicConfig(c);
    assert.equal(shown.num_workers, 4);
    assert.equal(shown.http_port, 8080);
    assert.equal(shown.metrics_port, 9090);
    assert.equal(shown.rabbitmq_url, 'amqp://guest:***@localhost:5672/');
    assert.ok(!JSON.stringify(shown).includes('a-very-secret-token-123'));
  });

  test('every variable has a unique name and key, and its default parses', () => {
    assert.equal(new Set(VARIABLES.map((v) => v.env)).size, VARIABLES.length);
    assert.equal(new Set(VARIABLES.map((v) => v.key)).size, VARIABLES.length);
    for (const v of VARIABLES) {
      if (v.default === '') continue;
      assert.deepEqual(v.parse(String(v.default)), v.default, v.env);
    }
  });
});

test('unknown TPS_ variables are found, each with the closest known name; the tools’ own are not', () => {
  const found = unknownVariables({
    TPS_NUM_WORKER: '2',
    TPS_CB_TRESHOLD: '3',
    TPS_NUM_WORKERS: '2',
    TPS_URL: 'http://x',
    TPS_TOKEN: 't',
    TPS_TEST_CHROMIUM: '/usr/bin/chromium',
    TPS_BENCH_NATS_URL: 'nats://x',
    HTTP_PROXY: 'http://proxy',
  });
  assert.deepEqual(found, [
    { name: 'TPS_CB_TRESHOLD', closest: 'TPS_CB_THRESHOLD' },
    { name: 'TPS_NUM_WORKER', closest: 'TPS_NUM_WORKERS' },
  ]);
});

test('TPS_NUM_WORKERS alone sets the workers; the pool floor follows it down, and may not pass it', () => {
  assert.deepEqual(
    [loadConfig({ TPS_NUM_WORKERS: '1' }).numWorkers, loadConfig({ TPS_NUM_WORKERS: '1' }).heijunkaPool],
    [1, 1],
  );
  assert.equal(loadConfig({ TPS_NUM_WORKERS: '8' }).heijunkaPool, 4);
  assert.equal(loadConfig({ TPS_NUM_WORKERS: '8', TPS_HEIJUNKA_POOL: '2' }).heijunkaPool, 2);
  assert.throws(
    () => loadConfig({ TPS_NUM_WORKERS: '2', TPS_HEIJUNKA_POOL: '3' }),
    /TPS_HEIJUNKA_POOL: must not exceed TPS_NUM_WORKERS \(2\)/,
  );
});
