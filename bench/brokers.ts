/**
 * End-to-end signals per second on each broker, against what a user would otherwise write or pick:
 * the service's pipeline (accept → completed, no-op handler) on NATS and RabbitMQ, a raw
 * publish + pull loop on each (the ceiling of that broker), and BullMQ on the local Redis doing
 * the same enqueue + process. Every measurement runs in a fresh child process; targets alternate
 * over the rounds; medians are reported.
 *
 *   node bench/brokers.ts [--signals 20000] [--rounds 3] [--json]
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';

const TARGETS = [
  'tps-memory',
  'tps-nats',
  'tps-nats-local',
  'raw-nats',
  'tps-rabbitmq',
  'raw-rabbitmq',
  'bullmq',
] as const;
type Target = (typeof TARGETS)[number];

/** In-flight submissions from the producer side, and deliveries in work on the consumer side. */
const PRODUCERS = 64;
const CONSUMERS = 128;
const NATS_URL = process.env.TPS_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const RABBITMQ_URL = process.env.TPS_BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const REDIS = { host: '127.0.0.1', port: Number(process.env.TPS_BENCH_REDIS_PORT ?? 6379) };
/** The same signal body on every path (the service's own encoding of a signal). */
const BODY = JSON.stringify({
  id: '7a1c2d8e-1111-4222-8333-944455556666',
  type: 'noop',
  priority: 3,
  payload: { data: [1, 2, 3] },
  timeoutMs: 30_000,
  acceptedAt: 0,
  traceId: 'a'.repeat(32),
  parentSpanId: 'b'.repeat(16),
  epoch: 0,
});

const { values: args } = parseArgs({
  options: {
    signals: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    target: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

/** Runs `produce` with PRODUCERS concurrent loops until `n` were sent; resolves when all are done. */
async function drive(n: number, produce: () => Promise<unknown>, done: Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < n) {
        next++;
        await produce();
      }
    }),
  );
  await done;
  return n / ((performance.now() - t0) / 1000);
}

function counter(n: number): { count: () => void; done: Promise<void> } {
  let seen = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    count: () => {
      if (++seen === n) finish();
    },
    done,
  };
}

const unique = () => `bench${process.pid}${Date.now().toString(36)}`;

/** `localStatus`: status in this process's memory instead of the backend's default (NATS KV). */
async function tps(backend: 'memory' | 'nats' | 'rabbitmq', n: number, localStatus = false): Promise<number> {
  const { createTpsSystem } = await import('../src/index.ts');
  const namespace = unique();
  const system = createTpsSystem({
    logLevel: 'silent',
    kanbanBackend: backend,
    brokerNamespace: namespace,
    natsUrl: NATS_URL,
    rabbitmqUrl: RABBITMQ_URL,
    kanbanBuffer: Math.max(1000, n),
    numWorkers: 4,
    workerCards: CONSUMERS / 4,
    ...(localStatus ? { statusBackend: 'memory' as const } : {}),
  });
  const { count, done } = counter(n);
  system.registerHandler('noop', () => {
    count();
    return undefined;
  });
  await system.start();
  const rate = await drive(n, () => system.submit({ type: 'noop', payload: { data: [1, 2, 3] } }), done);
  await system.stop(10_000);
  await cleanUp(backend, namespace);
  return rate;
}

async function cleanUp(backend: string, namespace: string): Promise<void> {
  if (backend === 'nats') {
    const { deleteNatsNamespace } = await import('../test/brokers.ts');
    await deleteNatsNamespace(namespace, NATS_URL);
  } else if (backend === 'rabbitmq') {
    const { deleteRabbitNamespace } = await import('../test/brokers.ts');
    await deleteRabbitNamespace(namespace, RABBITMQ_URL);
  }
}

