import type { Clock } from '../clock.ts';
import type { TpsConfig } from '../config.ts';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitSnapshot,
  type CircuitState,
  type CircuitTransition,
} from './circuit-breaker.ts';

/** The breaker options the configuration names (TPS_CB_*). */
export function breakerOptions(c: TpsConfig): CircuitBreakerOptions {
  return {
    threshold: c.cbThreshold,
    openMs: c.cbTimeoutSecs * 1000,
    maxOpenMs: Math.max(c.cbTimeoutSecs, c.cbTimeoutMaxSecs) * 1000,
    halfOpenProbes: c.cbHalfOpenProbes,
    successesToClose: c.cbCloseAfter,
    window:
      c.cbWindowSecs > 0 ? { kind: 'time', size: c.cbWindowSecs } : { kind: 'count', size: c.cbWindowCalls },
    minimumCalls: c.cbMinCalls,
    failureRatePct: c.cbFailureRatePct,
    slowCallMs: c.cbSlowCallMs,
    slowCallRatePct: c.cbSlowCallRatePct,
  };
}

/** How a transition is said on the board and in alerts. */
export function transitionText(t: CircuitTransition): string {
  const open = t.openMs > 0 ? ` for ${Math.round(t.openMs / 100) / 10} s` : '';
  return `circuit ${t.name} ${t.from} → ${t.to}${t.to === 'Open' ? open : ''}: ${t.reason}`;
}

const SEVERITY: Readonly<Record<CircuitState, number>> = { Closed: 0, HalfOpen: 1, Open: 2 };

/**
 * Jidoka: one breaker per signal type, so a failing line stops alone and the others keep
 * running. Breakers are made when a type is first seen. When a circuit opens, a timer moves it to
 * half-open as soon as its open time has passed, so the board and the held-back signals see the
 * change then rather than at the next call.
 */
export class Jidoka {
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #options: CircuitBreakerOptions;
  readonly #clock: Clock;
  readonly #listeners = new Set<(t: CircuitTransition) => void>();
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(options: CircuitBreakerOptions, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
  }

  get options(): CircuitBreakerOptions {
    return this.#options;
  }

  breaker(type: string): CircuitBreaker {
    let b = this.#breakers.get(type);
    if (b === undefined) {
      b = new CircuitBreaker(type, this.#options, this.#clock, (t) => this.#transitioned(t));
      this.#breakers.set(type, b);
    }
    return b;
  }

  has(type: string): boolean {
    return this.#breakers.has(type);
  }

  /** The door: 0 when a new signal of `type` may enter, else the milliseconds to wait. */
  admit(type: string): number {
    return this.breaker(type).admit();
  }

  /** The line: 0 when a worker may run a signal of `type` now, else the milliseconds to hold it. */
  acquire(type: string): number {
    return this.breaker(type).acquire();
  }

  record(type: string, ok: boolean, durationMs = 0): void {
    this.breaker(type).record(ok, durationMs);
  }

  recordSuccess(type: string, durationMs = 0): void {
    this.breaker(type).record(true, durationMs);
  }

  recordFailure(type: string, durationMs = 0): void {
    this.breaker(type).record(false, durationMs);
  }

  /** Holds the circuit of `type` open until `reset`. */
  isolate(type: string): CircuitSnapshot {
    const b = this.breaker(type);
    b.isolate();
    return b.snapshot();
  }

  /** Closes the circuit of `type` and forgets its failures. */
  reset(type: string): CircuitSnapshot {
    const b = this.breaker(type);
    b.reset();
    return b.snapshot();
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

  /** Stops the half-open timers (the system is stopping). */
  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #transitioned(t: CircuitTransition): void {
    const pending = this.#timers.get(t.name);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.#timers.delete(t.name);
    }
    if (t.to === 'Open' && t.openMs > 0) {
      // Reading the state after the open time moves the circuit to half-open (and tells listeners).
      const timer = setTimeout(() => {
        this.#timers.delete(t.name);
        void this.#breakers.get(t.name)?.state;
      }, t.openMs + 1);
      timer.unref();
      this.#timers.set(t.name, timer);
    }
    for (const listener of this.#listeners) listener(t);
  }
}
