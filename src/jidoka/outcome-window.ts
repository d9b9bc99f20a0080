/** Calls, failures and slow calls over a sliding window; O(1) to record and to read. */
export interface OutcomeWindow {
  record(failed: boolean, slow: boolean, nowMs: number): void;
  totals(nowMs: number): { readonly calls: number; readonly failures: number; readonly slow: number };
  clear(): void;
  /** How the window reads in a reason ("the last 20 calls", "the last 60 s"). */
  readonly description: string;
}

/** The last `size` calls. */
export class CountWindow implements OutcomeWindow {
  readonly description: string;
  readonly #flags: Uint8Array;
  #next = 0;
  #calls = 0;
  #failures = 0;
  #slow = 0;

  constructor(size: number) {
    this.#flags = new Uint8Array(size);
    this.description = `the last ${size} calls`;
  }

  record(failed: boolean, slow: boolean): void {
    if (this.#calls === this.#flags.length) {
      const old = this.#flags[this.#next] as number;
      this.#failures -= old & 1;
      this.#slow -= (old >> 1) & 1;
    } else {
      this.#calls++;
    }
    this.#flags[this.#next] = (failed ? 1 : 0) | (slow ? 2 : 0);
    this.#failures += failed ? 1 : 0;
    this.#slow += slow ? 1 : 0;
    this.#next = (this.#next + 1) % this.#flags.length;
  }

  totals() {
    return { calls: this.#calls, failures: this.#failures, slow: this.#slow };
  }

  clear(): void {
    this.#flags.fill(0);
    this.#next = 0;
    this.#calls = 0;
    this.#failures = 0;
    this.#slow = 0;
  }
}

/** The last `seconds`, in one-second buckets; totals kept running as buckets expire. */
export class TimeWindow implements OutcomeWindow {
  readonly description: string;
  readonly #stamp: Float64Array;
  readonly #calls: Uint32Array;
  readonly #failures: Uint32Array;
  readonly #slow: Uint32Array;
  #total = { calls: 0, failures: 0, slow: 0 };

  constructor(seconds: number) {
    this.#stamp = new Float64Array(seconds).fill(-1);
    this.#calls = new Uint32Array(seconds);
    this.#failures = new Uint32Array(seconds);
    this.#slow = new Uint32Array(seconds);
    this.description = `the last ${seconds} s`;
  }

  record(failed: boolean, slow: boolean, nowMs: number): void {
    const i = this.#slot(nowMs);
    (this.#calls[i] as number)++;
    if (failed) (this.#failures[i] as number)++;
    if (slow) (this.#slow[i] as number)++;
    this.#total.calls++;
    if (failed) this.#total.failures++;
    if (slow) this.#total.slow++;
  }

  totals(nowMs: number) {
    // Expire every bucket that fell out of the window since the last look.
    const second = Math.floor(nowMs / 1000);
    for (let i = 0; i < this.#stamp.length; i++) {
      const stamp = this.#stamp[i] as number;
      if (stamp >= 0 && stamp <= second - this.#stamp.length) this.#expire(i);
    }
    return { ...this.#total };
  }

  clear(): void {
    this.#stamp.fill(-1);
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#slow.fill(0);
    this.#total = { calls: 0, failures: 0, slow: 0 };
  }

  #slot(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    const i = second % this.#stamp.length;
    if (this.#stamp[i] !== second) {
      this.#expire(i);
      this.#stamp[i] = second;
    }
    return i;
  }

  #expire(i: number): void {
    this.#total.calls -= this.#calls[i] as number;
    this.#total.failures -= this.#failures[i] as number;
    this.#total.slow -= this.#slow[i] as number;
    this.#calls[i] = 0;
    this.#failures[i] = 0;
    this.#slow[i] = 0;
    this.#stamp[i] = -1;
  }
}
