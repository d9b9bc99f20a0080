import { HandlerTimeoutError } from '../errors.ts';
import type { HandlerResult, WorkSignal } from '../signal.ts';
import type { HandlerContext, SignalHandler } from './registry.ts';

export interface RunOutcome {
  readonly ok: boolean;
  readonly message: string | undefined;
  readonly data: unknown;
  readonly error: unknown;
}

/**
 * One attempt of one handler: its context, its deadline and how it ends. The AbortController is
 * made only if the handler asks for `abortSignal`: many handlers never do.
 */
class Attempt implements HandlerContext {
  readonly attempt: number;
  readonly workerId: string;
  readonly traceId: string;
  readonly #running: Set<Attempt>;
  readonly #timer: NodeJS.Timeout;
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
    this.#running = running;
    this.#resolve = resolve;
    running.add(this);
    this.#timer = setTimeout(() => this.abort(new HandlerTimeoutError(signal.timeoutMs)), signal.timeoutMs);
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
    clearTimeout(this.#timer);
    this.#running.delete(this);
    resolve({ ok, message, data, error });
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
