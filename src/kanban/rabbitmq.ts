import { setTimeout as sleep } from 'node:timers/promises';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { KanbanFullError, QueueUnavailableError, withoutStack } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { WorkSignal } from '../signal.ts';
import { decodeSignal, encodeSignal, messageIdOf, traceparentOf, withTraceContext } from './codec.ts';
import { HandOff } from './hand-off.ts';
import type { Delivery, KanbanQueue, NewWaitingOrder, QueueHealth } from './queue.ts';

export interface RabbitQueueOptions {
  readonly url: string;
  /** Prefix of every exchange and queue name. */
  readonly namespace: string;
  /** Signals waiting at most (the driver refuses past it; the queue's max-length backs it up). */
  readonly capacity: number;
  /** Unacknowledged deliveries this instance takes at most: its Kanban cards. */
  readonly prefetch: number;
  /** Deliveries after which RabbitMQ itself dead-letters a message (crash loops). */
  readonly deliveryLimit: number;
  readonly publishTimeoutMs: number;
  /** Which waiting delivery goes to a worker next (Heijunka's leveler). */
  readonly order: NewWaitingOrder;
}

interface RabbitDelivery extends Delivery {
  readonly msg: ConsumeMessage;
  /** The channel it came on: a delivery cannot be settled on another. */
  readonly channel: Channel;
}

const REFRESH_EVERY_MS = 500;
const ROUTING_KEY = 'signals';
const ATTEMPT_HEADER = 'tps-attempt';

export function rabbitNames(namespace: string) {
  return {
    exchange: `${namespace}.signals`,
    queue: `${namespace}.signals`,
    dlx: `${namespace}.dlx`,
    dlq: `${namespace}.dlq`,
    retry: (ms: number) => `${namespace}.retry.${ms}`,
  };
}

/**
 * Delays go through one queue per power of two (only those used are made): 64 ms … ~17 min. The
 * tier is the largest not over the delay, so a signal never waits longer than asked (a retry waits
 * between half its backoff and all of it; a signal held back while its circuit is open comes back
 * early at worst, and is held again for the rest).
 */
export function retryTier(delayMs: number): number {
  const exponent = Math.floor(Math.log2(Math.max(1, delayMs)));
  return 2 ** Math.min(20, Math.max(6, exponent));
}

/**
 * The Kanban on RabbitMQ: a durable quorum queue holds the signals, publishes are confirmed before
 * they count as accepted, and each instance takes at most `prefetch` unacknowledged deliveries
 * (its cards). RabbitMQ has no delayed redelivery, so a retry is republished to a delay queue
 * whose messages expire back into the main one (dead-lettering at least once: a retry waits, it
 * is never dropped). Dead letters go to their own quorum queue through a dead-letter exchange, to
 * which RabbitMQ also sends a message delivered `deliveryLimit` times (a crash loop). The
 * connection reconnects forever; deliveries in hand when it drops come back from the broker.
 * Within the deliveries held, Heijunka's leveler orders them; across the backlog it is FIFO.
 */
