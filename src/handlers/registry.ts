import { InvalidSignalError } from '../errors.ts';
import type { HandlerResult, WorkSignal } from '../signal.ts';

/** What a handler receives besides the signal. */
export interface HandlerContext {
  /** Aborted when the signal's `timeout_ms` passes or the system stops: stop work then. */
  readonly abortSignal: AbortSignal;
  /** 1 for the first run, then 2, 3, … on retries. */
  readonly attempt: number;
  readonly workerId: string;
  readonly traceId: string;
}

/**
 * Processes one signal. Resolve (with a message string, a `HandlerResult` or nothing) for
 * success; throw to fail the attempt (it is retried with backoff), or throw `PermanentError`
 * to dead-letter the signal at once.
 */
export type SignalHandler = (
  signal: WorkSignal,
  ctx: HandlerContext,
) => Promise<HandlerResult | string | undefined> | HandlerResult | string | undefined;

const TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** The signal types the system knows, each with its handler. */
export class HandlerRegistry {
  readonly #handlers = new Map<string, SignalHandler>();
  #known: readonly string[] = [];

  register(type: string, handler: SignalHandler): void {
    if (!TYPE_NAME.test(type)) {
      throw new InvalidSignalError(
        `signal type "${type}" must be 1–64 characters: letters, digits, and _ . : - after the first`,
        'signal_type',
      );
    }
    if (typeof handler !== 'function') throw new TypeError(`handler for "${type}" must be a function`);
    this.#handlers.set(type, handler);
    this.#known = [...this.#handlers.keys()].sort();
  }

  get(type: string): SignalHandler | undefined {
    return this.#handlers.get(type);
  }

  has(type: string): boolean {
    return this.#handlers.has(type);
  }

  /** Registered types, sorted. */
  types(): readonly string[] {
    return this.#known;
  }
}
