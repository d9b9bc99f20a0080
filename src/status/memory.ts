import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { isTerminal, type SignalRecord } from '../signal.ts';
import { RecordArchive } from './archive.ts';
import type { StatusStore } from './store.ts';

export interface MemoryStatusStoreOptions {
  /**
   * Records kept at most, those in the pipeline counted: past it the oldest finished ones are
   * forgotten (records in the pipeline never are, so they alone may pass it).
   */
  readonly maxEntries: number;
  /** Milliseconds a finished record is kept after it finished. */
  readonly ttlMs: number;
  /** How often expired records are swept; defaults to a tenth of the TTL, between 1 s and 60 s. */
  readonly sweepEveryMs?: number;
}

/**
 * Status kept in this process. Records still in the pipeline are held in a Map until they finish,
 * whatever their number (at most the buffer plus what is in flight). Finished ones are packed into
 * a `RecordArchive` (typed arrays: ~115 bytes a record with its id table, against ~350 as heap objects; at the
 * default 100,000 records, the difference between the service's memory goal met and missed; see
 * BENCHMARKS.md's table of tricks); the rare finished record the archive cannot pack (an id that is
 * not a UUID, a count past 65,535) goes to an LRU cache read with `peek`. Finished records are
 * forgotten oldest first, when the count is past `maxEntries` or when older than the TTL. Records
 * are immutable, so what `get` returns is a snapshot.
 */
export class MemoryStatusStore implements StatusStore {
  readonly shared = false;
  readonly #active = new Map<string, SignalRecord>();
  readonly #archive: RecordArchive;
  readonly #unpacked: LRUCache<string, SignalRecord>;
  readonly #idempotency = new Map<string, string>();
  readonly #options: MemoryStatusStoreOptions;
  readonly #clock: Clock;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryStatusStoreOptions, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
    // Room for the records kept, the one over the limit before it is evicted, and some holes.
    this.#archive = new RecordArchive(
      1024,
      options.maxEntries + Math.max(64, Math.ceil(options.maxEntries / 64)),
    );
    this.#unpacked = new LRUCache<string, SignalRecord>({
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
        // A record moved elsewhere (back into the pipeline, into the archive) keeps its key.
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
    return this.#active.get(id) ?? this.#archive.get(id) ?? this.#unpacked.peek(id);
  }

  async update(record: SignalRecord): Promise<void> {
    // A record forgotten meanwhile (expired, evicted or deleted) stays so.
    if (this.#has(record.id)) this.#put(record);
  }

  /** Done at once, as every write here. A noted state is one of the pipeline's (`processing`). */
  note(record: SignalRecord): void {
    if (this.#active.has(record.id)) this.#active.set(record.id, record);
  }

  async delete(id: string): Promise<void> {
    const record = await this.get(id);
    if (record === undefined) return;
    this.#active.delete(id);
    const slot = this.#archive.find(id);
    if (slot >= 0) this.#archive.remove(slot);
    this.#unpacked.delete(id);
    this.#releaseKey(record.idempotencyKey, id);
  }

  async claimIdempotencyKey(key: string, id: string): Promise<string | undefined> {
    const holder = this.#idempotency.get(key);
    if (holder !== undefined && this.#has(holder)) return holder;
    this.#idempotency.set(key, id);
    return undefined;
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    this.#idempotency.delete(key);
  }

  size(): number {
    return this.#active.size + this.#archive.size + this.#unpacked.size;
  }

  /** Forgets finished records older than the TTL. Runs on a timer; callable by tests. */
  sweep(): void {
    const cutoff = this.#clock.wallNow() - this.#options.ttlMs;
    // The archive is in the order records finished: its expired ones are at its start.
    for (;;) {
      const finishedAt = this.#archive.oldestFinishedAt();
      if (finishedAt === undefined || finishedAt > cutoff) break;
      this.#evictOldestPacked();
    }
    this.#unpacked.purgeStale();
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #has(id: string): boolean {
    return this.#active.has(id) || this.#archive.has(id) || this.#unpacked.has(id);
  }

  /** Each record is in one place: `#active` while in the pipeline, else the archive or `#unpacked`. */
  #put(record: SignalRecord): void {
    const id = record.id;
    const finished = isTerminal(record.state);
    if (this.#active.has(id)) {
      // The common case, a step of the pipeline: one Map lookup.
      if (!finished) {
        this.#active.set(id, record);
        return;
      }
      this.#active.delete(id);
    } else {
      // New, or finished before (an update of a finished record, a retry by request).
      const slot = this.#archive.find(id);
      if (slot >= 0) {
        if (finished && this.#archive.replace(slot, record)) return;
        this.#archive.remove(slot);
      }
      this.#unpacked.delete(id);
      if (!finished) {
        this.#active.set(id, record);
        return;
      }
    }
    if (!this.#archive.add(record)) this.#unpacked.set(id, record);
    // The bound counts every record; only finished ones are forgotten to keep it.
    if (this.size() > this.#options.maxEntries) {
      if (this.#archive.size > 0) this.#evictOldestPacked();
      else this.#unpacked.pop();
    }
  }

  #evictOldestPacked(): void {
    const evicted = this.#archive.evictOldest();
    if (evicted !== undefined) this.#releaseKey(evicted.idempotencyKey, evicted.id);
  }

  #releaseKey(key: string | undefined, id: string): void {
    if (key !== undefined && this.#idempotency.get(key) === id) this.#idempotency.delete(key);
  }
}
