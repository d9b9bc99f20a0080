/**
 * When the Andon board is recomputed: on a steady beat, and soon after an event that may change
 * it (a circuit opening, a dead letter, a crash), at most once per turn of the event loop.
 */
export class AndonPacer {
  readonly #evaluate: () => void;
  readonly #everyMs: number;
  #timer: NodeJS.Timeout | undefined;
  #soon = false;

  constructor(evaluate: () => void, everyMs: number) {
    this.#evaluate = evaluate;
    this.#everyMs = everyMs;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.now(), this.#everyMs);
    this.#timer.unref();
    this.now();
  }

  /** Recomputes now. */
  now(): void {
    this.#soon = false;
    this.#evaluate();
  }

  /** Pulls the Andon cord: recomputes on the next turn. Ignored once stopped or before start. */
  soon(): void {
    if (this.#soon || this.#timer === undefined) return;
    this.#soon = true;
    setImmediate(() => {
      if (this.#soon && this.#timer !== undefined) this.now();
    });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#soon = false;
  }
}
