import type { Clock } from '../clock.ts';
import { CountWindow, type OutcomeWindow, TimeWindow } from './outcome-window.ts';

export type CircuitState = 'Closed' | 'Open' | 'HalfOpen';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (the default rule, the only one on by default). */
  readonly threshold: number;
  /** Milliseconds the circuit stays open before half-open probes are let through. */
  readonly openMs: number;
  /**
   * With consecutive openings (a failed probe, again and again), the open time doubles up to this.
   * Defaults to `openMs`: no growth.
   */
  readonly maxOpenMs?: number;
  /** Probes admitted at once while half-open. */
  readonly halfOpenProbes?: number;
  /** Successful probes that close the circuit again. */
  readonly successesToClose?: number;
  /**
   * A probe whose outcome has not come back after this long no longer holds its slot, so a lost
   * probe cannot wedge the circuit half-open. Defaults to `openMs`.
   */
  readonly probeTimeoutMs?: number;
  /** The sliding window of the rate rules: the last N calls, or the last N seconds. */
  readonly window?: { readonly kind: 'count' | 'time'; readonly size: number };
  /** Calls the window must hold before a rate rule may open the circuit. */
  readonly minimumCalls?: number;
  /** Percent of failed calls in the window that opens the circuit; 0: rule off. */
  readonly failureRatePct?: number;
  /** A call slower than this is a slow call; 0: rule off. */
  readonly slowCallMs?: number;
  /** Percent of slow calls in the window that opens the circuit; 0: rule off. */
  readonly slowCallRatePct?: number;
}

export interface CircuitTransition {
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: string;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly consecutiveFailures: number;
  /** How long this opening lasts, when `to` is Open (0 when held open by hand). */
  readonly openMs: number;
}

export interface CircuitSnapshot {
  readonly state: CircuitState;
  /** Held open by an operator: no probes until reset. */
  readonly isolated: boolean;
  readonly consecutiveFailures: number;
  readonly openings: number;
  /** Failures recorded since start. */
  readonly failures: number;
  /** Signals refused at the door since start (circuit open). */
  readonly rejected: number;
  /** Signals a worker held back since start (open, or half-open with its probes taken). */
  readonly deferred: number;
  /** The rate rules' window now: calls, and the failed and slow shares in percent. */
  readonly window: {
    readonly calls: number;
    readonly failureRatePct: number;
    readonly slowCallRatePct: number;
  };
  /** Milliseconds until the circuit lets probes through; 0 unless open (and not isolated). */
  readonly retryAfterMs: number;
}

const pct = (part: number, whole: number) => (whole === 0 ? 0 : (part * 100) / whole);

