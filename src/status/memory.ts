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
 * Status kept in this process. Records are mutated in place by the pipeline, so `update` costs
 * nothing here. The map's insertion order is acceptance order, which lets eviction and expiry
 * walk from the oldest end and stop early; records still in the pipeline are skipped (there are
 * at most buffer + in-flight of them), so memory stays bounded whatever the volume.
 */
export class MemoryStatusStore implements StatusStore {
  readonly #records = new Map<string, SignalRecord>();
  readonly #idempotency = new Map<string, string>();
  readonly #options: MemoryStatusStoreOptions;
  readonly #clock: Clock;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryStatusStoreOptions, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
    const every = options.sweepEveryMs ?? Math.min(60_000, Math.max(1_000, options.ttlMs / 10));
    this.#sweeper = setInterval(() => this.sweep(), every);
    this.#sweeper.unref();
  }

  async create(record: SignalRecord): Promise<void> {
    this.#records.set(record.id, record);
    if (this.#records.size > this.#options.maxEntries) this.#evictOne();
  }

  async get(id: string): Promise<SignalRecord | undefined> {
    return this.#records.get(id);
  }

  async update(_record: SignalRecord): Promise<void> {}

  async delete(id: string): Promise<void> {
    const record = this.#records.get(id);
    if (record !== undefined) this.#forget(record);
  }

  async claimIdempotencyKey(key: string, id: string): Promise<string | undefined> {
    const holder = this.#idempotency.get(key);
    if (holder !== undefined && this.#records.has(holder)) return holder;
    this.#idempotency.set(key, id);
    return undefined;
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    this.#idempotency.delete(key);
  }

  size(): number {
    return this.#records.size;
  }

  /** Forgets finished records older than the TTL. Runs on a timer; callable by tests. */
  sweep(): void {
    const cutoff = this.#clock.wallNow() - this.#options.ttlMs;
    for (const record of this.#records.values()) {
      // Accepted after the cutoff: so is every later record, none of which can have expired.
      if (record.acceptedAt > cutoff) break;
      if (isTerminal(record.state) && (record.finishedAt ?? 0) <= cutoff) this.#forget(record);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #evictOne(): void {
    for (const record of this.#records.values()) {
      if (isTerminal(record.state)) {
        this.#forget(record);
        return;
      }
    }
  }

  #forget(record: SignalRecord): void {
    this.#records.delete(record.id);
    if (record.idempotencyKey !== undefined) {
      if (this.#idempotency.get(record.idempotencyKey) === record.id) {
        this.#idempotency.delete(record.idempotencyKey);
      }
    }
  }
}
