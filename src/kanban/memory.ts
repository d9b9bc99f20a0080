import { KanbanFullError, withoutStack } from '../errors.ts';
import type { WorkSignal } from '../signal.ts';
import { HandOff } from './hand-off.ts';
import type { Delivery, KanbanQueue, QueueHealth } from './queue.ts';

export interface MemoryQueueOptions {
  readonly capacity: number;
  /** Dead letters kept; past it the oldest is forgotten (its status record remains). */
  readonly deadLetterCapacity?: number;
}

/**
 * The embedded Kanban: four priority lanes (1 first), FIFO within a lane, bounded by
 * `capacity`. Lives in this process only: nothing survives a crash, which is why shutdown drains
 * it before exiting.
 */
export class MemoryQueue implements KanbanQueue {
  readonly backend = 'memory';
  readonly capacity: number;
  readonly #ready = new HandOff<Delivery>();
  readonly #delayed = new Set<NodeJS.Timeout>();
  readonly #deadLetters = new Map<string, Delivery>();
  readonly #deadLetterCapacity: number;
  #closed = false;

  constructor(options: MemoryQueueOptions) {
    this.capacity = options.capacity;
    this.#deadLetterCapacity = options.deadLetterCapacity ?? 10_000;
  }

  async start(): Promise<void> {
    this.#closed = false;
    this.#ready.open();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#delayed) clearTimeout(timer);
    this.#delayed.clear();
    this.#ready.close();
  }

  async publish(signal: WorkSignal): Promise<void> {
    if (this.depth() >= this.capacity) throw withoutStack(() => new KanbanFullError(this.capacity, 1000));
    this.#ready.offer({ signal, attempt: 1 });
  }

  pull(max: number, abort: AbortSignal): Promise<Delivery[]> {
    return this.#ready.pull(max, abort);
  }

  async ack(_delivery: Delivery): Promise<void> {}

  async nak(delivery: Delivery, delayMs: number): Promise<void> {
    const next: Delivery = { signal: delivery.signal, attempt: delivery.attempt + 1 };
    if (delayMs <= 0 || this.#closed) {
      this.#ready.offer(next);
      return;
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      this.#ready.offer(next);
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
    return this.#ready.size + this.#delayed.size;
  }

  dlqDepth(): number {
    return this.#deadLetters.size;
  }

  health(): QueueHealth {
    return this.#closed ? { healthy: false, detail: 'closed' } : { healthy: true, detail: 'embedded queue' };
  }
}
