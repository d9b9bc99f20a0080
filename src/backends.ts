import type { Clock } from './clock.ts';
import type { TpsConfig } from './config.ts';
import { MemoryQueue } from './kanban/memory.ts';
import { NatsQueue } from './kanban/nats.ts';
import { NatsBroker } from './kanban/nats-connection.ts';
import type { KanbanQueue } from './kanban/queue.ts';
import type { Logger } from './logger.ts';
import { MemoryStatusStore } from './status/memory.ts';
import { NatsKvStatusStore } from './status/nats-kv.ts';
import type { StatusStore } from './status/store.ts';

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
}

export interface BackendOverrides {
  readonly queue?: KanbanQueue;
  /** How long start() waits for a broker to be ready; 5 s by default. */
  readonly readyTimeoutMs?: number;
}

export function createBackends(
  config: TpsConfig,
  logger: Logger,
  clock: Clock,
  overrides: BackendOverrides = {},
): Backends {
  const cardsTotal = Math.max(config.numWorkers, config.heijunkaPool) * config.workerCards;
  const usesNats = config.kanbanBackend === 'nats' && overrides.queue === undefined;
  const natsStatus = config.statusBackend === 'nats' || (config.statusBackend === 'auto' && usesNats);
  const broker =
    usesNats || natsStatus
      ? new NatsBroker(
          {
            url: config.natsUrl,
            name: `${config.appName} (${config.brokerNamespace})`,
            requestTimeoutMs: 5_000,
          },
          logger,
        )
      : undefined;

  const queue =
    overrides.queue ??
    (usesNats && broker
      ? new NatsQueue(
          broker,
          {
            namespace: config.brokerNamespace,
            capacity: config.kanbanBuffer,
            ackWaitMs: config.natsAckWaitSecs * 1000,
            maxAckPending: config.natsMaxAckPending || cardsTotal * 10,
            publishTimeoutMs: config.publishTimeoutMs,
            maxMessageBytes: config.maxBodyBytes + 4096,
            deadLetterMaxAgeMs: config.dlqMaxAgeSecs * 1000,
          },
          logger,
        )
      : new MemoryQueue({ capacity: config.kanbanBuffer }));

  const store: StatusStore =
    natsStatus && broker
      ? new NatsKvStatusStore(
          broker,
          { namespace: config.brokerNamespace, ttlMs: config.statusTtlSecs * 1000 },
          logger,
        )
      : new MemoryStatusStore(
          { maxEntries: config.statusMaxEntries, ttlMs: config.statusTtlSecs * 1000 },
          clock,
        );

  return {
    queue,
    store,
    async start() {
      await store.start?.();
      await queue.start();
      if (broker === undefined) return;
      broker.start();
      try {
        await broker.waitReady(overrides.readyTimeoutMs ?? 5_000);
      } catch (error) {
        logger.error({ err: error }, 'broker not ready at start-up; serving unhealthy until it is');
      }
    },
    async close() {
      await queue.close();
      await store.close();
      await broker?.close();
    },
  };
}
