import type { Clock } from '../clock.ts';
import { Ring } from '../kanban/ring.ts';
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
 * nothing here. Besides the lookup map, a FIFO holds every record oldest first: eviction and
 * expiry pop from it in O(1) (walking a Map from its oldest end would step over every deleted
 * entry it still holds). A record still in the pipeline is put back at the end instead of being
 * forgotten; there are at most buffer + in-flight of them, so memory stays bounded whatever the
 * volume.
 */
export class MemoryStatusStore implements StatusStore {
  readonly shared = false;
  readonly #records = new Map<string, SignalRecord>();
  readonly #order = new Ring<SignalRecord>(1024);
  /** Entries of `#order` whose record was deleted; compacted away once they are half of it. */
  #dead = 0;
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
    this.#order.push(record);
    if (this.#records.size > this.#options.maxEntries) this.#evictOne();
  }

  async get(id: string): Promise<SignalRecord | undefined> {
    return this.#records.get(id);
  }

  async update(_record: SignalRecord): Promise<void> {}

  note(_record: SignalRecord): void {}

  async delete(id: string): Promise<void> {
    const record = this.#records.get(id);
    if (record === undefined) return;
    this.#forget(record);
    this.#dead++;
    if (this.#dead > 1024 && this.#dead * 2 > this.#order.size) this.#compact();
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
    // Each record is looked at most once per sweep, so records put back cannot loop forever.
    for (let n = this.#order.size; n > 0; n--) {
      const record = this.#order.peek() as SignalRecord;
      // Accepted after the cutoff: so is nearly every later record; the rest wait for a later sweep.
      if (record.acceptedAt > cutoff) break;
      this.#order.shift();
      if (this.#isDead(record)) continue;
      if (isTerminal(record.state) && (record.finishedAt ?? 0) <= cutoff) this.#forget(record);
      else this.#order.push(record);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #evictOne(): void {
    for (let n = this.#order.size; n > 0; n--) {
      const record = this.#order.shift() as SignalRecord;
      if (this.#isDead(record)) continue;
      if (isTerminal(record.state)) {
        this.#forget(record);
        return;
      }
      this.#order.push(record);
    }
  }

  /** True (and counted off) when `record`, just taken from `#order`, was deleted. */
  #isDead(record: SignalRecord): boolean {
    if (this.#records.get(record.id) === record) return false;
    this.#dead--;
    return true;
  }

  #compact(): void {
    for (let n = this.#order.size; n > 0; n--) {
      const record = this.#order.shift() as SignalRecord;
      if (this.#records.get(record.id) === record) this.#order.push(record);
    }
    this.#dead = 0;
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
