import { KanbanFullError, withoutStack } from '../errors.ts';
import type { WorkSignal } from '../signal.ts';
import type { Delivery, KanbanQueue, QueueHealth } from './queue.ts';
import { Ring } from './ring.ts';

interface Waiter {
  readonly max: number;
  readonly resolve: (deliveries: Delivery[]) => void;
  readonly abort: AbortSignal;
  readonly onAbort: () => void;
}

export interface MemoryQueueOptions {
  readonly capacity: number;
  /** Dead letters kept; past it the oldest is forgotten (its status record remains). */
  readonly deadLetterCapacity?: number;
}

const NO_DELIVERIES: Delivery[] = [];

/**
 * The embedded Kanban: four priority lanes (1 first), FIFO within a lane, bounded by
 * `capacity`. Lives in this process only: nothing survives a crash, which is why shutdown drains
 * it before exiting.
 */
export class MemoryQueue implements KanbanQueue {
  readonly backend = 'memory';
  readonly capacity: number;
  readonly #lanes: [Ring<Delivery>, Ring<Delivery>, Ring<Delivery>, Ring<Delivery>] = [
    new Ring(),
    new Ring(),
    new Ring(),
    new Ring(),
  ];
  readonly #waiters = new Ring<Waiter>();
  readonly #delayed = new Set<NodeJS.Timeout>();
  readonly #deadLetters = new Map<string, Delivery>();
  readonly #deadLetterCapacity: number;
  #ready = 0;
  #closed = false;

  constructor(options: MemoryQueueOptions) {
    this.capacity = options.capacity;
    this.#deadLetterCapacity = options.deadLetterCapacity ?? 10_000;
  }

  async start(): Promise<void> {
    this.#closed = false;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#delayed) clearTimeout(timer);
    this.#delayed.clear();
    for (let w = this.#waiters.shift(); w !== undefined; w = this.#waiters.shift()) {
      w.abort.removeEventListener('abort', w.onAbort);
      w.resolve(NO_DELIVERIES);
    }
  }

  async publish(signal: WorkSignal): Promise<void> {
    if (this.depth() >= this.capacity) throw withoutStack(() => new KanbanFullError(this.capacity, 1000));
    this.#enqueue({ signal, attempt: 1 });
  }

  pull(max: number, abort: AbortSignal): Promise<Delivery[]> {
    if (this.#closed || abort.aborted) return Promise.resolve(NO_DELIVERIES);
    if (this.#ready > 0) return Promise.resolve(this.#take(max));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        max,
        resolve,
        abort,
        onAbort: () => {
          // Lazily removed: an aborted waiter left in the ring is skipped when reached.
          resolve(NO_DELIVERIES);
        },
      };
      abort.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  async ack(_delivery: Delivery): Promise<void> {}

  async nak(delivery: Delivery, delayMs: number): Promise<void> {
    const next: Delivery = { signal: delivery.signal, attempt: delivery.attempt + 1 };
    if (delayMs <= 0 || this.#closed) {
      this.#enqueue(next);
      return;
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      this.#enqueue(next);
    }, delayMs);
    this.#delayed.add(timer);
  }

  async deadLetter(delivery: Delivery, _reason: string): Promise<void> {
    this.#deadLetters.set(delivery.signal.id, delivery);
    if (this.#deadLetters.size > this.#deadLetterCapacity) {
      const oldest = this.#deadLetters.keys().next().value;
      if (oldest !== undefined) this.#deadLetters.delete(oldest);
    }
  }

  async removeDeadLetter(signalId: string): Promise<boolean> {
    return this.#deadLetters.delete(signalId);
  }

  depth(): number {
    return this.#ready + this.#delayed.size;
  }

  dlqDepth(): number {
    return this.#deadLetters.size;
  }

  health(): QueueHealth {
    return this.#closed ? { healthy: false, detail: 'closed' } : { healthy: true, detail: 'embedded queue' };
  }

  #enqueue(delivery: Delivery): void {
    // Hand straight to a waiting worker when there is one.
    for (let w = this.#waiters.shift(); w !== undefined; w = this.#waiters.shift()) {
      if (w.abort.aborted) continue;
      w.abort.removeEventListener('abort', w.onAbort);
      w.resolve([delivery]);
      return;
    }
    (this.#lanes[delivery.signal.priority - 1] as Ring<Delivery>).push(delivery);
    this.#ready++;
  }

  #take(max: number): Delivery[] {
    const n = Math.min(max, this.#ready);
    const out = new Array<Delivery>(n);
    let i = 0;
    for (const lane of this.#lanes) {
      while (i < n && lane.size > 0) out[i++] = lane.shift() as Delivery;
      if (i === n) break;
    }
    this.#ready -= n;
    return out;
  }
}
