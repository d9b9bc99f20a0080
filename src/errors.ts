/**
 * The errors the system raises on purpose. Each has a stable `code`; the HTTP layer maps codes to
 * status codes in one place (`http/errors.ts`). Anything else reaching a client is an internal
 * error and is answered with a 500 that hides its message.
 */
export class TpsError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value is missing or outside what the variable accepts. */
export class ConfigError extends TpsError {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super('invalid_config', `${variable}: ${message}`);
    this.variable = variable;
  }
}

/** A signal or request field is invalid; `field` names it (dotted path). */
export class InvalidSignalError extends TpsError {
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super('invalid_signal', message);
    this.field = field;
  }
}

/** No handler is registered for the signal type. */
export class UnknownSignalTypeError extends TpsError {
  readonly signalType: string;
  readonly knownTypes: readonly string[];
  /** Named in a request body (400) or as the resource in the path (404). */
  readonly where: 'body' | 'path';

  constructor(signalType: string, knownTypes: readonly string[], where: 'body' | 'path' = 'body') {
    super(
      'unknown_signal_type',
      `unknown signal_type "${signalType}"; known types: ${knownTypes.join(', ') || '(none registered)'}`,
    );
    this.signalType = signalType;
    this.knownTypes = knownTypes;
    this.where = where;
  }
}

/** Jidoka stopped the line for this signal type: the circuit is open. */
export class CircuitOpenError extends TpsError {
  readonly signalType: string;
  readonly state: string;
  readonly retryAfterMs: number;

  constructor(signalType: string, state: string, retryAfterMs: number) {
    super(
      'circuit_open',
      `circuit for signal type "${signalType}" is ${state}; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
    this.signalType = signalType;
    this.state = state;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The Kanban buffer is full (WIP limit reached): the caller should retry later. */
export class KanbanFullError extends TpsError {
  readonly capacity: number;
  readonly retryAfterMs: number;

  constructor(capacity: number, retryAfterMs: number) {
    super('queue_full', `kanban buffer is full (${capacity} signals waiting); retry later`);
    this.capacity = capacity;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The queue is past the fill at which signals of this priority are shed (admission control): lower
 * priorities go first so critical work still finds room. The caller should retry later.
 */
export class SignalShedError extends TpsError {
  readonly priority: number;
  readonly fillPct: number;
  readonly shedFromPct: number;
  readonly retryAfterMs: number;

  constructor(
    priority: number,
    priorityName: string,
    fillPct: number,
    shedFromPct: number,
    retryAfterMs: number,
  ) {
    super(
      'shed',
      `kanban is ${fillPct} % full; priority ${priority} (${priorityName}) signals are shed from ${shedFromPct} % to keep room for higher priorities; retry later`,
    );
    this.priority = priority;
    this.fillPct = fillPct;
    this.shedFromPct = shedFromPct;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The Kanban's broker cannot take the signal right now (disconnected, timed out). */
export class QueueUnavailableError extends TpsError {
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs = 2000, options?: ErrorOptions) {
    super('queue_unavailable', message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The system is stopping (or not started) and takes no new work. */
export class NotAcceptingError extends TpsError {
  constructor(reason: string) {
    super('not_accepting', reason);
  }
}

/** No signal with this id is known (never accepted, or evicted after its retention). */
export class SignalNotFoundError extends TpsError {
  readonly signalId: string;

  constructor(signalId: string) {
    super('signal_not_found', `no signal with id "${signalId}"`);
    this.signalId = signalId;
  }
}

/** The request conflicts with the signal's current state (e.g. retrying a completed signal). */
export class SignalConflictError extends TpsError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/**
 * Thrown by a handler to say the signal can never succeed: it is dead-lettered at once instead of
 * being retried.
 */
export class PermanentError extends TpsError {
  constructor(message: string, options?: ErrorOptions) {
    super('permanent_failure', message, options);
  }
}

/** The handler did not finish within the signal's `timeout_ms`. */
export class HandlerTimeoutError extends TpsError {
  constructor(timeoutMs: number) {
    super('handler_timeout', `handler did not finish within ${timeoutMs} ms`);
  }
}

/**
 * Builds an error without capturing a stack trace. For refusals that are part of normal operation
 * under load (queue full, circuit open): their stack says nothing and capturing it is most of
 * their cost.
 */
export function withoutStack<T extends Error>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function isTpsError(value: unknown): value is TpsError {
  return value instanceof TpsError;
}
