import { KanbanFullError, QueueUnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { WorkSignal } from '../signal.ts';
import type { Delivery, KanbanQueue, QueueHealth } from './queue.ts';

const NO_DELIVERIES: Delivery[] = [];

/**
 * NATS first, RabbitMQ as the fallback: publish to the primary (NATS); when it is unreachable
 * or a publish fails or times out, publish to the secondary (RabbitMQ). Workers consume from both, so what
 * either holds gets done, and new work returns to the primary as soon as it is healthy again.
 * A full primary is backpressure (429), not a fault: it does not fail over.
 */
export class FailoverQueue implements KanbanQueue {
  readonly backend = 'failover';
  readonly capacity: number;
  readonly #primary: KanbanQueue;
  readonly #secondary: KanbanQueue;
  readonly #logger: Logger;
  /** Which queue each delivery in hand came from, to settle it there. */
  readonly #origin = new Map<Delivery, KanbanQueue>();
  /** Deliveries a losing pull still brought in; served first by the next pull. */
  #overflow: Delivery[] = [];
  #active: 'primary' | 'secondary' = 'primary';
  #closed = false;

  constructor(primary: KanbanQueue, secondary: KanbanQueue, logger: Logger) {
    this.#primary = primary;
    this.#secondary = secondary;
    this.#logger = logger;
    this.capacity = primary.capacity;
  }

  /** The queue new signals go to now. */
  get activePath(): string {
    return this.#active === 'primary' ? this.#primary.backend : this.#secondary.backend;
  }

  async start(): Promise<void> {
    this.#closed = false;
    await Promise.all([this.#primary.start(), this.#secondary.start()]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#primary.close(), this.#secondary.close()]);
  }

  async publish(signal: WorkSignal): Promise<void> {
    if (this.#primary.health().healthy) {
      try {
        await this.#primary.publish(signal);
        this.#use('primary');
        return;
      } catch (error) {
        if (error instanceof KanbanFullError) throw error;
        this.#logger.warn(
          { err: error, signal_id: signal.id },
          `${this.#primary.backend} publish failed; using ${this.#secondary.backend}`,
        );
      }
    }
    this.#use('secondary');
    try {
      await this.#secondary.publish(signal);
    } catch (error) {
      if (error instanceof KanbanFullError || error instanceof QueueUnavailableError) throw error;
      throw new QueueUnavailableError(`no broker took the signal: ${(error as Error).message}`, 2000, {
        cause: error,
      });
    }
  }

  async pull(max: number, abort: AbortSignal, rank?: number): Promise<Delivery[]> {
    if (this.#closed || abort.aborted) return NO_DELIVERIES;
    if (this.#overflow.length > 0) return this.#overflow.splice(0, max);
    // Wait on both; the first with work wins and the other's pull is called off.
    const stopA = new AbortController();
    const stopB = new AbortController();
    const onAbort = () => {
      stopA.abort();
      stopB.abort();
    };
    abort.addEventListener('abort', onAbort, { once: true });
    const fromPrimary = this.#primary.pull(max, stopA.signal, rank).then((d) => this.#tag(d, this.#primary));
    const fromSecondary = this.#secondary
      .pull(max, stopB.signal, rank)
      .then((d) => this.#tag(d, this.#secondary));
    const first = await Promise.race([
      fromPrimary.then((d) => ({ d, primary: true })),
      fromSecondary.then((d) => ({ d, primary: false })),
    ]);
    if (first.primary) stopB.abort();
    else stopA.abort();
    // The loser may already have been handed deliveries before it heard it lost: keep them.
    const loser = await (first.primary ? fromSecondary : fromPrimary);
    abort.removeEventListener('abort', onAbort);
    const combined = first.d.concat(loser);
    if (combined.length <= max) return combined;
    this.#overflow.push(...combined.slice(max));
    return combined.slice(0, max);
  }

  async ack(delivery: Delivery): Promise<void> {
    await this.#from(delivery).ack(delivery);
    this.#origin.delete(delivery);
  }

  async nak(delivery: Delivery, delayMs: number): Promise<void> {
    await this.#from(delivery).nak(delivery, delayMs);
    this.#origin.delete(delivery);
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    await this.#from(delivery).deadLetter(delivery, reason);
    this.#origin.delete(delivery);
  }

  async removeDeadLetter(signalId: string): Promise<boolean> {
    const [a, b] = await Promise.all([
      this.#primary.removeDeadLetter(signalId).catch(() => false),
      this.#secondary.removeDeadLetter(signalId).catch(() => false),
    ]);
    return a || b;
  }

  depth(): number {
    return this.#primary.depth() + this.#secondary.depth() + this.#overflow.length;
  }

  dlqDepth(): number {
    return this.#primary.dlqDepth() + this.#secondary.dlqDepth();
  }

  health(): QueueHealth {
    const p = this.#primary.health();
    const s = this.#secondary.health();
    const detail = `active path: ${this.activePath}; ${this.#primary.backend}: ${p.detail}; ${this.#secondary.backend}: ${s.detail}`;
    return { healthy: p.healthy || s.healthy, detail, activePath: this.activePath };
  }

  #tag(deliveries: Delivery[], from: KanbanQueue): Delivery[] {
    for (const d of deliveries) this.#origin.set(d, from);
    return deliveries;
  }

  #from(delivery: Delivery): KanbanQueue {
    const q = this.#origin.get(delivery);
    if (q === undefined) throw new Error('delivery not from this queue, or already settled');
    return q;
  }

  #use(path: 'primary' | 'secondary'): void {
    if (path === this.#active) return;
    this.#active = path;
    const to = path === 'primary' ? this.#primary.backend : this.#secondary.backend;
    this.#logger.warn({ active_path: to }, `failover: new signals now go to ${to}`);
  }
}
