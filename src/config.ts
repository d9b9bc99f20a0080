import { accessSync, constants, existsSync } from 'node:fs';
import { closest } from 'fastest-levenshtein';
import { ConfigError } from './errors.ts';

export const KANBAN_BACKENDS = ['memory', 'nats', 'rabbitmq', 'failover'] as const;
export type KanbanBackend = (typeof KANBAN_BACKENDS)[number];

export const STATUS_BACKENDS = ['auto', 'memory', 'nats'] as const;
export type StatusBackend = (typeof STATUS_BACKENDS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The whole effective configuration. Built once, validated once, then read-only. */
export interface TpsConfig {
  readonly appName: string;
  readonly appEnvironment: string;
  readonly logLevel: LogLevel;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly metricsPort: number;
  readonly numWorkers: number;
  readonly workerCards: number;
  readonly heijunkaPool: number;
  readonly heijunkaPoolMax: number;
  readonly heijunkaScaleUpSecs: number;
  readonly heijunkaScaleDownSecs: number;
  readonly heijunkaWeights: string;
  readonly heijunkaCaps: string;
  readonly heijunkaAgingMs: number;
  readonly kanbanBackend: KanbanBackend;
  readonly kanbanBuffer: number;
  readonly statusBackend: StatusBackend;
  readonly brokerNamespace: string;
  readonly natsAckWaitSecs: number;
  readonly natsMaxAckPending: number;
  readonly publishTimeoutMs: number;
  readonly dlqMaxAgeSecs: number;
  readonly cbThreshold: number;
  readonly cbTimeoutSecs: number;
  readonly cbTimeoutMaxSecs: number;
  readonly cbHalfOpenProbes: number;
  readonly cbCloseAfter: number;
  readonly cbWindowCalls: number;
  readonly cbWindowSecs: number;
  readonly cbMinCalls: number;
  readonly cbFailureRatePct: number;
  readonly cbSlowCallMs: number;
  readonly cbSlowCallRatePct: number;
  readonly kanbanHighWaterPct: number;
  readonly andonQueueYellowPct: number;
  readonly andonErrorYellowPct: number;
  readonly andonErrorRedPct: number;
  readonly andonP99YellowMs: number;
  readonly andonP99RedMs: number;
  readonly andonClearSecs: number;
  readonly andonWebhookUrl: string;
  readonly andonHistory: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxPayloadDepth: number;
  readonly maxWaitSecs: number;
  readonly statusMaxEntries: number;
  readonly statusTtlSecs: number;
  readonly idleCompactSecs: number;
  readonly shutdownTimeoutSecs: number;
  readonly natsUrl: string;
  readonly rabbitmqUrl: string;
  readonly jaegerEndpoint: string;
  readonly otlpEndpoint: string;
  readonly traceSampleRatio: number;
  readonly traceMaxPerSec: number;
  readonly sloTargetMs: number;
  readonly sloObjectivePct: number;
  readonly authEnabled: boolean;
  readonly authToken: string;
  readonly sslEnabled: boolean;
  readonly sslCertPath: string;
  readonly sslKeyPath: string;
  readonly rateLimit: number;
  readonly faultInjection: boolean;
}

type Key = keyof TpsConfig;

interface Variable<K extends Key = Key> {
  /** Environment variable name. */
  readonly env: string;
  readonly key: K;
  readonly default: TpsConfig[K];
  /** What the variable accepts, as said in error messages and docs. */
  readonly accepts: string;
  readonly doc: string;
  /** Never printed by /info or logs. */
  readonly secret?: boolean;
  /** Returns the parsed value, or undefined when `raw` is not acceptable. */
  parse(raw: string): TpsConfig[K] | undefined;
}

function int(min: number, max: number) {
  return (raw: string): number | undefined => {
    if (!/^-?\d+$/.test(raw)) return undefined;
    const n = Number(raw);
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
  };
}

function fraction(raw: string): number | undefined {
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(raw)) return undefined;
  return Number(raw);
}

function percent(raw: string): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(raw)) return undefined;
  const n = Number(raw);
  return n <= 100 ? n : undefined;
}

const TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** A `type=n,…` list, normalised (no spaces); undefined when any part is not acceptable. */
function typeNumbers(min: number, max: number) {
  const number = int(min, max);
  return (raw: string): string | undefined => {
    if (raw.trim() === '') return '';
    const parts: string[] = [];
    for (const part of raw.split(',')) {
      const [type, value, extra] = part.split('=').map((x) => x.trim());
      if (extra !== undefined || type === undefined || !TYPE_NAME.test(type)) return undefined;
      if (value === undefined || number(value) === undefined) return undefined;
      parts.push(`${type}=${value}`);
    }
    return parts.join(',');
  };
}

