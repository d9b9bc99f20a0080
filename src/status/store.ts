import type { SignalRecord } from '../signal.ts';

/**
 * Where signal status lives. Records of signals still in the pipeline are never evicted;
 * finished ones are kept for a bounded time and number. Records are immutable: `update` replaces
 * the stored one with a newer record of the same signal, and `get` hands out a snapshot.
 */
export interface StatusStore {
  /** True when other instances read and write the same records (so they may finish a signal). */
  readonly shared: boolean;
  /** Prepares the store (declares buckets…); the system calls it once before use. */
  start?(): Promise<void>;
  create(record: SignalRecord): Promise<void>;
  get(id: string): Promise<SignalRecord | undefined>;
  /** Stores a newer record of a signal; durable once the promise resolves. */
  update(record: SignalRecord): Promise<void>;
  /**
   * Records a passing state without waiting for it to be stored. Only for states a later `update`
   * supersedes, whose loss is harmless ("processing").
   */
  note(record: SignalRecord): void;
  /** Forgets a record (used when a signal could not be enqueued after all). */
  delete(id: string): Promise<void>;
  /**
   * Claims an idempotency key for `id`. Returns the id that already holds the key, or undefined
   * when the claim succeeded. Atomic: two concurrent claims never both succeed.
   */
  claimIdempotencyKey(key: string, id: string): Promise<string | undefined>;
  releaseIdempotencyKey(key: string): Promise<void>;
  size(): number;
  close(): Promise<void>;
}
