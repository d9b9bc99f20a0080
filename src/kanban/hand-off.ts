import type { Delivery, WaitingOrder } from './queue.ts';

export interface HandOffOptions<D extends Delivery> {
  /** Which waiting delivery goes next (Heijunka's leveler). */
  readonly order: WaitingOrder<D>;
  /** Called each time a pull starts waiting (a broker driver fetches then). */
  readonly onWait?: () => void;
  /** Serve waiting pulls once per event-loop turn rather than at each offer (see `offer`). */
  readonly perTurn?: boolean;
}

interface Waiter {
  readonly max: number;
  readonly rank: number;
  readonly resolve: (deliveries: Delivery[]) => void;
  readonly abort: AbortSignal;
  readonly onAbort: () => void;
  done: boolean;
}

const NO_DELIVERIES: Delivery[] = [];

/**
 * Where deliveries wait in this process for a worker to pull them, and the pulls waiting for
 * work. Every driver keeps its local deliveries here, so the pull contract is written once: which
 * delivery goes next is Heijunka's leveler's choice (priority first, types in weighted turns,
 * aging, per-type caps; oldest first within one type and priority), no pull gets more than it
 * asked, and an aborted or closed pull resolves empty. A pull waiting for work gets the next
 * delivery as soon as one can go; with `perTurn`, once the event loop's turn has run (see `offer`).
 */
export class HandOff<D extends Delivery> {
  readonly #leveler: WaitingOrder<D>;
  /** Pulls waiting for work, in arrival order (a few: one per worker at most). */
  #waiters: Waiter[] = [];
  readonly #onWait: (() => void) | undefined;
  #wanted = 0;
  #closed = false;
  /** With `perTurn`, a turn's offers are served once, from `setImmediate`: set while pending. */
  #serving = false;
  readonly #serveSoon = (): void => {
    this.#serving = false;
    if (this.#wanted > 0) this.#serveWaiters();
  };

  readonly #perTurn: boolean;

  constructor(options: HandOffOptions<D>) {
    this.#onWait = options.onWait;
    this.#leveler = options.order;
    this.#perTurn = options.perTurn ?? false;
  }

  /** Deliveries waiting for a puller. */
  get size(): number {
    return this.#leveler.size;
  }

  /** Sum of what the waiting pulls asked for. */
  get wanted(): number {
    return this.#wanted;
  }

  get waiting(): boolean {
    return this.#wanted > 0;
  }

  /** Reopens after `close` (a queue started again). */
  open(): void {
    this.#closed = false;
  }

  /**
   * Keeps a delivery for the leveler to place, and serves the waiting pulls: at once, or with
   * `perTurn` once the event loop's current turn has run (`setImmediate`), with everything offered
   * in it, unless what waits already covers all they asked for. Deliveries that arrive one at a
   * time (one per HTTP request: Node.js runs each request's callbacks and microtasks before it
   * parses the next) thus reach the workers in batches, and the leveler orders the whole batch; a
   * producer that never yields to the event loop (a loop of awaited submits) still feeds the
   * workers, a batch at a time. Only the embedded queue serves per turn: it is where it measured
   * worth its place (BENCHMARKS.md, the table of tricks); the broker drivers serve at once.
   */
  offer(d: D): void {
    this.#leveler.push(d);
    if (this.#wanted === 0) return;
    if (!this.#perTurn || this.#leveler.size >= this.#wanted) {
      this.#serveWaiters();
      return;
    }
    if (!this.#serving) {
      this.#serving = true;
      setImmediate(this.#serveSoon);
    }
  }

  /**
   * A delivery taken earlier is settled (acked, nak'ed, dead-lettered): its type has room again
   * under a cap, which may let a waiting pull go on.
   */
  settled(d: D): void {
    if (this.#leveler.settled(d.signal.type) && this.#wanted > 0) this.#serveWaiters();
  }

  /**
   * Up to `max` deliveries now, else waits for the next one; [] once aborted or closed. Among
   * waiting pulls the one asking for most (the least loaded worker) is served first, then the
   * lowest `rank`, then the longest waiting.
   */
  pull(max: number, abort: AbortSignal, rank = 0): Promise<Delivery[]> {
    if (this.#closed || abort.aborted) return Promise.resolve(NO_DELIVERIES);
    if (this.#leveler.ready) return Promise.resolve(this.take(max));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        max,
        rank,
        resolve,
        abort,
        done: false,
        onAbort: () => this.#settle(waiter, NO_DELIVERIES),
      };
      abort.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#wanted += max;
      this.#onWait?.();
    });
  }

  /** Up to `max` waiting deliveries, in the leveler's order. */
  take(max: number): D[] {
    return this.#leveler.take(max);
  }

  /** Every waiting delivery, taken out (to hand back to a broker, or drop after a lost connection). */
  drain(): D[] {
    return this.#leveler.drain();
  }

  /** Ends every waiting pull with [] and refuses new ones until `open`. */
  close(): void {
    this.#closed = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) this.#settle(w, NO_DELIVERIES);
  }

  /**
   * Serves the waiting pulls, best first, with what the leveler lets go now. What waits is shared
   * out: each pull gets at most its share of it (and never more than it asked), so a batch spreads
   * over the idle workers instead of going to the first of them.
   */
  #serveWaiters(): void {
    while (this.#leveler.ready && this.#waiters.length > 0) {
      let best = 0;
      for (let i = 1; i < this.#waiters.length; i++) {
        const w = this.#waiters[i] as Waiter;
        const b = this.#waiters[best] as Waiter;
        if (w.max > b.max || (w.max === b.max && w.rank < b.rank)) best = i;
      }
      const w = this.#waiters[best] as Waiter;
      const share = Math.ceil(this.#leveler.size / this.#waiters.length);
      this.#waiters.splice(best, 1);
      this.#settle(w, this.#leveler.take(Math.min(w.max, share)));
    }
  }

  #settle(w: Waiter, deliveries: Delivery[]): void {
    if (w.done) return;
    w.done = true;
    this.#wanted -= w.max;
    w.abort.removeEventListener('abort', w.onAbort);
    // An aborted pull leaves the list here; a served one has left it already.
    if (deliveries === NO_DELIVERIES) {
      const i = this.#waiters.indexOf(w);
      if (i >= 0) this.#waiters.splice(i, 1);
    }
    w.resolve(deliveries);
  }
}
