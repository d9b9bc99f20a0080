import { createHash } from 'node:crypto';
import { type KV, Kvm } from '@nats-io/kv';
import type { Logger } from '../logger.ts';
import type { NatsBroker } from '../nats/connection.ts';
import { newRecord, type SignalRecord, type WorkSignal } from '../signal.ts';
import type { StatusStore } from './store.ts';

export interface NatsKvStatusStoreOptions {
  readonly namespace: string;
  /** How long a record is kept after its last change. */
  readonly ttlMs: number;
  /**
   * Set when the Kanban is a stream on the same NATS, where any instance can look a waiting signal
   * up by id. A new signal then gets no record until it is processed (one acknowledged KV write
   * less per signal), and a read that finds no record asks the stream: a signal still there is
   * reported `queued`.
   */
  readonly queued?: QueuedLookup;
}

export interface QueuedLookup {
  /** The signal while it waits in the stream (or is being processed), else undefined. */
  find(id: string): Promise<WorkSignal | undefined>;
  /** Attempts a signal gets (TPS_MAX_ATTEMPTS), for the record built from a waiting signal. */
  readonly maxAttempts: number;
}

const encoder = new TextEncoder();
/** What NATS KV accepts as a key. */
const KV_KEY = /^[-/_=a-zA-Z0-9]+(?:\.[-/_=a-zA-Z0-9]+)*$/;

function encode(record: SignalRecord): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

/** KV keys allow only [-/_=.a-zA-Z0-9]: an idempotency key may hold anything visible, so hash it. */
function idempotencyKeyOf(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

/**
 * Signal status in two NATS KV buckets, shared by every instance on the same server: one record
 * per signal (kept `ttlMs` after its last change) and the idempotency keys (claimed atomically
 * with KV create). Records are written as they change; the next read sees the last write. With a
 * `queued` lookup, a signal's first record is written when it is processed (see the option).
 */
export class NatsKvStatusStore implements StatusStore {
  readonly shared = true;
  readonly #broker: NatsBroker;
  readonly #options: NatsKvStatusStoreOptions;
  readonly #logger: Logger;
  #records: KV | undefined;
  #keys: KV | undefined;
  #size = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(broker: NatsBroker, options: NatsKvStatusStoreOptions, logger: Logger) {
    this.#broker = broker;
    this.#options = options;
    this.#logger = logger;
  }

  /** Declares the buckets on every (re)connection. Call before the broker starts. */
  async start(): Promise<void> {
    await this.#broker.whenReady(async (_js, _jsm, nc) => {
      const kvm = new Kvm(nc);
      const opts = { history: 1, ttl: this.#options.ttlMs, storage: 'file' as const };
      this.#records = await kvm.create(`${this.#options.namespace}_status`, opts);
      this.#keys = await kvm.create(`${this.#options.namespace}_idempotency`, opts);
    });
    this.#timer = setInterval(() => void this.#refreshSize(), 2_000);
    this.#timer.unref();
  }

  async create(record: SignalRecord): Promise<void> {
    // The stream holds the new signal, and the worker writes its outcome before it acks it.
    if (this.#options.queued !== undefined && record.state === 'queued' && record.attempts === 0) return;
    await this.#put(record);
  }

  async get(id: string): Promise<SignalRecord | undefined> {
    const record = await this.#read(id);
    const queued = this.#options.queued;
    if (record !== undefined || queued === undefined) return record;
    const signal = await queued.find(id);
    if (signal !== undefined) return newRecord(signal, queued.maxAttempts);
    // Not in the stream either: it may have finished meanwhile (its outcome is written before the
    // ack takes it out of the stream), so read once more.
    return this.#read(id);
  }

  async update(record: SignalRecord): Promise<void> {
    await this.#put(record);
  }

  /**
   * A KV put is a publish to `$KV.<bucket>.<key>`; this one does not ask for JetStream's
   * acknowledgement, which makes it a fraction of the cost. Writes of one record leave on one
   * connection in order, so the later, acknowledged update still wins.
   */
  note(record: SignalRecord): void {
    const nc = this.#broker.connection;
    if (!this.#broker.ready || nc === undefined) return;
    nc.publish(this.#subject(record.id), encode(record));
  }

  async delete(id: string): Promise<void> {
    await this.#bucket().purge(id);
  }

  async claimIdempotencyKey(key: string, id: string): Promise<string | undefined> {
    const kv = this.#keysBucket();
    const k = idempotencyKeyOf(key);
    try {
      await kv.create(k, id);
      return undefined;
    } catch {
      const holder = await kv.get(k);
      if (holder === null || holder.operation !== 'PUT') {
        // Deleted meanwhile: claim again by overwriting the delete marker.
        await kv.put(k, id);
        return undefined;
      }
      return holder.string();
    }
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.#keysBucket().purge(idempotencyKeyOf(key));
  }

  async #read(id: string): Promise<SignalRecord | undefined> {
    // Not a KV key, so no record has it (the bucket would refuse the read).
    if (!KV_KEY.test(id)) return undefined;
    const entry = await this.#bucket().get(id);
    if (entry === null || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    return entry.json<SignalRecord>();
  }

  /** Records in the bucket as of the last refresh (every 2 s). */
  size(): number {
    return this.#size;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** A KV put: a JetStream publish to the record's key subject, through the lean publisher. */
  async #put(record: SignalRecord): Promise<void> {
    const publisher = this.#broker.publisher;
    if (publisher === undefined) throw new Error(`status store: NATS ${this.#broker.detail}`);
    await publisher.publish(this.#subject(record.id), encode(record));
  }

  #subject(id: string): string {
    return `$KV.${this.#options.namespace}_status.${id}`;
  }

  #bucket(): KV {
    if (this.#records === undefined || !this.#broker.ready)
      throw new Error(`status store: NATS ${this.#broker.detail}`);
    return this.#records;
  }

  #keysBucket(): KV {
    if (this.#keys === undefined || !this.#broker.ready)
      throw new Error(`status store: NATS ${this.#broker.detail}`);
    return this.#keys;
  }

  async #refreshSize(): Promise<void> {
    if (this.#records === undefined || !this.#broker.ready) return;
    try {
      this.#size = (await this.#records.status()).values;
    } catch (error) {
      this.#logger.debug({ err: error }, 'KV status failed');
    }
  }
}