/** The `type=n,…` list as a record. */
export function typeNumberMap(list: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (list === '') return out;
  for (const part of list.split(',')) {
    const [type, value] = part.split('=') as [string, string];
    out[type] = Number(value);
  }
  return out;
}

function bool(raw: string): boolean | undefined {
  const v = raw.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return true;
  if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false;
  return undefined;
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): T | undefined => values.find((v) => v === raw.toLowerCase());
}

function hasControlCharacter(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) < 0x20) return true;
  return false;
}

function text(maxLength: number) {
  return (raw: string): string | undefined =>
    raw.length > 0 && raw.length <= maxLength && !hasControlCharacter(raw) ? raw : undefined;
}

function anyText(raw: string): string | undefined {
  return hasControlCharacter(raw) ? undefined : raw;
}

function url(protocols: readonly string[], allowEmpty = false) {
  return (raw: string): string | undefined => {
    if (raw === '') return allowEmpty ? raw : undefined;
    try {
      const u = new URL(raw);
      return protocols.includes(u.protocol) ? raw : undefined;
    } catch {
      return undefined;
    }
  };
}

function variable<K extends Key>(v: Variable<K>): Variable<K> {
  return v;
}

const port = (raw: string) => int(1, 65535)(raw);
const portAccepts = 'an integer port from 1 to 65535';

/**
 * Every variable the service reads, with its default. The configuration table of
 * docs/configuration.md and `.env.example` list exactly these (a test keeps them in step).
 */
