/** Time as the system reads it; tests pass a fake one. */
export interface Clock {
  /** Monotonic milliseconds (fractional); only differences are meaningful. */
  now(): number;
  /** Epoch milliseconds (fractional). */
  wallNow(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => performance.timeOrigin + performance.now(),
};

/** A clock that only moves when told to. */
export class FakeClock implements Clock {
  #mono: number;
  #wallOffset: number;

  constructor(start = 1_000, wallStart = Date.UTC(2026, 0, 1)) {
    this.#mono = start;
    this.#wallOffset = wallStart - start;
  }

  now(): number {
    return this.#mono;
  }

  wallNow(): number {
    return this.#mono + this.#wallOffset;
  }

  advance(ms: number): void {
    this.#mono += ms;
  }
}
