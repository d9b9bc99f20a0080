import { setTimeout as sleep } from 'node:timers/promises';
import { SignalNotFoundError } from '../errors.ts';
import { isTerminal, type SignalRecord } from '../signal.ts';
import type { StatusStore } from '../status/store.ts';

type Waiter = (record: SignalRecord | undefined) => void;

/**
 * Callers waiting for signals to finish (`Prefer: wait=N`). The processor reports each finished
 * record here; with a shared store another instance may finish the signal, so the store is read
 * too, whichever answers first.
 */
export class Waiters {
  readonly #store: StatusStore;
  readonly #waiting = new Map<string, Set<Waiter>>();

  constructor(store: StatusStore) {
    this.#store = store;
  }

  /**
   * The record once the signal has completed or been dead-lettered, or undefined when `timeoutMs`
   * passes first.
   * @throws {SignalNotFoundError}
   */
  async waitFor(id: string, timeoutMs: number): Promise<SignalRecord | undefined> {
    const record = await this.#store.get(id);
    if (record === undefined) throw new SignalNotFoundError(id);
    if (isTerminal(record.state)) return record;
    if (timeoutMs <= 0) return undefined;
    const local = this.#local(id, timeoutMs);
    // It may have finished between the read above and the waiter's registration.
    const now = await this.#store.get(id);
    if (now !== undefined && isTerminal(now.state)) {
      local.cancel();
      return now;
    }
    if (!this.#store.shared) return local.found;
    const stop = new AbortController();
    const found = await Promise.race([local.found, this.#poll(id, timeoutMs, stop.signal)]);
    stop.abort();
    local.cancel();
    return found;
  }

  /** A signal reached a final state: its waiters get the record. */
  finished(record: SignalRecord): void {
    if (this.#waiting.size === 0) return;
    const waiters = this.#waiting.get(record.id);
    if (waiters === undefined) return;
    this.#waiting.delete(record.id);
    for (const w of waiters) w(record);
  }

  /** Answers every waiter with the signal's record as it is now (the system is stopping). */
  async releaseAll(): Promise<void> {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const [id, waiters] of waiting) {
      const record = await this.#store.get(id).catch(() => undefined);
      for (const w of waiters) w(record);
    }
  }

  /** A waiter for `id`, answered by `finished` or with undefined after `timeoutMs`; `cancel` ends it. */
  #local(id: string, timeoutMs: number): { found: Promise<SignalRecord | undefined>; cancel: () => void } {
    let cancel = (): void => {};
    const found = new Promise<SignalRecord | undefined>((resolve) => {
      const forget = () => {
        clearTimeout(timer);
        const waiters = this.#waiting.get(id);
        waiters?.delete(waiter);
        if (waiters?.size === 0) this.#waiting.delete(id);
      };
      const waiter: Waiter = (record) => {
        clearTimeout(timer);
        resolve(record);
      };
      const timer = setTimeout(() => {
        forget();
        resolve(undefined);
      }, timeoutMs);
      cancel = () => {
        forget();
        resolve(undefined);
      };
      let waiters = this.#waiting.get(id);
      if (waiters === undefined) {
        waiters = new Set();
        this.#waiting.set(id, waiters);
      }
      waiters.add(waiter);
    });
    return { found, cancel };
  }

  /** Reads a shared store, more and more slowly, until the signal is finished or time runs out. */
  async #poll(id: string, timeoutMs: number, stop: AbortSignal): Promise<SignalRecord | undefined> {
    const deadline = performance.now() + timeoutMs;
    let every = 5;
    while (performance.now() < deadline && !stop.aborted) {
      await sleep(Math.min(every, Math.max(1, deadline - performance.now())));
      every = Math.min(every * 2, 100);
      const record = await this.#store.get(id);
      if (record !== undefined && isTerminal(record.state)) return record;
    }
    return undefined;
  }
}