export const VARIABLES: readonly Variable[] = [
  variable({
    env: 'TPS_NUM_WORKERS',
    key: 'numWorkers',
    default: 4,
    accepts: 'an integer from 1 to 256',
    doc: 'Workers pulling from the Kanban queue at start.',
    parse: int(1, 256),
  }),
  variable({
    env: 'TPS_WORKER_CARDS',
    key: 'workerCards',
    default: 32,
    accepts: 'an integer from 1 to 10000',
    doc: 'Kanban cards per worker: the most signals one worker holds at once (its WIP limit).',
    parse: int(1, 10000),
  }),
  variable({
    env: 'TPS_HEIJUNKA_POOL',
    key: 'heijunkaPool',
    default: 4,
    accepts: 'an integer from 1 to 256, at most TPS_NUM_WORKERS',
    doc: 'Smallest worker pool Heijunka shrinks to when load is low; when not set, the smaller of 4 and TPS_NUM_WORKERS.',
    parse: int(1, 256),
  }),
  variable({
    env: 'TPS_HEIJUNKA_POOL_MAX',
    key: 'heijunkaPoolMax',
    default: 16,
    accepts: 'an integer from 1 to 256',
    doc: 'Largest worker pool Heijunka grows to under load (at or below TPS_NUM_WORKERS: the pool never grows).',
    parse: int(1, 256),
  }),
  variable({
    env: 'TPS_HEIJUNKA_SCALE_UP_SECS',
    key: 'heijunkaScaleUpSecs',
    default: 2,
    accepts: 'an integer number of seconds from 0 to 3600',
    doc: 'Least time between two scale-ups of the worker pool.',
    parse: int(0, 3600),
  }),
  variable({
    env: 'TPS_HEIJUNKA_SCALE_DOWN_SECS',
    key: 'heijunkaScaleDownSecs',
    default: 30,
    accepts: 'an integer number of seconds from 0 to 3600',
    doc: 'How long the pool must have been larger than needed before idle workers are retired.',
    parse: int(0, 3600),
  }),
  variable({
    env: 'TPS_HEIJUNKA_WEIGHTS',
    key: 'heijunkaWeights',
    default: '',
    accepts: 'a list type=weight,… with integer weights from 1 to 1000, or empty',
    doc: 'Share of picks per signal type within a priority (default weight 1), e.g. `validate=3,report=1`.',
    parse: typeNumbers(1, 1000),
  }),
  variable({
    env: 'TPS_HEIJUNKA_CAPS',
    key: 'heijunkaCaps',
    default: '',
    accepts: 'a list type=limit,… with integer limits from 1 to 100000, or empty',
    doc: 'Most signals of a type in work at once in this instance, e.g. `execute=8` (default: no cap).',
    parse: typeNumbers(1, 100_000),
  }),
  variable({
    env: 'TPS_HEIJUNKA_AGING_MS',
    key: 'heijunkaAgingMs',
    default: 1000,
    accepts: 'an integer number of milliseconds from 1 to 3600000',
    doc: 'A priority that has had signals waiting this long gets one pick in 8 even while higher priorities wait, so low priority work always progresses.',
    parse: int(1, 3_600_000),
  }),
  variable({
    env: 'TPS_KANBAN_BACKEND',
    key: 'kanbanBackend',
    default: 'memory',
    accepts: `one of: ${KANBAN_BACKENDS.join(', ')}`,
    doc: 'Where the Kanban queue lives. `memory`: embedded, in-process, not durable across a crash; `nats`: a NATS JetStream stream on disk (NATS_URL), shared by every instance; `rabbitmq`: a RabbitMQ quorum queue (RABBITMQ_URL); `failover`: NATS first, RabbitMQ while NATS is unreachable, workers consuming from both.',
    parse: oneOf(KANBAN_BACKENDS),
  }),
  variable({
    env: 'TPS_KANBAN_BUFFER',
    key: 'kanbanBuffer',
    default: 1000,
    accepts: 'an integer from 1 to 10000000',
    doc: 'Queue capacity: signals waiting (including retries waiting for their backoff). Past it, POST /signal answers 429.',
    parse: int(1, 10_000_000),
  }),
  variable({
    env: 'TPS_STATUS_BACKEND',
    key: 'statusBackend',
    default: 'auto',
    accepts: `one of: ${STATUS_BACKENDS.join(', ')}`,
    doc: 'Where signal status lives. `auto`: NATS KV with the `nats` backend (any instance answers), else memory (with `failover`, so status does not depend on the broker it must survive).',
    parse: oneOf(STATUS_BACKENDS),
  }),
  variable({
    env: 'TPS_BROKER_NAMESPACE',
    key: 'brokerNamespace',
    default: 'tps',
    accepts: 'a name of 1–32 characters: lowercase letters, digits, _ and -, starting with a letter',
    doc: 'Prefix of every broker stream, subject, consumer, queue and bucket, so deployments sharing a broker never mix.',
    parse: (raw: string) => (/^[a-z][a-z0-9_-]{0,31}$/.test(raw) ? raw : undefined),
  }),
  variable({
    env: 'TPS_NATS_ACK_WAIT_SECS',
    key: 'natsAckWaitSecs',
    default: 30,
    accepts: 'an integer number of seconds from 1 to 3600',
    doc: 'How long NATS waits for a delivery to be settled before redelivering it (busy handlers extend it; a crashed instance’s signals come back after it).',
    parse: int(1, 3600),
  }),
  variable({
    env: 'TPS_NATS_MAX_ACK_PENDING',
    key: 'natsMaxAckPending',
    default: 0,
    accepts: 'an integer from 0 (automatic) to 1000000',
    doc: 'NATS consumer limit on unacknowledged deliveries over all instances; at it delivery stalls. 0: the larger of TPS_KANBAN_BUFFER and ten times this instance’s cards, so signals waiting for a retry or held back by an open circuit never stall the rest.',
    parse: int(0, 1_000_000),
  }),
  variable({
    env: 'TPS_PUBLISH_TIMEOUT_MS',
    key: 'publishTimeoutMs',
    default: 1000,
    accepts: 'an integer number of milliseconds from 50 to 60000',
    doc: 'How long a broker has to confirm a published signal before the publish counts as failed.',
    parse: int(50, 60_000),
  }),
  variable({
    env: 'TPS_DLQ_MAX_AGE_SECS',
    key: 'dlqMaxAgeSecs',
    default: 604_800,
    accepts: 'an integer number of seconds from 60 to 31536000',
    doc: 'How long a broker keeps dead-lettered signals.',
    parse: int(60, 31_536_000),
  }),
  variable({
    env: 'TPS_CB_THRESHOLD',
    key: 'cbThreshold',
    default: 5,
    accepts: 'an integer from 1 to 1000000',
    doc: 'Consecutive failures of one signal type that open its circuit.',
    parse: int(1, 1_000_000),
  }),
  variable({
    env: 'TPS_CB_TIMEOUT',
    key: 'cbTimeoutSecs',
    default: 30,
    accepts: 'an integer number of seconds from 1 to 86400',
    doc: 'Seconds a circuit stays open before a half-open probe is let through.',
    parse: int(1, 86_400),
  }),
  variable({
    env: 'TPS_CB_TIMEOUT_MAX',
    key: 'cbTimeoutMaxSecs',
    default: 0,
    accepts: 'an integer number of seconds from 0 to 86400',
    doc: 'When a circuit opens again and again (failed probes), its open time doubles each time up to this many seconds. 0: no growth, always TPS_CB_TIMEOUT.',
    parse: int(0, 86_400),
  }),
  variable({
    env: 'TPS_CB_HALF_OPEN_PROBES',
    key: 'cbHalfOpenProbes',
    default: 1,
    accepts: 'an integer from 1 to 1000',
    doc: 'Signals of a half-open type that workers run at once as probes; the others wait in the queue.',
    parse: int(1, 1000),
  }),
  variable({
    env: 'TPS_CB_CLOSE_AFTER',
    key: 'cbCloseAfter',
    default: 1,
    accepts: 'an integer from 1 to 1000',
    doc: 'Successful probes that close a half-open circuit; one failed probe opens it again.',
    parse: int(1, 1000),
  }),
  variable({
    env: 'TPS_CB_WINDOW_CALLS',
    key: 'cbWindowCalls',
    default: 20,
    accepts: 'an integer from 1 to 100000',
    doc: 'The rate rules look at the last this many calls of a type (unless TPS_CB_WINDOW_SECS is set).',
    parse: int(1, 100_000),
  }),
  variable({
    env: 'TPS_CB_WINDOW_SECS',
    key: 'cbWindowSecs',
    default: 0,
    accepts: 'an integer number of seconds from 0 to 3600',
    doc: 'When not 0, the rate rules look at the calls of the last this many seconds instead of the last TPS_CB_WINDOW_CALLS calls.',
    parse: int(0, 3600),
  }),
  variable({
    env: 'TPS_CB_MIN_CALLS',
    key: 'cbMinCalls',
    default: 10,
    accepts: 'an integer from 1 to 100000',
    doc: 'Calls the window must hold before a rate rule may open a circuit.',
    parse: int(1, 100_000),
  }),
  variable({
    env: 'TPS_CB_FAILURE_RATE',
    key: 'cbFailureRatePct',
    default: 0,
    accepts: 'an integer percent from 0 to 100',
    doc: 'Opens a circuit when this percent or more of the calls in the window failed. 0: rule off (only TPS_CB_THRESHOLD consecutive failures open it).',
    parse: int(0, 100),
  }),
  variable({
    env: 'TPS_CB_SLOW_CALL_MS',
    key: 'cbSlowCallMs',
    default: 0,
    accepts: 'an integer number of milliseconds from 0 to 3600000',
    doc: 'A call slower than this is a slow call (see TPS_CB_SLOW_CALL_RATE). 0: no call is slow.',
    parse: int(0, 3_600_000),
  }),
  variable({
    env: 'TPS_CB_SLOW_CALL_RATE',
    key: 'cbSlowCallRatePct',
    default: 0,
    accepts: 'an integer percent from 0 to 100',
    doc: 'Opens a circuit when this percent or more of the calls in the window were slow; a slow probe then counts as failed. 0: rule off.',
    parse: int(0, 100),
  }),
  variable({
    env: 'TPS_KANBAN_HIGH_WATER',
    key: 'kanbanHighWaterPct',
    default: 80,
    accepts: 'an integer percent from 1 to 100',
    doc: 'Queue fill (percent of TPS_KANBAN_BUFFER) from which low-priority signals are shed with 429: priority 4 from here, 3 and 2 at steps towards full, priority 1 only when the buffer is full. 100: no shedding before full.',
    parse: int(1, 100),
  }),
  variable({
    env: 'TPS_ANDON_QUEUE_YELLOW_PCT',
    key: 'andonQueueYellowPct',
    default: 80,
    accepts: 'an integer percent from 1 to 100',
    doc: 'Kanban turns YELLOW when the queue is fuller than this percent of its capacity (RED when full).',
    parse: int(1, 100),
  }),
  variable({
    env: 'TPS_ANDON_ERROR_YELLOW_PCT',
    key: 'andonErrorYellowPct',
    default: 1,
    accepts: 'a number of percent from 0 to 100',
    doc: 'Andon turns YELLOW when the error rate over the last minute is over this percent.',
    parse: percent,
  }),
  variable({
    env: 'TPS_ANDON_ERROR_RED_PCT',
    key: 'andonErrorRedPct',
    default: 5,
    accepts: 'a number of percent from 0 to 100',
    doc: 'Andon turns RED when the error rate over the last minute is over this percent.',
    parse: percent,
  }),
  variable({
    env: 'TPS_ANDON_P99_YELLOW_MS',
    key: 'andonP99YellowMs',
    default: 200,
    accepts: 'an integer number of milliseconds from 1 to 3600000',
    doc: 'Kaizen turns YELLOW when the end-to-end p99 over the last minute is over this.',
    parse: int(1, 3_600_000),
  }),
  variable({
    env: 'TPS_ANDON_P99_RED_MS',
    key: 'andonP99RedMs',
    default: 500,
    accepts: 'an integer number of milliseconds from 1 to 3600000',
    doc: 'Kaizen turns RED when the end-to-end p99 over the last minute is over this.',
    parse: int(1, 3_600_000),
  }),
  variable({
    env: 'TPS_ANDON_CLEAR_SECS',
    key: 'andonClearSecs',
    default: 5,
    accepts: 'an integer number of seconds from 0 to 3600',
    doc: 'A light goes up at once but comes down only after its rules have given the lower level this long, so a figure hovering at a threshold does not flap the board, its history and the webhook. 0: no hold.',
    parse: int(0, 3600),
  }),
  variable({
    env: 'TPS_ANDON_WEBHOOK_URL',
    key: 'andonWebhookUrl',
    default: '',
    accepts: 'an http or https URL, or empty',
    doc: 'When set, the board POSTs a JSON alert here each time the overall level turns RED or back to GREEN (retried with backoff; never delays the pipeline).',
    parse: url(['http:', 'https:'], true),
  }),
  variable({
    env: 'TPS_ANDON_HISTORY',
    key: 'andonHistory',
    default: 100,
    accepts: 'an integer from 1 to 100000',
    doc: 'Andon level changes kept in the history.',
    parse: int(1, 100_000),
  }),
  variable({
    env: 'TPS_MAX_ATTEMPTS',
    key: 'maxAttempts',
    default: 3,
    accepts: 'an integer from 1 to 100',
    doc: 'Attempts per signal (the first run included) before it is dead-lettered.',
    parse: int(1, 100),
  }),
  variable({
    env: 'TPS_RETRY_BASE_MS',
    key: 'retryBaseMs',
    default: 100,
    accepts: 'an integer number of milliseconds from 1 to 3600000',
    doc: 'Backoff before the second attempt; doubles with each further attempt (with jitter).',
    parse: int(1, 3_600_000),
  }),
  variable({
    env: 'TPS_RETRY_MAX_MS',
    key: 'retryMaxMs',
    default: 30_000,
    accepts: 'an integer number of milliseconds from 1 to 3600000',
    doc: 'Longest backoff between two attempts.',
    parse: int(1, 3_600_000),
  }),
  variable({
    env: 'TPS_DEFAULT_TIMEOUT_MS',
    key: 'defaultTimeoutMs',
    default: 30_000,
    accepts: 'an integer number of milliseconds from 1 to 86400000',
    doc: 'Processing deadline of a signal that does not set `timeout_ms`.',
    parse: int(1, 86_400_000),
  }),
  variable({
    env: 'TPS_MAX_TIMEOUT_MS',
    key: 'maxTimeoutMs',
    default: 300_000,
    accepts: 'an integer number of milliseconds from 1 to 86400000',
    doc: 'Largest `timeout_ms` a signal may ask for.',
    parse: int(1, 86_400_000),
  }),
  variable({
    env: 'TPS_MAX_BODY_BYTES',
    key: 'maxBodyBytes',
    default: 65_536,
    accepts: 'an integer number of bytes from 256 to 16777216',
    doc: 'Largest request body; larger ones get 413.',
    parse: int(256, 16_777_216),
  }),
  variable({
    env: 'TPS_MAX_PAYLOAD_DEPTH',
    key: 'maxPayloadDepth',
    default: 32,
    accepts: 'an integer from 2 to 256',
    doc: 'Deepest nesting of objects and arrays accepted in a request body.',
    parse: int(2, 256),
  }),
  variable({
    env: 'TPS_MAX_WAIT_SECS',
    key: 'maxWaitSecs',
    default: 60,
    accepts: 'an integer number of seconds from 0 to 3600',
    doc: 'Longest `Prefer: wait=N` honoured; larger waits are cut to it.',
    parse: int(0, 3600),
  }),
  variable({
    env: 'TPS_STATUS_MAX_ENTRIES',
    key: 'statusMaxEntries',
    default: 100_000,
    accepts: 'an integer from 1000 to 100000000',
    doc: 'Finished signals whose status is kept in memory (each costs its record, plus what the handler returned); the oldest finished ones are forgotten first.',
    parse: int(1000, 100_000_000),
  }),
  variable({
    env: 'TPS_STATUS_TTL_SECS',
    key: 'statusTtlSecs',
    default: 3600,
    accepts: 'an integer number of seconds from 1 to 2592000',
    doc: 'How long a finished signal’s status is kept.',
    parse: int(1, 2_592_000),
  }),
  variable({
    env: 'TPS_IDLE_COMPACT_SECS',
    key: 'idleCompactSecs',
    default: 30,
    accepts: 'an integer number of seconds from 0 to 3600',
    doc: 'After this long with no signal accepted, refused or finished and none queued or running, one full garbage collection gives back memory taken under load, when RSS grew 16 MB or more since the last one (needs `node --expose-gc`, which `npm start` and the image use). The next burst then starts with a cold heap and code for a few seconds; 0 turns it off.',
    parse: int(0, 3600),
  }),
  variable({
    env: 'TPS_SHUTDOWN_TIMEOUT',
    key: 'shutdownTimeoutSecs',
    default: 30,
    accepts: 'an integer number of seconds from 0 to 3600',
    doc: 'On SIGTERM/SIGINT, how long queued and in-flight signals may take to finish.',
    parse: int(0, 3600),
  }),
  variable({
    env: 'HTTP_HOST',
    key: 'httpHost',
    default: '0.0.0.0',
    accepts: 'a host name or IP address',
    doc: 'Address the API listens on.',
    parse: text(255),
  }),
  variable({
    env: 'HTTP_PORT',
    key: 'httpPort',
    default: 8080,
    accepts: portAccepts,
    doc: 'API port.',
    parse: port,
  }),
  variable({
    env: 'METRICS_PORT',
    key: 'metricsPort',
    default: 9090,
    accepts: portAccepts,
    doc: 'Prometheus exposition (`GET /metrics`, text format) on its own port.',
    parse: port,
  }),
  variable({
    env: 'NATS_URL',
    key: 'natsUrl',
    default: 'nats://localhost:4222',
    accepts: 'a nats:// or tls:// URL',
    doc: 'NATS server (with JetStream) for the `nats` backend.',
    parse: url(['nats:', 'tls:']),
  }),
  variable({
    env: 'RABBITMQ_URL',
    key: 'rabbitmqUrl',
    default: 'amqp://guest:guest@localhost:5672/',
    accepts: 'an amqp:// or amqps:// URL',
    doc: 'RabbitMQ server for the `rabbitmq` backend (password hidden in /info).',
    parse: url(['amqp:', 'amqps:']),
    secret: true,
  }),
  variable({
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    key: 'otlpEndpoint',
    default: '',
    accepts: 'an http:// or https:// URL, or empty',
    doc: 'OpenTelemetry collector (OTLP over HTTP; traces go to <endpoint>/v1/traces). Empty (and no JAEGER_ENDPOINT): trace ids are still assigned and returned, nothing is exported.',
    parse: url(['http:', 'https:'], true),
  }),
  variable({
    env: 'JAEGER_ENDPOINT',
    key: 'jaegerEndpoint',
    default: '',
    accepts: 'an http:// or https:// URL, or empty',
    doc: 'Another name for the trace collector: used as OTEL_EXPORTER_OTLP_ENDPOINT when that is empty (Jaeger takes OTLP).',
    parse: url(['http:', 'https:'], true),
  }),
  variable({
    env: 'TPS_TRACE_SAMPLE_RATIO',
    key: 'traceSampleRatio',
    default: 1,
    accepts: 'a number from 0 to 1',
    doc: 'Share of new traces recorded and exported; a caller’s sampling decision (traceparent) is followed.',
    parse: fraction,
  }),
  variable({
    env: 'TPS_TRACE_MAX_PER_SEC',
    key: 'traceMaxPerSec',
    default: 100,
    accepts: 'an integer from 0 (no cap) to 1000000',
    doc: 'Most new traces recorded per second (rate-limited sampling): every signal is traced at a demo’s pace, the cost stays bounded under load.',
    parse: int(0, 1_000_000),
  }),
  variable({
    env: 'TPS_SLO_TARGET_MS',
    key: 'sloTargetMs',
    default: 200,
    accepts: 'an integer number of milliseconds from 1 to 3600000',
    doc: 'Kaizen’s SLO: a signal meets it when it finishes within this long of being accepted.',
    parse: int(1, 3_600_000),
  }),
  variable({
    env: 'TPS_SLO_OBJECTIVE_PCT',
    key: 'sloObjectivePct',
    default: 99,
    accepts: 'a number from 0 to 100',
    doc: 'The share of signals (percent) that should meet the SLO; exported as tps_kaizen_slo_objective, which the KaizenSLOMiss alert compares attainment with.',
    parse: percent,
  }),
  variable({
    env: 'APP_NAME',
    key: 'appName',
    default: 'tps-reference-system',
    accepts: 'a non-empty name of at most 100 characters',
    doc: 'Service name in logs and traces.',
    parse: text(100),
  }),
  variable({
    env: 'APP_ENVIRONMENT',
    key: 'appEnvironment',
    default: 'production',
    accepts: 'a non-empty name of at most 100 characters',
    doc: 'Deployment environment, reported in /info and logs.',
    parse: text(100),
  }),
  variable({
    env: 'LOG_LEVEL',
    key: 'logLevel',
    default: 'info',
    accepts: `one of: ${LOG_LEVELS.join(', ')}`,
    doc: 'Least severe log level written (JSON lines on stdout).',
    parse: oneOf(LOG_LEVELS),
  }),
  variable({
    env: 'AUTH_ENABLED',
    key: 'authEnabled',
    default: false,
    accepts: 'true or false',
    doc: 'Require `Authorization: Bearer <AUTH_TOKEN>` on POST endpoints.',
    parse: bool,
  }),
  variable({
    env: 'AUTH_TOKEN',
    key: 'authToken',
    default: '',
    accepts: 'a token of at least 16 characters when AUTH_ENABLED is true',
    doc: 'The bearer token. Never logged nor shown by /info.',
    parse: anyText,
    secret: true,
  }),
  variable({
    env: 'SSL_ENABLED',
    key: 'sslEnabled',
    default: false,
    accepts: 'true or false',
    doc: 'Serve the API over HTTPS.',
    parse: bool,
  }),
  variable({
    env: 'SSL_CERT_PATH',
    key: 'sslCertPath',
    default: '',
    accepts: 'a readable PEM certificate file when SSL_ENABLED is true',
    doc: 'TLS certificate chain (PEM).',
    parse: anyText,
  }),
  variable({
    env: 'SSL_KEY_PATH',
    key: 'sslKeyPath',
    default: '',
    accepts: 'a readable PEM key file when SSL_ENABLED is true',
    doc: 'TLS private key (PEM).',
    parse: anyText,
  }),
  variable({
    env: 'RATE_LIMIT',
    key: 'rateLimit',
    default: 0,
    accepts: 'an integer number of requests per minute from 0 (no limit) to 100000000',
    doc: 'Requests per minute per client address on POST endpoints; past it, 429 with Retry-After. 0: no limit.',
    parse: int(0, 100_000_000),
  }),
  variable({
    env: 'TPS_FAULT_INJECTION',
    key: 'faultInjection',
    default: false,
    accepts: 'true or false',
    doc: 'Enables POST /chaos/workers/crash (crash a worker loop, for chaos tests; behind the token when AUTH_ENABLED). Off in production.',
    parse: bool,
  }),
];

