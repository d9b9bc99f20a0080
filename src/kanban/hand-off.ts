import type { Delivery } from './queue.ts';
import { Ring } from './ring.ts';

interface Waiter {
  readonly max: number;
  readonly resolve: (deliveries: Delivery[]) => void;
  readonly abort: AbortSignal;
  readonly onAbort: () => void;
  done: boolean;
}

const NO_DELIVERIES: Delivery[] = [];

/**
 * Where deliveries wait in this process for a worker to pull them: one FIFO lane per priority
 * (1 first) and the pulls waiting for work. Every driver keeps its local deliveries here, so the
 * pull contract (highest priority first, oldest first within one, no more than asked, an aborted
 * or closed pull resolves empty) is written once.
 */
export class HandOff<D extends Delivery> {
  readonly #lanes: [Ring<D>, Ring<D>, Ring<D>, Ring<D>] = [new Ring(), new Ring(), new Ring(), new Ring()];
  readonly #waiters = new Ring<Waiter>();
  readonly #onWait: (() => void) | undefined;
  #size = 0;
  #wanted = 0;
  #closed = false;

  /** @param onWait called each time a pull starts waiting (a broker driver fetches then). */
  constructor(onWait?: () => void) {
    this.#onWait = onWait;
  }

  /** Deliveries waiting for a puller. */
  get size(): number {
    return this.#size;
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

  /** Gives a delivery to the longest-waiting pull, or keeps it in its priority's lane. */
  offer(d: D): void {
    for (let w = this.#waiters.shift(); w !== undefined; w = this.#waiters.shift()) {
      if (w.done) continue;
      this.#settle(w, [d]);
      return;
    }
    (this.#lanes[d.signal.priority - 1] as Ring<D>).push(d);
    this.#size++;
  }

  /** Up to `max` deliveries now, else waits for the next one; [] once aborted or closed. */
  pull(max: number, abort: AbortSignal): Promise<Delivery[]> {
    if (this.#closed || abort.aborted) return Promise.resolve(NO_DELIVERIES);
    if (this.#size > 0) return Promise.resolve(this.take(max));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        max,
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

  /** Up to `max` waiting deliveries, highest priority first. */
  take(max: number): D[] {
    const n = Math.min(max, this.#size);
    const out = new Array<D>(n);
    let i = 0;
    for (const lane of this.#lanes) {
      while (i < n && lane.size > 0) out[i++] = lane.shift() as D;
      if (i === n) break;
    }
    this.#size -= n;
    return out;
  }

  /** Every waiting delivery, taken out (to hand back to a broker, or drop after a lost connection). */
  drain(): D[] {
    return this.take(this.#size);
  }

  /** Ends every waiting pull with [] and refuses new ones until `open`. */
  close(): void {
    this.#closed = true;
    for (let w = this.#waiters.shift(); w !== undefined; w = this.#waiters.shift())
      this.#settle(w, NO_DELIVERIES);
  }

  #settle(w: Waiter, deliveries: Delivery[]): void {
    if (w.done) return;
    w.done = true;
    this.#wanted -= w.max;
    w.abort.removeEventListener('abort', w.onAbort);
    w.resolve(deliveries);
  }
}