export class RabbitQueue implements KanbanQueue {
  readonly backend = 'rabbitmq';
  readonly capacity: number;
  readonly #options: RabbitQueueOptions;
  readonly #logger: Logger;
  readonly #names: ReturnType<typeof rabbitNames>;
  readonly #ready: HandOff<RabbitDelivery>;
  readonly #tiers = new Set<number>();
  #connection: ChannelModel | undefined;
  #publisher: ConfirmChannel | undefined;
  #consumer: Channel | undefined;
  #admin: Channel | undefined;
  #connected = false;
  #detail = 'connecting';
  #closed = true;
  /** Messages waiting in the broker (main and retry queues): refreshed, adjusted in between. */
  #brokerWaiting = 0;
  #dlqDepth = 0;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RabbitQueueOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
    this.capacity = options.capacity;
    this.#names = rabbitNames(options.namespace);
    this.#ready = new HandOff<RabbitDelivery>({ order: options.order<RabbitDelivery>() });
  }

  get ready(): boolean {
    return this.#connected;
  }

  /** Starts connecting in the background; see `waitReady`. */
  async start(): Promise<void> {
    this.#closed = false;
    this.#ready.open();
    this.#running ??= this.#run();
    this.#timer = setInterval(() => void this.#refresh(), REFRESH_EVERY_MS);
    this.#timer.unref();
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#connected) {
      if (performance.now() > deadline)
        throw new Error(`RabbitMQ not ready after ${timeoutMs} ms: ${this.#detail}`);
      await sleep(20);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#ready.close();
    const connection = this.#connection;
    this.#setConnected(false, 'closed');
    // Closing the connection hands every unacknowledged delivery back to the broker.
    if (connection !== undefined) await connection.close().catch(() => undefined);
    await this.#running;
    this.#running = undefined;
  }

  async publish(signal: WorkSignal): Promise<void> {
    const channel = this.#publisher;
    if (!this.#connected || channel === undefined) {
      throw withoutStack(() => new QueueUnavailableError(`RabbitMQ: ${this.#detail}`));
    }
    if (this.depth() >= this.capacity) throw withoutStack(() => new KanbanFullError(this.capacity, 1000));
    this.#brokerWaiting++;
    try {
      await this.#confirm(channel, this.#names.exchange, ROUTING_KEY, signal, 1);
    } catch (error) {
      this.#brokerWaiting--;
      if (error instanceof QueueUnavailableError) throw error;
      // A nack: the broker refused it, which with reject-publish means the queue is full.
      throw withoutStack(() => new KanbanFullError(this.capacity, 1000));
    }
  }

  pull(max: number, abort: AbortSignal, rank?: number): Promise<Delivery[]> {
    return this.#ready.pull(max, abort, rank);
  }

  async ack(delivery: Delivery): Promise<void> {
    const d = delivery as RabbitDelivery;
    this.#ready.settled(d);
    this.#settleOn(d, () => d.channel.ack(d.msg));
  }

  async nak(delivery: Delivery, delayMs: number): Promise<void> {
    const d = delivery as RabbitDelivery;
    // Settled here either way: on failure the broker redelivers it, it is no longer ours.
    try {
      const channel = this.#publisher;
      if (!this.#connected || channel === undefined) {
        throw new QueueUnavailableError(`RabbitMQ: ${this.#detail}; the broker will redeliver`);
      }
      const tier = retryTier(delayMs);
      await this.#ensureTier(tier);
      await this.#confirm(channel, '', this.#names.retry(tier), d.signal, d.attempt + 1);
      this.#brokerWaiting++;
      this.#settleOn(d, () => d.channel.ack(d.msg));
    } finally {
      this.#ready.settled(d);
    }
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const d = delivery as RabbitDelivery;
    try {
      const channel = this.#publisher;
      if (!this.#connected || channel === undefined) {
        throw new QueueUnavailableError(`RabbitMQ: ${this.#detail}; the broker will redeliver`);
      }
      await this.#confirm(channel, this.#names.dlx, '', d.signal, d.attempt, {
        'tps-dead-letter-reason': reason.slice(0, 1000),
      });
      this.#settleOn(d, () => d.channel.ack(d.msg));
      this.#dlqDepth++;
    } finally {
      this.#ready.settled(d);
    }
  }

  /** RabbitMQ cannot take one message out of a queue: a retried signal's dead letter stays as a record. */
  async removeDeadLetter(_signalId: string): Promise<boolean> {
    return false;
  }

  /** Signals waiting: in the broker (main and retry queues) and here, prefetched for a worker. */
  depth(): number {
    return this.#brokerWaiting + this.#ready.size;
  }

  dlqDepth(): number {
    return this.#dlqDepth;
  }

  health(): QueueHealth {
    return this.#connected
      ? { healthy: true, detail: `${this.#detail}; queue ${this.#names.queue}` }
      : { healthy: false, detail: this.#detail };
  }

  async #run(): Promise<void> {
    let backoff = 250;
    while (!this.#closed) {
      let connection: ChannelModel;
      try {
        connection = await amqp.connect(this.#options.url, { timeout: 2_000 });
      } catch (error) {
        this.#setConnected(false, `cannot connect: ${(error as Error).message}`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
        continue;
      }
      const lost = new Promise<Error | undefined>((resolve) => {
        connection.on('close', (error?: Error) => resolve(error));
        connection.on('error', () => undefined);
      });
      try {
        await this.#setUp(connection);
        backoff = 250;
        this.#setConnected(true, 'connected');
      } catch (error) {
        this.#setConnected(false, `set-up failed: ${(error as Error).message}`);
        await connection.close().catch(() => undefined);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
        continue;
      }
      const error = await lost;
      this.#dropLocal();
      if (!this.#closed) {
        this.#logger.warn({ err: error }, 'RabbitMQ connection lost; connecting again');
        this.#setConnected(false, `connection lost: ${error?.message ?? 'closed'}`);
      }
    }
  }

  async #setUp(connection: ChannelModel): Promise<void> {
    const n = this.#names;
    const o = this.#options;
    const admin = await connection.createChannel();
    admin.on('error', () => undefined);
    await admin.assertExchange(n.exchange, 'direct', { durable: true });
    await admin.assertExchange(n.dlx, 'fanout', { durable: true });
    await admin.assertQueue(n.queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-max-length': o.capacity,
        'x-overflow': 'reject-publish',
        // RabbitMQ 3.10 sets no delivery limit of its own: a crash loop would go on forever.
        'x-delivery-limit': o.deliveryLimit,
        'x-dead-letter-exchange': n.dlx,
        'x-dead-letter-strategy': 'at-least-once',
      },
    });
    await admin.bindQueue(n.queue, n.exchange, ROUTING_KEY);
    await admin.assertQueue(n.dlq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await admin.bindQueue(n.dlq, n.dlx, '');
    this.#tiers.clear();
    const publisher = await connection.createConfirmChannel();
    publisher.on('error', (error: Error) =>
      this.#logger.warn({ err: error }, 'RabbitMQ publish channel error'),
    );
    const consumer = await connection.createChannel();
    consumer.on('error', (error: Error) =>
      this.#logger.warn({ err: error }, 'RabbitMQ consume channel error'),
    );
    await consumer.prefetch(o.prefetch);
    await consumer.consume(n.queue, (msg) => {
      if (msg !== null) this.#receive(msg, consumer);
    });
    this.#connection = connection;
    this.#admin = admin;
    this.#publisher = publisher;
    this.#consumer = consumer;
  }

  async #ensureTier(tier: number): Promise<void> {
    if (this.#tiers.has(tier)) return;
    const admin = this.#admin;
    if (admin === undefined) throw new QueueUnavailableError(`RabbitMQ: ${this.#detail}`);
    await admin.assertQueue(this.#names.retry(tier), {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-message-ttl': tier,
        'x-dead-letter-exchange': this.#names.exchange,
        'x-dead-letter-routing-key': ROUTING_KEY,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    });
    this.#tiers.add(tier);
  }

  /** Publishes and resolves once the broker confirms; rejects on a nack or after the timeout. */
  #confirm(
    channel: ConfirmChannel,
    exchange: string,
    routingKey: string,
    signal: WorkSignal,
    attempt: number,
    extra: Record<string, string> = {},
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new QueueUnavailableError(`RabbitMQ did not confirm within ${this.#options.publishTimeoutMs} ms`),
          ),
        this.#options.publishTimeoutMs,
      );
      try {
        channel.publish(
          exchange,
          routingKey,
          Buffer.from(encodeSignal(signal)),
          {
            persistent: true,
            contentType: 'application/json',
            messageId: messageIdOf(signal),
            headers: { traceparent: traceparentOf(signal), [ATTEMPT_HEADER]: attempt, ...extra },
          },
          (error: unknown) => {
            clearTimeout(timer);
            if (error) reject(error instanceof Error ? error : new Error(String(error)));
            else resolve();
          },
        );
      } catch (error) {
        clearTimeout(timer);
        reject(new QueueUnavailableError(`RabbitMQ publish failed: ${(error as Error).message}`));
      }
    });
  }

  #receive(msg: ConsumeMessage, channel: Channel): void {
    const decoded = decodeSignal(msg.content);
    const headers = msg.properties.headers ?? {};
    if (decoded === undefined) {
      this.#logger.error({ message_id: msg.properties.messageId }, 'not a signal: dead-lettering it');
      channel.nack(msg, false, false); // to the dead-letter exchange
      return;
    }
    const traceparent = headers.traceparent;
    const signal = withTraceContext(decoded, typeof traceparent === 'string' ? traceparent : undefined);
    // Our count of attempts, plus the redeliveries RabbitMQ made after a consumer went away.
    const base = Number(headers[ATTEMPT_HEADER] ?? 1);
    const redeliveries = Number(headers['x-delivery-count'] ?? 0);
    const d: RabbitDelivery = { signal, attempt: base + redeliveries, msg, channel };
    if (this.#brokerWaiting > 0) this.#brokerWaiting--;
    this.#ready.offer(d);
  }

  /** Settles on the delivery's own channel; if that channel is gone, the broker redelivers it. */
  #settleOn(d: RabbitDelivery, settle: () => void): void {
    if (d.channel !== this.#consumer) {
      throw new QueueUnavailableError(
        'RabbitMQ: the delivery’s channel closed; the broker will redeliver it',
      );
    }
    settle();
  }

  /** After a lost connection: deliveries not yet handed out are void (the broker redelivers them). */
  #dropLocal(): void {
    this.#ready.drain();
    this.#consumer = undefined;
    this.#publisher = undefined;
    this.#admin = undefined;
    this.#connection = undefined;
  }

  async #refresh(): Promise<void> {
    const admin = this.#admin;
    if (admin === undefined || !this.#connected) return;
    try {
      let waiting = (await admin.checkQueue(this.#names.queue)).messageCount;
      for (const tier of this.#tiers)
        waiting += (await admin.checkQueue(this.#names.retry(tier))).messageCount;
      this.#brokerWaiting = waiting;
      this.#dlqDepth = (await admin.checkQueue(this.#names.dlq)).messageCount;
    } catch (error) {
      this.#logger.debug({ err: error }, 'RabbitMQ queue check failed');
    }
  }

  #setConnected(connected: boolean, detail: string): void {
    this.#detail = detail;
    if (connected === this.#connected) return;
    this.#connected = connected;
    if (connected) this.#logger.info({ queue: this.#names.queue }, 'RabbitMQ ready');
    else if (!this.#closed) this.#logger.warn({ detail }, 'RabbitMQ not ready');
  }
}