export const DEFAULT_CONFIG: TpsConfig = Object.freeze(
  Object.fromEntries(VARIABLES.map((v) => [v.key, v.default])) as unknown as TpsConfig,
);

function variableFor(key: Key): Variable {
  const v = VARIABLES.find((candidate) => candidate.key === key);
  if (!v) throw new Error(`no variable for config key ${key}`);
  return v;
}

function checkRelations(c: TpsConfig): void {
  if (c.heijunkaPool > c.numWorkers) {
    throw new ConfigError(
      'TPS_HEIJUNKA_POOL',
      `must not exceed TPS_NUM_WORKERS (${c.numWorkers}), got ${c.heijunkaPool}: the pool starts with TPS_NUM_WORKERS workers`,
    );
  }
  if (c.retryBaseMs > c.retryMaxMs) {
    throw new ConfigError(
      'TPS_RETRY_BASE_MS',
      `must not exceed TPS_RETRY_MAX_MS (${c.retryMaxMs}), got ${c.retryBaseMs}`,
    );
  }
  if (c.defaultTimeoutMs > c.maxTimeoutMs) {
    throw new ConfigError(
      'TPS_DEFAULT_TIMEOUT_MS',
      `must not exceed TPS_MAX_TIMEOUT_MS (${c.maxTimeoutMs}), got ${c.defaultTimeoutMs}`,
    );
  }
  if (c.authEnabled && c.authToken.length < 16) {
    throw new ConfigError(
      'AUTH_TOKEN',
      'expected a token of at least 16 characters because AUTH_ENABLED is true',
    );
  }
  if (c.sslEnabled) {
    for (const key of ['sslCertPath', 'sslKeyPath'] as const) {
      const v = variableFor(key);
      const path = c[key];
      if (path === '') throw new ConfigError(v.env, 'expected a file path because SSL_ENABLED is true');
      try {
        accessSync(path, constants.R_OK);
      } catch {
        throw new ConfigError(v.env, `cannot read "${path}"`);
      }
    }
  }
  if (c.httpPort === c.metricsPort) {
    throw new ConfigError('METRICS_PORT', `must differ from HTTP_PORT (${c.httpPort})`);
  }
  if (c.cbTimeoutMaxSecs !== 0 && c.cbTimeoutMaxSecs < c.cbTimeoutSecs) {
    throw new ConfigError('TPS_CB_TIMEOUT_MAX', `must be 0 or at least TPS_CB_TIMEOUT (${c.cbTimeoutSecs})`);
  }
  if (c.andonErrorRedPct < c.andonErrorYellowPct) {
    throw new ConfigError(
      'TPS_ANDON_ERROR_RED_PCT',
      `must be at least TPS_ANDON_ERROR_YELLOW_PCT (${c.andonErrorYellowPct})`,
    );
  }
  if (c.andonP99RedMs < c.andonP99YellowMs) {
    throw new ConfigError(
      'TPS_ANDON_P99_RED_MS',
      `must be at least TPS_ANDON_P99_YELLOW_MS (${c.andonP99YellowMs})`,
    );
  }
}

