export interface ScalerOptions {
  /** Workers kept at least (TPS_HEIJUNKA_POOL). */
  readonly min: number;
  /** Workers at most. */
  readonly max: number;
  readonly cardsPerWorker: number;
  /** The latency the pool is sized for: a backlog should drain within it (the SLO target). */
  readonly targetMs: number;
  /** Least time between two scale-ups. */
  readonly upCooldownMs: number;
  /** How long the pool must have been larger than needed before it shrinks. */
  readonly downCooldownMs: number;
  /** Share of the cards the pool is sized to keep busy (headroom for bursts). */
  readonly utilization?: number;
}

/** What the pool sees each tick. */
export interface ScalerReading {
  /** Monotonic milliseconds. */
  readonly now: number;
  readonly workers: number;
  /** Signals waiting in the Kanban. */
  readonly depth: number;
  /** Signals taken by the workers per second, recently. */
  readonly ratePerSec: number;
  /** Recent mean processing time of a signal, milliseconds (0 when none finished yet). */
  readonly serviceMs: number;
}

export interface ScaleDecision {
  readonly from: number;
  readonly to: number;
  /** The figures behind it, in words. */
  readonly reason: string;
}

/**
 * Sizes the worker pool by Little's law: the cards in use are the rate times the processing
 * time (L = λ·W), plus what it takes to drain the backlog within the target latency
 * (depth · W / target). Workers = that over the cards per worker at the target utilisation,
 * within [min, max]. It grows at once (at most once per up-cooldown) and shrinks only after the
 * pool has been larger than needed for the whole down-cooldown, so it does not flap.
 */
export class Scaler {
  readonly #o: Required<ScalerOptions>;
  #lastUpAt = Number.NEGATIVE_INFINITY;
  /** Since when the pool has been larger than needed, without a break. */
  #oversizedSince: number | undefined;

  constructor(options: ScalerOptions) {
    this.#o = { utilization: 0.8, ...options };
  }

  get options(): Required<ScalerOptions> {
    return this.#o;
  }

  /** The workers the reading calls for, and why. */
  needed(r: ScalerReading): { workers: number; cards: number } {
    const steady = (r.ratePerSec * r.serviceMs) / 1000;
    const backlog = r.serviceMs === 0 ? 0 : (r.depth * r.serviceMs) / this.#o.targetMs;
    const cards = steady + backlog;
    const workers = Math.ceil(cards / (this.#o.cardsPerWorker * this.#o.utilization));
    return { workers: Math.min(this.#o.max, Math.max(this.#o.min, workers)), cards };
  }

  /** A change to make now, or undefined. */
  decide(r: ScalerReading): ScaleDecision | undefined {
    const { workers: target, cards } = this.needed(r);
    const why = () =>
      `${Math.round(r.ratePerSec)} signals/s × ${r.serviceMs.toFixed(1)} ms + ${r.depth} waiting ` +
      `(drained within ${this.#o.targetMs} ms) ≈ ${Math.ceil(cards)} cards in use`;
    if (target > r.workers) {
      this.#oversizedSince = undefined;
      if (r.now - this.#lastUpAt < this.#o.upCooldownMs) return undefined;
      this.#lastUpAt = r.now;
      return { from: r.workers, to: target, reason: why() };
    }
    if (target < r.workers) {
      this.#oversizedSince ??= r.now;
      if (r.now - this.#oversizedSince < this.#o.downCooldownMs) return undefined;
      this.#oversizedSince = undefined;
      return { from: r.workers, to: target, reason: why() };
    }
    this.#oversizedSince = undefined;
    return undefined;
  }
}
