import { createRequire } from 'node:module';
import type { Clock } from './clock.ts';
import { type TpsConfig, typeNumberMap } from './config.ts';
import {
  type Leveler,
  type LevelerOptions,
  type LevelerSnapshot,
  levelerOrder,
  mergeLeveling,
} from './heijunka/leveler.ts';
import { MemoryQueue } from './kanban/memory.ts';
import type { Delivery, KanbanQueue } from './kanban/queue.ts';
import type { Logger } from './logger.ts';
import { MemoryStatusStore } from './status/memory.ts';
import type { StatusStore } from './status/store.ts';

/**
 * The broker backends' modules, loaded only when the configuration uses them: with them come the
 * NATS and AMQP clients, ~2 MB of memory a service on the embedded queue has no use for. Loaded
 * with `require` (Node.js loads ES modules that way without a warning since 22.13), so that
 * creating the backends stays synchronous; the extension is this module's own (.ts run from
 * source, .js compiled).
 */
const requireOwn = createRequire(import.meta.url);
const OWN_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
function load<Module>(path: string): Module {
  return requireOwn(`${path}${OWN_EXTENSION}`) as Module;
}
const brokerModules = {
  failover: () => load<typeof import('./kanban/failover.ts')>('./kanban/failover'),
  nats: () => load<typeof import('./kanban/nats.ts')>('./kanban/nats'),
  natsConnection: () => load<typeof import('./nats/connection.ts')>('./nats/connection'),
  rabbitmq: () => load<typeof import('./kanban/rabbitmq.ts')>('./kanban/rabbitmq'),
  natsKv: () => load<typeof import('./status/nats-kv.ts')>('./status/nats-kv'),
};

/** The Kanban queue and status store the configuration names, with their broker connections. */
export interface Backends {
  readonly queue: KanbanQueue;
  readonly store: StatusStore;
  /**
   * Declares and connects. Waits up to `readyTimeoutMs` for a broker, then resolves anyway: a
   * broker that is down leaves the service up and unhealthy until it comes back.
   */
  start(): Promise<void>;
  /** Closes in reverse order: queue, store, connections. */
  close(): Promise<void>;
  /** What waits in this process for a worker, by priority and type; null for a custom queue. */
  leveling(): LevelerSnapshot | null;
}

export interface BackendOverrides {
  readonly queue?: KanbanQueue;
  readonly store?: StatusStore;
  /** How long start() waits for a broker to be ready; 5 s by default. */
  readonly readyTimeoutMs?: number;
}

/** Heijunka's leveler settings from the configuration (TPS_HEIJUNKA_*). */
export function levelingOptions(config: TpsConfig): LevelerOptions {
  return {
    weights: typeNumberMap(config.heijunkaWeights),
    caps: typeNumberMap(config.heijunkaCaps),
    agingMs: config.heijunkaAgingMs,
  };
}

export function createBackends(
  config: TpsConfig,
  logger: Logger,
  clock: Clock,
  overrides: BackendOverrides = {},
): Backends {
  const cardsTotal = config.numWorkers * config.workerCards;
  /** The cards of the largest pool Heijunka may scale to. */
  const cardsMax = Math.max(config.numWorkers, config.heijunkaPoolMax) * config.workerCards;
  const levelers: Leveler<Delivery>[] = [];
  const order = levelerOrder(levelingOptions(config), (leveler) => levelers.push(leveler));
  const backend = overrides.queue === undefined ? config.kanbanBackend : 'custom';
  const usesNats = backend === 'nats' || backend === 'failover';
  const usesRabbit = backend === 'rabbitmq' || backend === 'failover';
  const natsStatus =
    config.statusBackend === 'nats' || (config.statusBackend === 'auto' && backend === 'nats');
  const broker =
    usesNats || natsStatus
      ? new (brokerModules.natsConnection().NatsBroker)(
          {
            url: config.natsUrl,
            name: `${config.appName} (${config.brokerNamespace})`,
            requestTimeoutMs: 5_000,
            publishTimeoutMs: config.publishTimeoutMs,
          },
          logger,
        )
      : undefined;

  const rabbit = usesRabbit
    ? new (brokerModules.rabbitmq().RabbitQueue)(
        {
          url: config.rabbitmqUrl,
          namespace: config.brokerNamespace,
          capacity: config.kanbanBuffer,
          // Sized for the largest pool, so a pool that grows finds the deliveries to work on.
          prefetch: cardsMax,
          deliveryLimit: config.maxAttempts + 2,
          order,
          publishTimeoutMs: config.publishTimeoutMs,
        },
        logger,
      )
    : undefined;

  const nats =
    usesNats && broker
      ? new (brokerModules.nats().NatsQueue)(
          broker,
          {
            namespace: config.brokerNamespace,
            capacity: config.kanbanBuffer,
            ackWaitMs: config.natsAckWaitSecs * 1000,
            // The stream never holds more than the buffer, so at that size held-back and retrying
            // signals (delivered, not yet acked) can never stall delivery of the others.
            maxAckPending: config.natsMaxAckPending || Math.max(cardsTotal * 10, config.kanbanBuffer),
            publishTimeoutMs: config.publishTimeoutMs,
            maxMessageBytes: config.maxBodyBytes + 4096,
            deadLetterMaxAgeMs: config.dlqMaxAgeSecs * 1000,
            order,
          },
          logger,
        )
      : undefined;

  const queue: KanbanQueue =
    overrides.queue ??
    (nats && rabbit
      ? new (brokerModules.failover().FailoverQueue)(nats, rabbit, logger)
      : (nats ?? rabbit ?? new MemoryQueue({ capacity: config.kanbanBuffer, order })));

  const store: StatusStore =
    overrides.store ??
    (natsStatus && broker
      ? new (brokerModules.natsKv().NatsKvStatusStore)(
          broker,
          {
            namespace: config.brokerNamespace,
            ttlMs: config.statusTtlSecs * 1000,
            // Only when every signal goes through the stream (not with failover; a custom queue
            // builds no NatsQueue): then a waiting signal is found there, and needs no record.
            ...(nats !== undefined && rabbit === undefined
              ? { queued: { find: (id: string) => nats.find(id), maxAttempts: config.maxAttempts } }
              : {}),
          },
          logger,
        )
      : new MemoryStatusStore(
          { maxEntries: config.statusMaxEntries, ttlMs: config.statusTtlSecs * 1000 },
          clock,
        ));

  return {
    queue,
    store,
    leveling() {
      if (overrides.queue !== undefined) return null;
      const [first, ...rest] = levelers.map((l) => l.snapshot());
      return first === undefined ? null : rest.reduce(mergeLeveling, first);
    },
    async start() {
      await store.start?.();
      await queue.start();
      broker?.start();
      const timeout = overrides.readyTimeoutMs ?? 5_000;
      const waits = await Promise.allSettled([broker?.waitReady(timeout), rabbit?.waitReady(timeout)]);
      for (const w of waits) {
        if (w.status === 'rejected')
          logger.error({ err: w.reason }, 'broker not ready at start-up; retrying in the background');
      }
    },
    async close() {
      await queue.close();
      await store.close();
      await broker?.close();
    },
  };
}