/**
 * Completes a partial configuration with the defaults and checks every value.
 * @throws {ConfigError} naming the first variable whose value is not acceptable.
 */
export function resolveConfig(overrides: Partial<TpsConfig> = {}): TpsConfig {
  const merged: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const v = VARIABLES.find((candidate) => candidate.key === key);
    if (!v) throw new ConfigError(key, 'is not a configuration option');
    if (typeof value !== typeof v.default || v.parse(String(value)) === undefined) {
      throw new ConfigError(v.env, `expected ${v.accepts}, got ${JSON.stringify(value)}`);
    }
    merged[key] = v.parse(String(value));
  }
  // The pool starts with TPS_NUM_WORKERS workers: its default floor never lies above that.
  if (overrides.heijunkaPool === undefined) {
    merged.heijunkaPool = Math.min(DEFAULT_CONFIG.heijunkaPool, merged.numWorkers as number);
  }
  const config = Object.freeze(merged) as unknown as TpsConfig;
  checkRelations(config);
  return config;
}

/**
 * Loads `path` (a `.env` file) into the environment when it exists; a variable already set in the
 * environment keeps its value. Returns whether there was a file.
 */
export function loadDotEnv(path = '.env'): boolean {
  if (!existsSync(path)) return false;
  process.loadEnvFile(path);
  return true;
}

