import Denque from 'denque';
import type { Clock } from '../clock.ts';
import type { Completion } from '../completion.ts';
import { isTerminal, type SignalRecord } from '../signal.ts';
import { RecordArchive } from './archive.ts';
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
 * Status kept in this process. A record in the pipeline is an object the pipeline mutates in place,
 * so `update` costs nothing for it. Once finished it is packed into a `RecordArchive` (typed arrays,
 * ~115 bytes instead of ~380 of heap) and read back as a new object on `get`; an `update` of such a
 * copy is written back (and unpacks it when it is no longer finished: a manual retry). Finished
 * records are forgotten oldest first, from the archive in the order they finished.
 *
 * Records kept as objects (in the pipeline, or finished but not packable) are also held in a FIFO,
 * oldest first: eviction and expiry pop from it in O(1) (walking a Map from its oldest end would
 * step over every deleted entry it still holds). A record still in the pipeline is put back at the
 * end instead of being forgotten; there are at most buffer + in-flight of them, so memory stays
 * bounded whatever the volume.
 */
export class MemoryStatusStore implements StatusStore {
  readonly shared = false;
  readonly #records = new Map<string, SignalRecord>();
  readonly #order = new Denque<SignalRecord>();
  readonly #archive: RecordArchive;
  /** Entries of `#order` whose record was deleted; compacted away once they are half of it. */
  #dead = 0;
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
    const every = options.sweepEveryMs ?? Math.min(60_000, Math.max(1_000, options.ttlMs / 10));
    this.#sweeper = setInterval(() => this.sweep(), every);
    this.#sweeper.unref();
  }

  /** Done at once: returns undefined. */
  create(record: SignalRecord): Completion {
    if (this.#archive.has(record.id)) return this.update(record);
    if (!(isTerminal(record.state) && this.#archive.add(record))) {
      this.#records.set(record.id, record);
      this.#order.push(record);
    }
    if (this.size() > this.#options.maxEntries) this.#evictOne();
    return undefined;
  }

  get(id: string): SignalRecord | undefined {
    return this.#records.get(id) ?? this.#archive.get(id);
  }

  /** Done at once: returns undefined. */
  update(record: SignalRecord): Completion {
    const held = this.#records.get(record.id);
    if (held === record) {
      // The pipeline's own object: already up to date; packed once finished.
      if (isTerminal(record.state) && this.#archive.add(record)) {
        this.#records.delete(record.id);
        this.#deadEntry();
      }
      return undefined;
    }
    const slot = this.#archive.find(record.id);
    if (slot >= 0) {
      // A copy read from the archive: written back, or unpacked when no longer finished.
      if (isTerminal(record.state) && this.#archive.replace(slot, record)) return undefined;
      this.#archive.remove(slot);
      this.#records.set(record.id, record);
      this.#order.push(record);
      return undefined;
    }
    if (held !== undefined) {
      // Another object for a record held as an object: the later write wins.
      this.#records.set(record.id, record);
      this.#order.push(record);
      this.#deadEntry();
    }
    // Neither: the record was forgotten (expired, evicted or deleted) and stays so.
    return undefined;
  }

  note(_record: SignalRecord): void {}

  async delete(id: string): Promise<void> {
    const record = this.#records.get(id);
    if (record === undefined) {
      const slot = this.#archive.find(id);
      if (slot >= 0) this.#releaseKey(this.#archive.remove(slot), id);
      return;
    }
    this.#forget(record);
    this.#deadEntry();
  }

  async claimIdempotencyKey(key: string, id: string): Promise<string | undefined> {
    const holder = this.#idempotency.get(key);
    if (holder !== undefined && (this.#records.has(holder) || this.#archive.has(holder))) return holder;
    this.#idempotency.set(key, id);
    return undefined;
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    this.#idempotency.delete(key);
  }

  size(): number {
    return this.#records.size + this.#archive.size;
  }

  /** Forgets finished records older than the TTL. Runs on a timer; callable by tests. */
  sweep(): void {
    const cutoff = this.#clock.wallNow() - this.#options.ttlMs;
    // The archive is in the order records finished: its expired ones are at its start.
    for (;;) {
      const finishedAt = this.#archive.oldestFinishedAt();
      if (finishedAt === undefined || finishedAt > cutoff) break;
      this.#forgetOldestPacked();
    }
    // Each record is looked at most once per sweep, so records put back cannot loop forever.
    for (let n = this.#order.length; n > 0; n--) {
      const record = this.#order.peekFront() as SignalRecord;
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

  #forgetOldestPacked(): void {
    const evicted = this.#archive.evictOldest();
    if (evicted !== undefined) this.#releaseKey(evicted.idempotencyKey, evicted.id);
  }

  /** Counts an entry of `#order` whose record is no longer the one held; compacts when they abound. */
  #deadEntry(): void {
    this.#dead++;
    if (this.#dead > 1024 && this.#dead * 2 > this.#order.length) this.#compact();
  }

  #releaseKey(key: string | undefined, id: string): void {
    if (key !== undefined && this.#idempotency.get(key) === id) this.#idempotency.delete(key);
  }

  #evictOne(): void {
    if (this.#archive.size > 0) {
      this.#forgetOldestPacked();
      return;
    }
    for (let n = this.#order.length; n > 0; n--) {
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
    for (let n = this.#order.length; n > 0; n--) {
      const record = this.#order.shift() as SignalRecord;
      if (this.#records.get(record.id) === record) this.#order.push(record);
    }
    this.#dead = 0;
  }

  #forget(record: SignalRecord): void {
    this.#records.delete(record.id);
    this.#releaseKey(record.idempotencyKey, record.id);
  }
}
