import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { isTerminal, type SignalRecord } from '../signal.ts';
import type { StatusStore } from './store.ts';

export interface MemoryStatusStoreOptions {
  /** Finished records kept at most; the oldest finished ones go first. */
  readonly maxEntries: number;
  /** Milliseconds a finished record is kept after it finished. */
  readonly ttlMs: number;
  /** How often expired records are swept; defaults to a tenth of the TTL, between 1 s and 60 s. */
  readonly sweepEveryMs?: number;
}

/**
 * Status kept in this process. Records still in the pipeline are held until they finish, whatever
 * their number (at most the buffer plus what is in flight); finished ones go to an LRU cache
 * bounded by age, and by count so that all records together stay within `maxEntries`. They are read
 * with `peek`, which leaves their place in the cache alone, so the oldest finished go first.
 * Records are immutable, so what `get` returns is a snapshot.
 */
export class MemoryStatusStore implements StatusStore {
  readonly shared = false;
  readonly #active = new Map<string, SignalRecord>();
  readonly #finished: LRUCache<string, SignalRecord>;
  readonly #idempotency = new Map<string, string>();
  readonly #maxEntries: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryStatusStoreOptions, clock: Clock) {
    this.#maxEntries = options.maxEntries;
    this.#finished = new LRUCache<string, SignalRecord>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Ages count from when a record finished, on the system's clock (fake in tests), read anew
      // each time (the default caches it for a millisecond with a timer of its own).
      perf: { now: () => clock.wallNow() },
      ttlResolution: 0,
      updateAgeOnGet: false,
      // Writing a finished record again (its update) is no disposal of the signal.
      noDisposeOnSet: true,
      dispose: (record, id, reason) => {
        // A record moved back into the pipeline (a manual retry) keeps its key.
        if (reason !== 'delete') this.#releaseKey(record.idempotencyKey, id);
      },
    });
    const every = options.sweepEveryMs ?? Math.min(60_000, Math.max(1_000, options.ttlMs / 10));
    this.#sweeper = setInterval(() => this.sweep(), every);
    this.#sweeper.unref();
  }

  async create(record: SignalRecord): Promise<void> {
    this.#put(record);
  }

  async get(id: string): Promise<SignalRecord | undefined> {
    return this.#active.get(id) ?? this.#finished.peek(id);
  }

  async update(record: SignalRecord): Promise<void> {
    // A record forgotten meanwhile (expired, evicted or deleted) stays so.
    if (this.#active.has(record.id) || this.#finished.has(record.id)) this.#put(record);
  }

  /** Done at once, as every write here. */
  note(record: SignalRecord): void {
    if (this.#active.has(record.id)) this.#put(record);
  }

  async delete(id: string): Promise<void> {
    const record = this.#active.get(id) ?? this.#finished.peek(id);
    if (record === undefined) return;
    this.#active.delete(id);
    this.#finished.delete(id);
    this.#releaseKey(record.idempotencyKey, id);
  }

  async claimIdempotencyKey(key: string, id: string): Promise<string | undefined> {
    const holder = this.#idempotency.get(key);
    if (holder !== undefined && (this.#active.has(holder) || this.#finished.has(holder))) return holder;
    this.#idempotency.set(key, id);
    return undefined;
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    this.#idempotency.delete(key);
  }

  size(): number {
    return this.#active.size + this.#finished.size;
  }

  /** Forgets finished records older than the TTL. Runs on a timer; callable by tests. */
  sweep(): void {
    this.#finished.purgeStale();
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #put(record: SignalRecord): void {
    if (isTerminal(record.state)) {
      this.#active.delete(record.id);
      this.#finished.set(record.id, record);
      // The bound counts every record; only finished ones are forgotten to keep it.
      if (this.size() > this.#maxEntries) this.#finished.pop();
    } else {
      this.#finished.delete(record.id);
      this.#active.set(record.id, record);
    }
  }

  #releaseKey(key: string | undefined, id: string): void {
    if (key !== undefined && this.#idempotency.get(key) === id) this.#idempotency.delete(key);
  }
}