/**
 * Reads the configuration from environment variables (the only place the project reads
 * `process.env`). Unset or empty variables take their defaults.
 * @throws {ConfigError} naming the variable and what it accepts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TpsConfig {
  const overrides: Record<string, unknown> = {};
  for (const v of VARIABLES) {
    const raw = env[v.env];
    if (raw === undefined || raw.trim() === '') continue;
    const value = v.parse(raw.trim());
    if (value === undefined) {
      const shown = v.secret ? '(hidden)' : JSON.stringify(raw);
      throw new ConfigError(v.env, `expected ${v.accepts}, got ${shown}`);
    }
    overrides[v.key] = value;
  }
  return resolveConfig(overrides as Partial<TpsConfig>);
}

/** `TPS_*` variables the project's tools read, not the service: the `tps` command's, the tests'. */
function isToolVariable(name: string): boolean {
  return (
    name === 'TPS_URL' ||
    name === 'TPS_TOKEN' ||
    name.startsWith('TPS_TEST_') ||
    name.startsWith('TPS_BENCH_')
  );
}

/**
 * The `TPS_*` variables in `env` that the service does not read (a typo, most likely), each with
 * the known name closest to it. (Only `TPS_`: other prefixes such as `HTTP_` are shared with
 * other software, `HTTP_PROXY` for one.)
 */
export function unknownVariables(env: NodeJS.ProcessEnv = process.env): { name: string; closest: string }[] {
  const known = VARIABLES.map((v) => v.env);
  const names = new Set(known);
  return Object.keys(env)
    .filter((name) => name.startsWith('TPS_') && !names.has(name) && !isToolVariable(name))
    .sort()
    .map((name) => ({ name, closest: closest(name, known) }));
}

function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return raw;
  }
}

/** The configuration as /info shows it: snake_case names, no secrets, no credentials in URLs. */
export function publicConfig(c: TpsConfig): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const v of VARIABLES) {
    if (v.key === 'authToken') continue;
    const value = c[v.key];
    const name = v.env.replace(/^TPS_/, '').toLowerCase();
    out[name] = typeof value === 'string' && /URL$/.test(v.env) ? redactUrl(value) : value;
  }
  return out;
}
