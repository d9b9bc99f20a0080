import type { Clock } from '../clock.ts';

export type CircuitState = 'Closed' | 'Open' | 'HalfOpen';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly threshold: number;
  /** Milliseconds the circuit stays open before half-open probes are let through. */
  readonly openMs: number;
  /** Probes admitted at once while half-open. */
  readonly halfOpenProbes?: number;
  /**
   * A probe whose outcome has not come back after this long no longer holds its slot, so a lost
   * probe cannot wedge the circuit half-open. Defaults to `openMs`.
   */
  readonly probeTimeoutMs?: number;
}

export interface CircuitTransition {
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: string;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly consecutiveFailures: number;
}

export interface CircuitSnapshot {
  readonly state: CircuitState;
  readonly consecutiveFailures: number;
  readonly openings: number;
  /** Failures recorded since start. */
  readonly failures: number;
  /** Calls refused since start (open, or half-open with its probes taken). */
  readonly rejected: number;
  /** Milliseconds until the circuit lets probes through; 0 unless open. */
  readonly retryAfterMs: number;
}

/**
 * Jidoka's breaker for one line (one signal type): Closed → Open after `threshold` consecutive
 * failures; Open → HalfOpen once `openMs` has passed; HalfOpen → Closed on a successful probe,
 * back to Open on a failed one. Time only moves through the injected clock, and the
 * Open → HalfOpen step happens when the state is next read, so no timer is needed.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #options: Required<CircuitBreakerOptions>;
  readonly #clock: Clock;
  readonly #onTransition: ((t: CircuitTransition) => void) | undefined;
  #state: CircuitState = 'Closed';
  #consecutiveFailures = 0;
  #openedAt = 0;
  #openings = 0;
  #failures = 0;
  #rejected = 0;
  #probesInFlight = 0;
  #lastProbeAt = 0;

  constructor(
    name: string,
    options: CircuitBreakerOptions,
    clock: Clock,
    onTransition?: (t: CircuitTransition) => void,
  ) {
    this.name = name;
    this.#options = {
      halfOpenProbes: 1,
      probeTimeoutMs: options.openMs,
      ...options,
    };
    this.#clock = clock;
    this.#onTransition = onTransition;
  }

  get state(): CircuitState {
    if (this.#state === 'Open' && this.#clock.now() - this.#openedAt >= this.#options.openMs) {
      this.#probesInFlight = 0;
      this.#moveTo('HalfOpen', 'open time elapsed; probing');
    }
    return this.#state;
  }

  /**
   * Asks to let one call through. Returns 0 when admitted, otherwise the milliseconds after which
   * asking again may succeed.
   */
  admit(): number {
    const state = this.state;
    if (state === 'Closed') return 0;
    const now = this.#clock.now();
    if (state === 'Open') {
      this.#rejected++;
      return Math.max(1, this.#options.openMs - (now - this.#openedAt));
    }
    if (
      this.#probesInFlight >= this.#options.halfOpenProbes &&
      now - this.#lastProbeAt >= this.#options.probeTimeoutMs
    ) {
      this.#probesInFlight = 0;
    }
    if (this.#probesInFlight < this.#options.halfOpenProbes) {
      this.#probesInFlight++;
      this.#lastProbeAt = now;
      return 0;
    }
    this.#rejected++;
    return Math.max(1, this.#options.probeTimeoutMs - (now - this.#lastProbeAt));
  }

  /**
   * Gives back a half-open probe slot taken by `admit` for a call that then never ran (it was
   * refused further down the line), so the circuit does not wait out the probe timeout.
   */
  releaseProbe(): void {
    if (this.#state === 'HalfOpen' && this.#probesInFlight > 0) this.#probesInFlight--;
  }

  recordSuccess(): void {
    this.#consecutiveFailures = 0;
    if (this.state === 'HalfOpen') {
      this.#probesInFlight = 0;
      this.#moveTo('Closed', 'probe succeeded');
    }
  }

  recordFailure(): void {
    this.#failures++;
    this.#consecutiveFailures++;
    const state = this.state;
    if (state === 'HalfOpen') {
      this.#open('probe failed');
    } else if (state === 'Closed' && this.#consecutiveFailures >= this.#options.threshold) {
      this.#open(`${this.#consecutiveFailures} consecutive failures`);
    }
  }

  snapshot(): CircuitSnapshot {
    const state = this.state;
    return {
      state,
      consecutiveFailures: this.#consecutiveFailures,
      openings: this.#openings,
      failures: this.#failures,
      rejected: this.#rejected,
      retryAfterMs:
        state === 'Open' ? Math.max(0, this.#options.openMs - (this.#clock.now() - this.#openedAt)) : 0,
    };
  }

  #open(reason: string): void {
    this.#openedAt = this.#clock.now();
    this.#openings++;
    this.#probesInFlight = 0;
    this.#moveTo('Open', reason);
  }

  #moveTo(to: CircuitState, reason: string): void {
    const from = this.#state;
    this.#state = to;
    this.#onTransition?.({
      name: this.name,
      from,
      to,
      reason,
      at: this.#clock.wallNow(),
      consecutiveFailures: this.#consecutiveFailures,
    });
  }
}
