import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { KanbanFullError, QueueUnavailableError, withoutStack } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { NatsBroker } from '../nats/connection.ts';
import type { WorkSignal } from '../signal.ts';
import { decodeSignal, encodeSignal, messageIdOf, traceparentOf, withTraceContext } from './codec.ts';
import { HandOff } from './hand-off.ts';
import type { Delivery, KanbanQueue, NewWaitingOrder, QueueHealth } from './queue.ts';

export interface NatsQueueOptions {
  /** Prefix of every stream, subject and consumer name, so deployments (and tests) never mix. */
  readonly namespace: string;
  /** Most messages the work stream holds (waiting, retrying and in flight): the Kanban buffer. */
  readonly capacity: number;
  /** How long a delivery may go unacknowledged before redelivery; busy handlers extend it. */
  readonly ackWaitMs: number;
  /** The consumer's cap on unacknowledged deliveries over every instance. */
  readonly maxAckPending: number;
  readonly publishTimeoutMs: number;
  readonly maxMessageBytes: number;
  /** How long dead letters are kept. */
  readonly deadLetterMaxAgeMs: number;
  /** Which waiting delivery goes to a worker next (Heijunka's leveler). */
  readonly order: NewWaitingOrder;
}

interface NatsDelivery extends Delivery {
  readonly msg: JsMsg;
  /** When the server last heard from us about this delivery (received, or told "working"). */
  touchedAt: number;
}

const FETCH_EXPIRES_MS = 5_000;
const REFRESH_EVERY_MS = 500;
const NANOS_PER_MS = 1_000_000;
/** What a signal id must be to stand in a subject: one token, no wildcard. */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,200}$/;
/** JetStream's error code for a publish refused by `max_msgs` with the discard-new policy. */
const MAXIMUM_MESSAGES_EXCEEDED = 10077;
/** JetStream's error code for "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

export function natsNames(namespace: string) {
  return {
    stream: `${namespace}_signals`,
    subjects: `${namespace}.signals.>`,
    /** A signal's subject: its id first, so that it can be looked up by id alone. */
    subject: (signal: WorkSignal) => `${namespace}.signals.${signal.id}.${signal.type}`,
    /** Every subject a signal with this id is published on. */
    subjectsOf: (id: string) => `${namespace}.signals.${id}.>`,
    consumer: `${namespace}_workers`,
    dlqStream: `${namespace}_dlq`,
    dlqSubjects: `${namespace}.dlq.>`,
    dlqSubject: (id: string) => `${namespace}.dlq.${id}`,
  };
}

/**
 * The Kanban on NATS JetStream. A work-queue stream on disk holds the signals (bounded by
 * `capacity`, refusing new ones when full); one durable pull consumer is shared by every
 * instance, so JetStream spreads the work. Workers' pulls are served by fetches sized to the
 * cards they have free; a delivery stays ours until acked (removed), nak'ed (redelivered after
 * the backoff) or dead-lettered (copied to the dead-letter stream, then removed). Publishing is
 * de-duplicated by signal id. Handlers running longer than a third of the ack wait are reported
 * as "working" so JetStream does not redeliver them. Within one fetch deliveries come out highest
 * priority first; across the backlog the stream is first in, first out.
 */
export class NatsQueue implements KanbanQueue {
  readonly backend = 'nats';
  readonly capacity: number;
  readonly #broker: NatsBroker;
  readonly #logger: Logger;
  readonly #options: NatsQueueOptions;
  readonly #names: ReturnType<typeof natsNames>;
  readonly #ready: HandOff<NatsDelivery>;
  readonly #fetches = new Set<ConsumerMessages>();
  readonly #held = new Set<NatsDelivery>();
  /** Acknowledgements waiting for the end of this turn of the event loop (see #ackSoon). */
  #acks: JsMsg[] = [];
  #consumer: Consumer | undefined;
  /** Messages asked for in open fetches and not received yet. */
  #requested = 0;
  #depth = 0;
  #dlqDepth = 0;
  #ackPending = 0;
  #stalled = false;
  #closed = true;
  #timers: NodeJS.Timeout[] = [];
  #unsubscribe: (() => void) | undefined;