/** The ceiling on NATS: the official client publishing to a work-queue stream, one pull consumer. */
async function rawNats(n: number): Promise<number> {
  const { connect } = await import('@nats-io/transport-node');
  const { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } = await import(
    '@nats-io/jetstream'
  );
  const nc = await connect({ servers: NATS_URL, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = unique();
  await jsm.streams.add({
    name,
    subjects: [`${name}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
  });
  await jsm.consumers.add(name, { durable_name: 'w', ack_policy: AckPolicy.Explicit, max_ack_pending: 1280 });
  const consumer = await js.consumers.get(name, 'w');
  const messages = await consumer.consume({ max_messages: CONSUMERS });
  const { count, done } = counter(n);
  void (async () => {
    for await (const m of messages) {
      JSON.parse(m.string());
      m.ack();
      count();
    }
  })();
  let i = 0;
  const rate = await drive(n, () => js.publish(`${name}.s`, BODY, { msgID: `m${i++}` }), done);
  await messages.close();
  await jsm.streams.delete(name);
  await nc.close();
  return rate;
}

/** The ceiling on RabbitMQ: amqplib publishing with confirms to a quorum queue, prefetch = consumers. */
async function rawRabbit(n: number): Promise<number> {
  const amqp = (await import('amqplib')).default;
  const connection = await amqp.connect(RABBITMQ_URL);
  const publisher = await connection.createConfirmChannel();
  const consumer = await connection.createChannel();
  const name = unique();
  await publisher.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await consumer.prefetch(CONSUMERS);
  const { count, done } = counter(n);
  await consumer.consume(name, (m) => {
    if (m === null) return;
    JSON.parse(m.content.toString());
    consumer.ack(m);
    count();
  });
  const body = Buffer.from(BODY);
  const rate = await drive(
    n,
    () =>
      new Promise<void>((resolve, reject) =>
        publisher.sendToQueue(name, body, { persistent: true }, (error: unknown) =>
          error ? reject(error) : resolve(),
        ),
      ),
    done,
  );
  await publisher.deleteQueue(name);
  await connection.close();
  return rate;
}

/** What users pick instead: BullMQ on Redis, Queue.add and a Worker with the same concurrency. */
async function bullmq(n: number): Promise<number> {
  const { Queue, Worker } = await import('bullmq');
  const name = unique();
  const queue = new Queue(name, { connection: REDIS });
  const { count, done } = counter(n);
  const worker = new Worker(
    name,
    async () => {
      count();
    },
    { connection: REDIS, concurrency: CONSUMERS },
  );
  await worker.waitUntilReady();
  const data = JSON.parse(BODY) as Record<string, unknown>;
  const rate = await drive(
    n,
    () => queue.add('noop', data, { removeOnComplete: 1000, removeOnFail: 1000 }),
    done,
  );
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return rate;
}

async function measure(target: Target, n: number): Promise<number> {
  switch (target) {
    case 'tps-memory':
      return tps('memory', n);
    case 'tps-nats':
      return tps('nats', n);
    case 'tps-nats-local':
      return tps('nats', n, true);
    case 'tps-rabbitmq':
      return tps('rabbitmq', n);
    case 'raw-nats':
      return rawNats(n);
    case 'raw-rabbitmq':
      return rawRabbit(n);
    case 'bullmq':
      return bullmq(n);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const ratio = (a: number, b: number) => (a / b).toFixed(2);

if (args.target !== undefined) {
  // Child mode: one measurement, one line of JSON.
  const target = args.target as Target;
  if (!TARGETS.includes(target)) throw new Error(`unknown target ${target}`);
  const rate = await measure(target, Number(args.signals));
  process.stdout.write(`${JSON.stringify({ target, rate })}\n`);
  process.exit(0);
}

const signals = Number(args.signals);
const rounds = Number(args.rounds);
const out = args.json ? process.stderr : process.stdout;
const say = (line = '') => out.write(`${line}\n`);
say('TPS Reference System: end-to-end signals per second on each broker');
say(
  `machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);
say(
  `each run: ${fmt(signals)} signals, ${PRODUCERS} submissions in flight, ${CONSUMERS} in work, no-op handler; ${rounds} rounds, targets alternating, each in a fresh process`,
);
const rates = new Map<Target, number[]>(TARGETS.map((t) => [t, []]));
for (let round = 1; round <= rounds; round++) {
  for (const target of TARGETS) {
    const line = execFileSync(
      process.execPath,
      [import.meta.filename, '--target', target, '--signals', String(signals)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const { rate } = JSON.parse(line.trim().split('\n').at(-1) as string) as { rate: number };
    rates.get(target)?.push(rate);
    say(`round ${round} ${target.padEnd(14)} ${fmt(rate).padStart(8)} signals/s`);
  }
}
const med = Object.fromEntries(TARGETS.map((t) => [t, median(rates.get(t) ?? [])])) as Record<Target, number>;
say();
say('target          median signals/s  rounds');
for (const t of TARGETS)
  say(`${t.padEnd(14)}  ${fmt(med[t]).padStart(16)}  ${(rates.get(t) ?? []).map(fmt).join(', ')}`);
say();
say(`tps-nats / raw-nats          ${ratio(med['tps-nats'], med['raw-nats'])}  (goal ≥ 0.5)`);
say(`tps-rabbitmq / raw-rabbitmq  ${ratio(med['tps-rabbitmq'], med['raw-rabbitmq'])}  (goal ≥ 0.5)`);
say(`tps-nats / bullmq            ${ratio(med['tps-nats'], med.bullmq)}  (goal > 1)`);
say(`tps-nats-local / bullmq      ${ratio(med['tps-nats-local'], med.bullmq)}  (status per instance)`);
say(`tps-rabbitmq / bullmq        ${ratio(med['tps-rabbitmq'], med.bullmq)}`);
if (args.json)
  process.stdout.write(
    `${JSON.stringify({ signals, rounds, rates: Object.fromEntries(rates), median: med })}\n`,
  );
