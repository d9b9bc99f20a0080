import type { Clock } from '../clock.ts';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitSnapshot,
  type CircuitState,
  type CircuitTransition,
} from './circuit-breaker.ts';

const SEVERITY: Readonly<Record<CircuitState, number>> = { Closed: 0, HalfOpen: 1, Open: 2 };

/**
 * Jidoka: one breaker per signal type, so a failing line stops alone and the others keep
 * running. Breakers are made when a type is first seen.
 */
export class Jidoka {
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #options: CircuitBreakerOptions;
  readonly #clock: Clock;
  readonly #listeners = new Set<(t: CircuitTransition) => void>();

  constructor(options: CircuitBreakerOptions, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
  }

  breaker(type: string): CircuitBreaker {
    let b = this.#breakers.get(type);
    if (b === undefined) {
      b = new CircuitBreaker(type, this.#options, this.#clock, (t) => {
        for (const listener of this.#listeners) listener(t);
      });
      this.#breakers.set(type, b);
    }
    return b;
  }

  /** Returns 0 when a signal of `type` may enter, else the milliseconds to wait. */
  admit(type: string): number {
    return this.breaker(type).admit();
  }

  recordSuccess(type: string): void {
    this.breaker(type).recordSuccess();
  }

  recordFailure(type: string): void {
    this.breaker(type).recordFailure();
  }

  /** The worst state over every line: Open if any is open, else HalfOpen if any probes. */
  worstState(): CircuitState {
    let worst: CircuitState = 'Closed';
    for (const b of this.#breakers.values()) {
      const s = b.state;
      if (SEVERITY[s] > SEVERITY[worst]) worst = s;
    }
    return worst;
  }

  states(): Record<string, CircuitState> {
    const out: Record<string, CircuitState> = {};
    for (const [type, b] of this.#breakers) out[type] = b.state;
    return out;
  }

  snapshots(): Record<string, CircuitSnapshot> {
    const out: Record<string, CircuitSnapshot> = {};
    for (const [type, b] of this.#breakers) out[type] = b.snapshot();
    return out;
  }

  /** Subscribes to every state change; returns the unsubscribe function. */
  onTransition(listener: (t: CircuitTransition) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
