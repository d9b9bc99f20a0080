import { KanbanFullError, withoutStack } from '../errors.ts';
import type { WorkSignal } from '../signal.ts';
import { messageIdOf } from './codec.ts';
import { HandOff } from './hand-off.ts';
import type { Delivery, KanbanQueue, NewWaitingOrder, QueueHealth } from './queue.ts';

export interface MemoryQueueOptions {
  readonly capacity: number;
  /** Which waiting delivery goes to a worker next (Heijunka's leveler). */
  readonly order: NewWaitingOrder;
  /** Dead letters kept; past it the oldest is forgotten (its status record remains). */
  readonly deadLetterCapacity?: number;
}

/**
 * The embedded Kanban, bounded by `capacity`, in the order Heijunka's leveler gives (priority
 * first, types in weighted turns, oldest first within a type). Lives in this process only:
 * nothing survives a crash, which is why shutdown drains it before exiting. Like the NATS driver it
 * de-duplicates: a signal published again while it is still here (waiting, in work or waiting for
 * a retry) is not enqueued twice; a manual retry is a new epoch, so a new message.
 */
export class MemoryQueue implements KanbanQueue {
  readonly backend = 'memory';
  readonly capacity: number;
  readonly #ready: HandOff<Delivery>;
  /** Retries waiting for their backoff, with their message ids. */
  readonly #delayed = new Map<NodeJS.Timeout, string>();
  /** Message ids (`messageIdOf`) published and not yet acked or dead-lettered. */
  readonly #held = new Set<string>();
  readonly #deadLetters = new Map<string, Delivery>();
  readonly #deadLetterCapacity: number;
  #closed = false;

  constructor(options: MemoryQueueOptions) {
    this.capacity = options.capacity;
    // Signals come one per HTTP request: workers are served once per event-loop turn.
    this.#ready = new HandOff<Delivery>({ order: options.order<Delivery>(), perTurn: true });
    this.#deadLetterCapacity = options.deadLetterCapacity ?? 10_000;
  }

  async start(): Promise<void> {
    this.#closed = false;
    this.#ready.open();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const [timer, id] of this.#delayed) {
      clearTimeout(timer);
      this.#held.delete(id);
    }
    this.#delayed.clear();
    this.#ready.close();
  }

  async publish(signal: WorkSignal): Promise<void> {
    const id = messageIdOf(signal);
    if (this.#held.has(id)) return;
    if (this.depth() >= this.capacity) throw withoutStack(() => new KanbanFullError(this.capacity, 1000));
    this.#held.add(id);
    this.#ready.offer({ signal, attempt: 1 });
  }

  pull(max: number, abort: AbortSignal, rank?: number): Promise<Delivery[]> {
    return this.#ready.pull(max, abort, rank);
  }

  async ack(delivery: Delivery): Promise<void> {
    this.#held.delete(messageIdOf(delivery.signal));
    this.#ready.settled(delivery);
  }

  async nak(delivery: Delivery, delayMs: number): Promise<void> {
    this.#ready.settled(delivery);
    const next: Delivery = { signal: delivery.signal, attempt: delivery.attempt + 1 };
    if (delayMs <= 0 || this.#closed) {
      this.#ready.offer(next);
      return;
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      this.#ready.offer(next);
    }, delayMs);
    this.#delayed.set(timer, messageIdOf(next.signal));
  }

  async deadLetter(delivery: Delivery, _reason: string): Promise<void> {
    this.#held.delete(messageIdOf(delivery.signal));
    this.#ready.settled(delivery);
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
