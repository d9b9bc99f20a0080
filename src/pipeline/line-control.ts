import type { Andon } from '../andon/board.ts';
import { UnknownSignalTypeError } from '../errors.ts';
import type { HandlerRegistry } from '../handlers/registry.ts';
import type { CircuitSnapshot } from '../jidoka/circuit-breaker.ts';
import type { Jidoka } from '../jidoka/jidoka.ts';
import type { Logger } from '../logger.ts';

export interface LineControlParts {
  readonly registry: HandlerRegistry;
  readonly jidoka: Jidoka;
  readonly andon: Andon;
  readonly logger: Logger;
}

/** The operator's hand on a line: stop it (isolate) or restart it (reset), by signal type. */
export class LineControl {
  readonly #parts: LineControlParts;

  constructor(parts: LineControlParts) {
    this.#parts = parts;
  }

  /**
   * Holds the circuit of `type` open until `reset`: new signals get 503; workers hold queued ones
   * back.
   * @throws {UnknownSignalTypeError} when no handler is registered for `type`.
   */
  isolate(type: string): CircuitSnapshot {
    const { jidoka, andon, logger } = this.#parts;
    this.#known(type);
    const wasOpen = jidoka.breaker(type).state === 'Open';
    const snapshot = jidoka.isolate(type);
    // Already open: no transition, but the board still records the operator's act.
    if (wasOpen) andon.alert('jidoka', 'RED', `circuit ${type} isolated by an operator`);
    logger.warn({ signal_type: type }, 'line isolated by an operator');
    return snapshot;
  }

  /**
   * Closes the circuit of `type` and forgets its failures.
   * @throws {UnknownSignalTypeError} when no handler is registered for `type`.
   */
  reset(type: string): CircuitSnapshot {
    this.#known(type);
    const snapshot = this.#parts.jidoka.reset(type);
    this.#parts.logger.info({ signal_type: type }, 'line reset by an operator');
    return snapshot;
  }

  #known(type: string): void {
    const { registry } = this.#parts;
    if (!registry.has(type)) throw new UnknownSignalTypeError(type, registry.types(), 'path');
  }
}