  constructor(broker: NatsBroker, options: NatsQueueOptions, logger: Logger) {
    this.#broker = broker;
    this.#options = options;
    this.#logger = logger;
    this.capacity = options.capacity;
    this.#names = natsNames(options.namespace);
    // Fetched messages go to waiting workers at once: serving them once per event-loop turn, as
    // the embedded queue does, measured no faster here (BENCHMARKS.md, the table of tricks).
    this.#ready = new HandOff<NatsDelivery>({
      order: options.order<NatsDelivery>(),
      onWait: () => this.#topUp(),
    });
  }

  async start(): Promise<void> {
    this.#closed = false;
    this.#ready.open();
    await this.#broker.whenReady((js, jsm) => this.#declare(js, jsm));
    this.#unsubscribe = this.#broker.onReadiness((ready) => {
      if (ready) this.#topUp();
    });
    const refresh = setInterval(() => void this.#refresh(), REFRESH_EVERY_MS);
    const heartbeat = setInterval(() => this.#heartbeat(), Math.max(100, this.#options.ackWaitMs / 3));
    refresh.unref();
    heartbeat.unref();
    this.#timers = [refresh, heartbeat];
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Acknowledgements still waiting for the end of the turn go out now, before the connection.
    this.#flushAcks();
    for (const t of this.#timers) clearInterval(t);
    this.#unsubscribe?.();
    this.#ready.close();
    for (const f of this.#fetches) f.stop();
    // Hand back what was fetched but never given to a worker, so another instance takes it now.
    for (const d of this.#ready.drain()) {
      this.#held.delete(d);
      d.msg.nak();
    }
  }

  async publish(signal: WorkSignal): Promise<void> {
    const publisher = this.#broker.publisher;
    if (publisher === undefined) {
      throw withoutStack(() => new QueueUnavailableError(`NATS: ${this.#broker.detail}`));
    }
    const h = headers();
    h.set('Nats-Msg-Id', messageIdOf(signal));
    h.set('traceparent', traceparentOf(signal));
    try {
      await publisher.publish(this.#names.subject(signal), encodeSignal(signal), h);
    } catch (error) {
      if ((error as { code?: unknown }).code === MAXIMUM_MESSAGES_EXCEEDED) {
        this.#depth = this.capacity;
        throw withoutStack(() => new KanbanFullError(this.capacity, 1000));
      }
      throw new QueueUnavailableError(`NATS publish failed: ${(error as Error).message}`, 2000, {
        cause: error,
      });
    }
    this.#depth++;
  }

  /**
   * The signal with this id while it is in the stream (published, not yet acked), or undefined.
   * Any instance can ask: the stream, not this process, is read. Undefined for an id that is not
   * a plain token (letters, digits, `-`, `_`), which no signal of ours has.
   * @throws when NATS is unreachable.
   */
  async find(id: string): Promise<WorkSignal | undefined> {
    if (!SUBJECT_TOKEN.test(id)) return undefined;
    const jsm = this.#broker.jsm;
    if (jsm === undefined) throw new QueueUnavailableError(`NATS: ${this.#broker.detail}`);
    const m = await jsm.streams.getMessage(this.#names.stream, { last_by_subj: this.#names.subjectsOf(id) });
    if (m === null) return undefined;
    const signal = decodeSignal(m.data);
    return signal?.id === id ? withTraceContext(signal, m.header?.get('traceparent')) : undefined;
  }

  pull(max: number, abort: AbortSignal, rank?: number): Promise<Delivery[]> {
    return this.#ready.pull(max, abort, rank);
  }

  async ack(delivery: Delivery): Promise<void> {
    const d = delivery as NatsDelivery;
    this.#held.delete(d);
    this.#ready.settled(d);
    this.#ackSoon(d.msg);
    if (this.#depth > 0) this.#depth--;
  }

  /**
   * Acknowledges at the end of this turn of the event loop, together with every other signal
   * finished in it: the client then writes them to the socket at once instead of one write each.
   * An ack was never confirmed by the server (JetStream redelivers after the ack wait when one is
   * lost), so deferring it by a turn changes nothing in what is guaranteed.
   */
  #ackSoon(msg: JsMsg): void {
    this.#acks.push(msg);
    if (this.#acks.length === 1) setImmediate(this.#flushAcks);
  }

  readonly #flushAcks = (): void => {
    const acks = this.#acks;
    this.#acks = [];
    for (const msg of acks) msg.ack();
  };

  async nak(delivery: Delivery, delayMs: number): Promise<void> {
    const d = delivery as NatsDelivery;
    this.#held.delete(d);
    this.#ready.settled(d);
    d.msg.nak(Math.max(0, Math.round(delayMs)));
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const d = delivery as NatsDelivery;
    await this.#copyToDeadLetters(d.msg, d.signal.id, reason, delivery.attempt);
    this.#held.delete(d);
    this.#ready.settled(d);
    d.msg.ack();
    if (this.#depth > 0) this.#depth--;
    this.#dlqDepth++;
  }

  async removeDeadLetter(signalId: string): Promise<boolean> {
    const jsm = this.#broker.jsm;
    if (jsm === undefined) return false;
    const r = await jsm.streams.purge(this.#names.dlqStream, { filter: this.#names.dlqSubject(signalId) });
    if (r.purged > 0 && this.#dlqDepth > 0) this.#dlqDepth = Math.max(0, this.#dlqDepth - r.purged);
    return r.purged > 0;
  }

  depth(): number {
    return this.#depth;
  }

  dlqDepth(): number {
    return this.#dlqDepth;
  }

  health(): QueueHealth {
    if (!this.#broker.ready) return { healthy: false, detail: this.#broker.detail };
    if (this.#stalled) {
      return {
        healthy: true,
        detail: `delivery stalled: ${this.#ackPending} unacknowledged reach max_ack_pending ${this.#options.maxAckPending}`,
      };
    }
    return { healthy: true, detail: `${this.#broker.detail}; stream ${this.#names.stream}` };
  }

  async #declare(js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    const o = this.#options;
    const n = this.#names;
    await this.#ensureStream(jsm, {
      name: n.stream,
      subjects: [n.subjects],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_msgs: o.capacity,
      discard: DiscardPolicy.New,
      duplicate_window: 120_000 * NANOS_PER_MS,
      max_msg_size: o.maxMessageBytes,
      num_replicas: 1,
    });
    await this.#ensureStream(jsm, {
      name: n.dlqStream,
      subjects: [n.dlqSubjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: o.deadLetterMaxAgeMs * NANOS_PER_MS,
      num_replicas: 1,
    });
    const consumer = {
      durable_name: n.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: o.ackWaitMs * NANOS_PER_MS,
      max_ack_pending: o.maxAckPending,
      // Attempts are counted and dead-lettered by the system, not dropped by the server.
      max_deliver: -1,
      max_waiting: 4096,
    };
    try {
      await jsm.consumers.add(n.stream, consumer);
    } catch {
      await jsm.consumers.update(n.stream, n.consumer, consumer);
    }
    this.#consumer = await js.consumers.get(n.stream, n.consumer);
    this.#logger.info(
      { stream: n.stream, consumer: n.consumer, capacity: o.capacity, max_ack_pending: o.maxAckPending },
      'NATS Kanban declared',
    );
  }

  async #ensureStream(
    jsm: JetStreamManager,
    config: Parameters<JetStreamManager['streams']['add']>[0],
  ): Promise<void> {
    try {
      await jsm.streams.add(config);
    } catch (error) {
      if ((error as { code?: unknown }).code !== STREAM_NAME_IN_USE) throw error;
      const { name, retention: _retention, storage: _storage, ...mutable } = config;
      await jsm.streams.update(name, mutable);
    }
  }

  /** Starts fetches for the cards waiting workers have free and no fetch already covers. */
  #topUp(): void {
    const consumer = this.#consumer;
    if (this.#closed || consumer === undefined || !this.#broker.ready) return;
    const want = this.#ready.wanted - this.#ready.size - this.#requested;
    if (want <= 0) return;
    this.#requested += want;
    void this.#fetch(consumer, want);
  }

  async #fetch(consumer: Consumer, count: number): Promise<void> {
    let received = 0;
    let messages: ConsumerMessages | undefined;
    try {
      messages = await consumer.fetch({ max_messages: count, expires: FETCH_EXPIRES_MS });
      this.#fetches.add(messages);
      for await (const m of messages) {
        received++;
        this.#requested--;
        this.#receive(m);
      }
    } catch (error) {
      if (!this.#closed) this.#logger.debug({ err: error }, 'NATS fetch ended with an error');
    } finally {
      if (messages !== undefined) this.#fetches.delete(messages);
      this.#requested -= count - received;
    }
    if (this.#ready.waiting) this.#topUp();
  }

  #receive(m: JsMsg): void {
    const decoded = decodeSignal(m.data);
    if (decoded === undefined) {
      void this.#copyToDeadLetters(m, `seq-${m.seq}`, 'not a signal: cannot decode', m.info.deliveryCount)
        .then(() => m.ack())
        .catch((error: unknown) => {
          this.#logger.error({ err: error }, 'could not dead-letter an undecodable message');
          m.nak(1000);
        });
      return;
    }
    const signal = withTraceContext(decoded, m.headers?.get('traceparent'));
    const d: NatsDelivery = { signal, attempt: m.info.deliveryCount, msg: m, touchedAt: performance.now() };
    this.#held.add(d);
    this.#ready.offer(d);
  }

  async #copyToDeadLetters(m: JsMsg, id: string, reason: string, attempts: number): Promise<void> {
    const js = this.#broker.js;
    if (js === undefined) throw new QueueUnavailableError(`NATS: ${this.#broker.detail}`);
    const h = headers();
    for (const [k, v] of m.headers ?? []) for (const value of v) h.append(k, value);
    h.set('tps-dead-letter-reason', reason.slice(0, 1000));
    h.set('tps-attempts', String(attempts));
    h.set('tps-original-subject', m.subject);
    await js.publish(this.#names.dlqSubject(id), m.data, {
      headers: h,
      timeout: this.#options.publishTimeoutMs,
    });
  }

  /** Keeps long-running deliveries (and ones waiting locally for a worker) from redelivery. */
  #heartbeat(): void {
    const now = performance.now();
    const every = this.#options.ackWaitMs / 3;
    for (const d of this.#held) {
      if (now - d.touchedAt >= every) {
        d.msg.working();
        d.touchedAt = now;
      }
    }
  }

  async #refresh(): Promise<void> {
    const jsm = this.#broker.jsm;
    if (jsm === undefined || this.#closed) return;
    try {
      const [dlq, consumer] = await Promise.all([
        jsm.streams.info(this.#names.dlqStream),
        jsm.consumers.info(this.#names.stream, this.#names.consumer),
      ]);
      // Not yet delivered, plus delivered and not settled (in work or waiting for a retry): all
      // that the work-queue stream holds, which is what its max_msgs bounds.
      this.#depth = consumer.num_pending + consumer.num_ack_pending;
      this.#dlqDepth = dlq.state.messages;
      this.#ackPending = consumer.num_ack_pending;
      const stalled = consumer.num_ack_pending >= this.#options.maxAckPending;
      if (stalled && !this.#stalled) {
        this.#logger.warn(
          { num_ack_pending: consumer.num_ack_pending, max_ack_pending: this.#options.maxAckPending },
          'NATS consumer at max_ack_pending: JetStream delivers nothing more until deliveries are acked',
        );
      }
      this.#stalled = stalled;
    } catch (error) {
      this.#logger.debug({ err: error }, 'NATS stream info failed');
    }
  }
}
