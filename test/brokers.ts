import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { levelerOrder } from '../src/heijunka/leveler.ts';
import { NatsQueue, natsNames } from '../src/kanban/nats.ts';
import { RabbitQueue, rabbitNames } from '../src/kanban/rabbitmq.ts';
import { silentLogger } from '../src/logger.ts';
import { NatsBroker } from '../src/nats/connection.ts';
import { eventually, freePorts } from './process.ts';

export const NATS_URL = process.env.TPS_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

let counter = 0;

/** A broker namespace no other test run uses: streams, queues and buckets never mix. */
export function uniqueNamespace(prefix = 't'): string {
  counter++;
  return `${prefix}${process.pid.toString(36)}${Date.now().toString(36)}${counter}`.slice(0, 32);
}

/** Deletes every stream and bucket of a namespace (what a test run leaves on the shared server). */
export async function deleteNatsNamespace(namespace: string, url = NATS_URL): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc);
    const n = natsNames(namespace);
    for (const stream of [n.stream, n.dlqStream]) await jsm.streams.delete(stream).catch(() => false);
    const kvm = new Kvm(nc);
    for (const bucket of [`${namespace}_status`, `${namespace}_idempotency`]) {
      await kvm
        .open(bucket)
        .then((kv) => kv.destroy())
        .catch(() => false);
    }
  } finally {
    await nc.close();
  }
}

export interface NatsQueueHandle {
  readonly queue: NatsQueue;
  readonly broker: NatsBroker;
  close(): Promise<void>;
}

/** A started NATS Kanban on `namespace`, ready to use. */
export async function openNatsQueue(
  namespace: string,
  capacity: number,
  overrides: Partial<ConstructorParameters<typeof NatsQueue>[1]> = {},
  url = NATS_URL,
): Promise<NatsQueueHandle> {
  const logger = silentLogger();
  const broker = new NatsBroker(
    { url, name: `test ${namespace}`, requestTimeoutMs: 5_000, publishTimeoutMs: 2_000 },
    logger,
  );
  const queue = new NatsQueue(
    broker,
    {
      namespace,
      capacity,
      ackWaitMs: 30_000,
      maxAckPending: 1_000,
      publishTimeoutMs: 2_000,
      maxMessageBytes: 1 << 20,
      deadLetterMaxAgeMs: 3_600_000,
      order: levelerOrder(),
      ...overrides,
    },
    logger,
  );
  await queue.start();
  broker.start();
  await broker.waitReady(10_000);
  return {
    queue,
    broker,
    async close() {
      await queue.close();
      await broker.close();
    },
  };
}

export const RABBITMQ_URL = process.env.TPS_TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';

/** Deletes every exchange and queue of a namespace. */
export async function deleteRabbitNamespace(namespace: string, url = RABBITMQ_URL): Promise<void> {
  const amqp = await import('amqplib');
  const connection = await amqp.connect(url);
  try {
    const n = rabbitNames(namespace);
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    for (let exponent = 6; exponent <= 20; exponent++) await channel.deleteQueue(n.retry(2 ** exponent));
    for (const q of [n.queue, n.dlq]) await channel.deleteQueue(q);
    for (const x of [n.exchange, n.dlx]) await channel.deleteExchange(x);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** A started RabbitMQ Kanban on `namespace`, connected. */
export async function openRabbitQueue(
  namespace: string,
  capacity: number,
  overrides: Partial<ConstructorParameters<typeof RabbitQueue>[0]> = {},
): Promise<RabbitQueue> {
  const queue = new RabbitQueue(
    {
      url: RABBITMQ_URL,
      namespace,
      capacity,
      prefetch: 64,
      deliveryLimit: 5,
      publishTimeoutMs: 5_000,
      order: levelerOrder(),
      ...overrides,
    },
    silentLogger(),
  );
  await queue.start();
  await queue.waitReady(10_000);
  return queue;
}

export interface OwnNatsServer {
  readonly url: string;
  /** Stops the server (SIGTERM), as an outage would; its store stays on disk. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
}

/**
 * A nats-server of the test's own, on a free port with its own store, for tests that stop the
 * broker: the shared one is never disturbed. Stopped when the test ends.
 */
export async function ownNatsServer(t: TestContext): Promise<OwnNatsServer> {
  const [port] = (await freePorts(1)) as [number];
  const store = mkdtempSync(join(tmpdir(), 'tps-nats-'));
  let child: ChildProcess | undefined;
  const url = `nats://127.0.0.1:${port}`;
  const server: OwnNatsServer = {
    url,
    async start() {
      child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], {
        stdio: 'ignore',
      });
      await eventually(
        async () => {
          try {
            const nc = await connect({ servers: url, timeout: 500 });
            await nc.close();
            return true;
          } catch {
            return false;
          }
        },
        () => `nats-server on ${url} to accept connections`,
        10_000,
        50,
      );
    },
    async stop() {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGTERM');
      await exited;
    },
  };
  t.after(() => server.stop());
  await server.start();
  return server;
}