/**
 * Jidoka's breaker for one line (one signal type). Closed → Open when a trip rule fires:
 * `threshold` consecutive failures (the default rule), or over the window (with at least
 * `minimumCalls` in it) a failure rate or a slow-call rate at or over its threshold. Open →
 * HalfOpen once the open time has passed; HalfOpen admits `halfOpenProbes` calls at once and
 * closes after `successesToClose` successes, or opens again at the first failure, for longer each
 * time when `maxOpenMs` allows. An operator can hold it open (`isolate`) or close it (`reset`).
 * Time moves only through the injected clock; Open → HalfOpen happens when the state is next read.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #o: Required<Omit<CircuitBreakerOptions, 'window'>>;
  readonly #window: OutcomeWindow;
  readonly #rates: boolean;
  /** How long a worker holds a signal back while the probes are taken. */
  readonly #probeWaitMs: number;
  readonly #clock: Clock;
  readonly #onTransition: ((t: CircuitTransition) => void) | undefined;
  #state: CircuitState = 'Closed';
  #isolated = false;
  #consecutiveFailures = 0;
  #openedAt = 0;
  #openFor = 0;
  /** Openings since the circuit last closed: the open time grows with it. */
  #streak = 0;
  #openings = 0;
  #failures = 0;
  #rejected = 0;
  #deferred = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  #lastProbeAt = 0;

  constructor(
    name: string,
    options: CircuitBreakerOptions,
    clock: Clock,
    onTransition?: (t: CircuitTransition) => void,
  ) {
    this.name = name;
    this.#o = {
      maxOpenMs: options.openMs,
      halfOpenProbes: 1,
      successesToClose: 1,
      probeTimeoutMs: options.openMs,
      minimumCalls: 10,
      failureRatePct: 0,
      slowCallMs: 0,
      slowCallRatePct: 0,
      ...options,
    };
    const w = options.window ?? { kind: 'count', size: 20 };
    this.#window = w.kind === 'time' ? new TimeWindow(w.size) : new CountWindow(w.size);
    this.#rates = this.#o.failureRatePct > 0 || (this.#o.slowCallMs > 0 && this.#o.slowCallRatePct > 0);
    this.#probeWaitMs = Math.max(10, Math.min(1000, Math.round(options.openMs / 10)));
    this.#clock = clock;
    this.#onTransition = onTransition;
  }

  get state(): CircuitState {
    if (this.#state === 'Open' && !this.#isolated && this.#clock.now() - this.#openedAt >= this.#openFor) {
      this.#probesInFlight = 0;
      this.#probeSuccesses = 0;
      this.#moveTo('HalfOpen', 'open time elapsed; probing');
    }
    return this.#state;
  }

  /**
   * The door (a new signal asks to enter): returns 0 when it may, otherwise the milliseconds until
   * the circuit lets probes through. Open refuses; Closed and HalfOpen admit, because a signal
   * admitted while probing waits in the queue and runs only once a probe has closed the circuit
   * (see `acquire`).
   */
  admit(): number {
    if (this.state !== 'Open') return 0;
    this.#rejected++;
    return this.#isolated
      ? this.#o.openMs
      : Math.max(1, this.#openFor - (this.#clock.now() - this.#openedAt));
  }

  /**
   * The line (a worker is about to run a signal): returns 0 when it may run, otherwise the
   * milliseconds to hold the signal back. Open holds every signal back for the rest of the open
   * time; HalfOpen lets `halfOpenProbes` run at once as probes and holds the rest back briefly.
   * Every run this admits must be followed by `record`.
   */
  acquire(): number {
    const state = this.state;
    if (state === 'Closed') return 0;
    const now = this.#clock.now();
    if (state === 'Open') {
      this.#deferred++;
      return this.#isolated ? this.#o.openMs : Math.max(1, this.#openFor - (now - this.#openedAt));
    }
    if (this.#probesInFlight >= this.#o.halfOpenProbes && now - this.#lastProbeAt >= this.#o.probeTimeoutMs) {
      this.#probesInFlight = 0;
    }
    if (this.#probesInFlight < this.#o.halfOpenProbes) {
      this.#probesInFlight++;
      this.#lastProbeAt = now;
      return 0;
    }
    this.#deferred++;
    return this.#probeWaitMs;
  }

  /** Records a call's outcome and how long it took. */
  record(ok: boolean, durationMs = 0): void {
    const slow = this.#o.slowCallMs > 0 && durationMs > this.#o.slowCallMs;
    if (!ok) this.#failures++;
    this.#consecutiveFailures = ok ? 0 : this.#consecutiveFailures + 1;
    const state = this.state;
    if (state === 'Open') return; // an outcome of a call admitted before the circuit opened
    if (state === 'HalfOpen') {
      if (this.#probesInFlight > 0) this.#probesInFlight--;
      // A slow probe is a failed probe when the slow-call rule is on.
      if (!ok || (slow && this.#o.slowCallRatePct > 0)) {
        this.#open(ok ? `probe slower than ${this.#o.slowCallMs} ms` : 'probe failed');
      } else if (++this.#probeSuccesses >= this.#o.successesToClose) {
        this.#close(`${this.#probeSuccesses} probe${this.#probeSuccesses > 1 ? 's' : ''} succeeded`);
      }
      return;
    }
    if (this.#consecutiveFailures >= this.#o.threshold) {
      this.#open(`${this.#consecutiveFailures} consecutive failures`);
      return;
    }
    if (!this.#rates) return;
    const now = this.#clock.now();
    this.#window.record(!ok, slow, now);
    const { calls, failures, slow: slowCalls } = this.#window.totals(now);
    if (calls < this.#o.minimumCalls) return;
    const failureRate = pct(failures, calls);
    const slowRate = pct(slowCalls, calls);
    if (this.#o.failureRatePct > 0 && failureRate >= this.#o.failureRatePct) {
      this.#open(`failure rate ${Math.round(failureRate)} % over ${this.#window.description}`);
    } else if (this.#o.slowCallMs > 0 && this.#o.slowCallRatePct > 0 && slowRate >= this.#o.slowCallRatePct) {
      this.#open(
        `${Math.round(slowRate)} % of calls slower than ${this.#o.slowCallMs} ms over ${this.#window.description}`,
      );
    }
  }

  recordSuccess(durationMs = 0): void {
    this.record(true, durationMs);
  }

  recordFailure(durationMs = 0): void {
    this.record(false, durationMs);
  }

  /** Holds the circuit open until `reset`: the operator stops the line. */
  isolate(): void {
    this.#isolated = true;
    if (this.#state !== 'Open') this.#open('isolated by an operator');
  }

  /** Closes the circuit and forgets the failures: the operator restarts the line. */
  reset(): void {
    this.#isolated = false;
    this.#consecutiveFailures = 0;
    this.#close('reset by an operator');
  }

  snapshot(): CircuitSnapshot {
    const state = this.state;
    const now = this.#clock.now();
    const w = this.#window.totals(now);
    return {
      state,
      isolated: this.#isolated,
      consecutiveFailures: this.#consecutiveFailures,
      openings: this.#openings,
      failures: this.#failures,
      rejected: this.#rejected,
      deferred: this.#deferred,
      window: {
        calls: w.calls,
        failureRatePct: pct(w.failures, w.calls),
        slowCallRatePct: pct(w.slow, w.calls),
      },
      retryAfterMs:
        state === 'Open' && !this.#isolated ? Math.max(0, this.#openFor - (now - this.#openedAt)) : 0,
    };
  }

  #open(reason: string): void {
    this.#openedAt = this.#clock.now();
    this.#streak++;
    this.#openFor = Math.min(this.#o.maxOpenMs, this.#o.openMs * 2 ** (this.#streak - 1));
    this.#openings++;
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#moveTo('Open', reason);
  }

  #close(reason: string): void {
    this.#streak = 0;
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#window.clear();
    if (this.#state !== 'Closed') this.#moveTo('Closed', reason);
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
      openMs: to === 'Open' && !this.#isolated ? this.#openFor : 0,
    });
  }
}
