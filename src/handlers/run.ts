import { HandlerTimeoutError } from '../errors.ts';
import type { HandlerResult, WorkSignal } from '../signal.ts';
import type { HandlerContext, SignalHandler } from './registry.ts';

export interface RunOutcome {
  readonly ok: boolean;
  readonly message: string | undefined;
  readonly data: unknown;
  readonly error: unknown;
}

/** A running attempt's deadline: a node in the list of deadlines of its timeout length. */
class Deadline {
  readonly at: number;
  readonly attempt: Attempt;
  readonly line: DeadlineLine;
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  /** In its line: from `add` until `remove`. */
  linked = true;

  constructor(at: number, attempt: Attempt, line: DeadlineLine) {
    this.at = at;
    this.attempt = attempt;
    this.line = line;
  }
}

/**
 * The deadlines of every running attempt with one timeout length, earliest first, under one
 * timer. With a Node.js timer per attempt (set when it starts, cleared when it ends) an attempt's
 * bookkeeping took 1.26–1.48 µs in process, 0.86 µs this way (BENCHMARKS.md (o)): an attempt adds
 * a node at the end and unlinks it when it ends, and the line's one timer waits for its earliest
 * deadline. Attempts of one length start in time order, so appending keeps the line sorted.
 * Deadlines are read on `performance.now()`; the timer may wake a little early (Node.js times it
 * from the event loop's cached clock) and is then set again for what is left.
 */
class DeadlineLine {
  static readonly #lines = new Map<number, DeadlineLine>();
  readonly #ms: number;
  #head: Deadline | undefined;
  #tail: Deadline | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(ms: number) {
    this.#ms = ms;
  }

  /** Puts `attempt`'s deadline, `ms` from now, in the line of that length. */
  static add(attempt: Attempt, ms: number): Deadline {
    let line = DeadlineLine.#lines.get(ms);
    if (line === undefined) {
      line = new DeadlineLine(ms);
      DeadlineLine.#lines.set(ms, line);
    }
    const deadline = new Deadline(performance.now() + ms, attempt, line);
    const tail = line.#tail;
    if (tail === undefined) {
      line.#head = deadline;
      line.#arm(ms);
    } else {
      tail.next = deadline;
      deadline.prev = tail;
    }
    line.#tail = deadline;
    return deadline;
  }

  /** Takes `deadline` out of its line (its attempt ended, or its time came); once only. */
  static remove(deadline: Deadline): void {
    if (!deadline.linked) return;
    deadline.linked = false;
    const line = deadline.line;
    const { prev, next } = deadline;
    if (prev === undefined) line.#head = next;
    else prev.next = next;
    if (next === undefined) line.#tail = prev;
    else next.prev = prev;
    deadline.prev = undefined;
    deadline.next = undefined;
    if (line.#head === undefined) {
      clearTimeout(line.#timer);
      line.#timer = undefined;
      DeadlineLine.#lines.delete(line.#ms);
    }
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(DeadlineLine.#due, Math.max(1, Math.ceil(ms)), this);
  }

  /** The timer: ends every attempt whose deadline has come, then waits for the next one. */
  static #due(line: DeadlineLine): void {
    line.#timer = undefined;
    const now = performance.now();
    for (let d = line.#head; d !== undefined && d.at <= now; d = line.#head) {
      DeadlineLine.remove(d);
      d.attempt.expire();
    }
    const head = line.#head;
    if (head !== undefined && line.#timer === undefined) line.#arm(head.at - now);
  }
}

/**
 * One attempt of one handler: its context, its deadline and how it ends. A single object per
 * attempt (no closures), and the AbortController is only made if the handler asks for
 * `abortSignal`: many handlers never do, and each live object costs the garbage collector while
 * the handler waits.
 */
class Attempt implements HandlerContext {
  readonly attempt: number;
  readonly workerId: string;
  readonly traceId: string;
  readonly #signal: WorkSignal;
  readonly #running: Set<Attempt>;
  readonly #deadline: Deadline;
  #controller: AbortController | undefined;
  #resolve: ((outcome: RunOutcome) => void) | undefined;

  constructor(
    signal: WorkSignal,
    attempt: number,
    workerId: string,
    running: Set<Attempt>,
    resolve: (outcome: RunOutcome) => void,
  ) {
    this.attempt = attempt;
    this.workerId = workerId;
    this.traceId = signal.traceId;
    this.#signal = signal;
    this.#running = running;
    this.#resolve = resolve;
    running.add(this);
    this.#deadline = DeadlineLine.add(this, signal.timeoutMs);
  }

  get abortSignal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  /** Aborts the handler (if it listens) and ends the attempt as failed with `reason`. */
  abort(reason: unknown): void {
    this.#controller?.abort(reason);
    this.fail(reason);
  }

  succeed(value: HandlerResult | string | undefined): void {
    if (typeof value === 'string') this.#finish(true, value, undefined, undefined);
    else if (value === undefined || value === null) this.#finish(true, undefined, undefined, undefined);
    else this.#finish(true, value.message, value.data, undefined);
  }

  fail(error: unknown): void {
    this.#finish(false, undefined, undefined, error);
  }

  #finish(ok: boolean, message: string | undefined, data: unknown, error: unknown): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return; // already ended: a late result after the deadline is ignored
    this.#resolve = undefined;
    DeadlineLine.remove(this.#deadline);
    this.#running.delete(this);
    resolve({ ok, message, data, error });
  }

  /** Its deadline came: the handler is aborted and the attempt fails as timed out. */
  expire(): void {
    this.abort(new HandlerTimeoutError(this.#signal.timeoutMs));
  }
}

export type { Attempt };

/** Aborts every attempt in `running` (used when the system stops with handlers still busy). */
export function abortAll(running: Set<Attempt>, reason: unknown): void {
  for (const attempt of running) attempt.abort(reason);
}

/**
 * Runs `handler` under the signal's deadline. At the deadline the handler's abort signal fires
 * and the outcome is a timeout failure, even if the handler ignores the signal. While it runs the
 * attempt is in `running`, so its owner can abort every running handler.
 */
export function runHandler(
  handler: SignalHandler,
  signal: WorkSignal,
  attempt: number,
  workerId: string,
  running: Set<Attempt>,
): Promise<RunOutcome> {
  return new Promise<RunOutcome>((resolve) => {
    const run = new Attempt(signal, attempt, workerId, running, resolve);
    let pending: ReturnType<SignalHandler>;
    try {
      pending = handler(signal, run);
    } catch (error) {
      run.fail(error);
      return;
    }
    if (
      pending !== null &&
      typeof pending === 'object' &&
      typeof (pending as Promise<unknown>).then === 'function'
    ) {
      (pending as Promise<HandlerResult | string | undefined>).then(
        (value) => run.succeed(value),
        (error: unknown) => run.fail(error),
      );
    } else {
      run.succeed(pending as HandlerResult | string | undefined);
    }
  });
}
