import type { Clock } from '../clock.ts';
import type { Delivery, KanbanQueue } from '../kanban/queue.ts';
import type { Supervisor } from '../supervision.ts';

/** Processes one delivery to its end (ack, retry or dead-letter). Must not reject. */
export type ProcessDelivery = (delivery: Delivery, workerId: string) => Promise<void>;

export interface WorkerStats {
  readonly id: string;
  readonly state: 'running' | 'restarting' | 'stopped';
  readonly cards: number;
  readonly in_use: number;
  readonly processed: number;
  /** Milliseconds spent processing, summed over its signals. */
  readonly busy_ms: number;
  readonly restarts: number;
}

export interface HeijunkaSnapshot {
  readonly pool_size: number;
  readonly cards_total: number;
  readonly cards_in_use: number;
  /** Cards in use over cards total, 0–1. */
  readonly pool_utilization: number;
  /** Mean over max of signals processed per worker: 1 is perfectly level. */
  readonly balance_coefficient: number;
  readonly workers: WorkerStats[];
}

class Worker {
  readonly id: string;
  readonly cards: number;
  inUse = 0;
  processed = 0;
  busyMs = 0;
  #wake: (() => void) | undefined;

  constructor(id: string, cards: number) {
    this.id = id;
    this.cards = cards;
  }

  /** Resolves when a card comes back (or `wake` is called). */
  cardReturned(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

export interface WorkerPoolOptions {
  readonly workers: number;
  /** Kanban cards per worker: its WIP limit. */
  readonly cards: number;
}

/**
 * Heijunka's worker pool. Each worker runs a pull loop under the supervisor: it pulls from the
 * Kanban only as many signals as it has free cards, hands each to `process`, and gets the card
 * back when the signal is settled. A loop that crashes is restarted; signals it already holds
 * keep running.
 */
export class WorkerPool {
  readonly #queue: KanbanQueue;
  readonly #process: ProcessDelivery;
  readonly #supervisor: Supervisor;
  readonly #clock: Clock;
  readonly #workers: Worker[];

  constructor(
    queue: KanbanQueue,
    process: ProcessDelivery,
    supervisor: Supervisor,
    clock: Clock,
    options: WorkerPoolOptions,
  ) {
    this.#queue = queue;
    this.#process = process;
    this.#supervisor = supervisor;
    this.#clock = clock;
    this.#workers = Array.from(
      { length: options.workers },
      (_, i) => new Worker(`worker-${i + 1}`, options.cards),
    );
  }

  get size(): number {
    return this.#workers.length;
  }

  start(): void {
    for (const w of this.#workers) this.#supervisor.supervise(w.id, (abort) => this.#pullLoop(w, abort));
  }

  /** Stops pulling; signals already held keep running (see `inFlight`). */
  async stopPulling(): Promise<void> {
    await Promise.all(this.#workers.map((w) => this.#supervisor.stop(w.id)));
  }

  inFlight(): number {
    let n = 0;
    for (const w of this.#workers) n += w.inUse;
    return n;
  }

  running(): number {
    const states = new Map(this.#supervisor.health().map((c) => [c.name, c.state]));
    return this.#workers.filter((w) => states.get(w.id) === 'running').length;
  }

  snapshot(): HeijunkaSnapshot {
    const health = new Map(this.#supervisor.health().map((c) => [c.name, c]));
    let inUse = 0;
    let maxProcessed = 0;
    let totalProcessed = 0;
    const workers = this.#workers.map((w) => {
      inUse += w.inUse;
      totalProcessed += w.processed;
      if (w.processed > maxProcessed) maxProcessed = w.processed;
      const c = health.get(w.id);
      return {
        id: w.id,
        state: c?.state ?? 'stopped',
        cards: w.cards,
        in_use: w.inUse,
        processed: w.processed,
        busy_ms: Math.round(w.busyMs),
        restarts: c?.restarts ?? 0,
      };
    });
    const cardsTotal = this.#workers.length * (this.#workers[0]?.cards ?? 0);
    return {
      pool_size: this.#workers.length,
      cards_total: cardsTotal,
      cards_in_use: inUse,
      pool_utilization: cardsTotal === 0 ? 0 : inUse / cardsTotal,
      balance_coefficient: maxProcessed === 0 ? 1 : totalProcessed / this.#workers.length / maxProcessed,
      workers,
    };
  }

  async #pullLoop(w: Worker, abort: AbortSignal): Promise<void> {
    const onAbort = () => w.wake();
    abort.addEventListener('abort', onAbort, { once: true });
    try {
      while (!abort.aborted) {
        const free = w.cards - w.inUse;
        if (free <= 0) {
          await w.cardReturned();
          continue;
        }
        const deliveries = await this.#queue.pull(free, abort);
        for (const d of deliveries) this.#dispatch(w, d);
      }
    } finally {
      abort.removeEventListener('abort', onAbort);
    }
  }

  #dispatch(w: Worker, d: Delivery): void {
    w.inUse++;
    const startedAt = this.#clock.now();
    const done = () => {
      w.inUse--;
      w.processed++;
      w.busyMs += this.#clock.now() - startedAt;
      w.wake();
    };
    this.#process(d, w.id).then(done, done);
  }
}
