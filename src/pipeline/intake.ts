import type { TpsConfig } from '../config.ts';
import {
  CircuitOpenError,
  InvalidSignalError,
  KanbanFullError,
  NotAcceptingError,
  SignalConflictError,
  SignalNotFoundError,
  SignalShedError,
  UnknownSignalTypeError,
  withoutStack,
} from '../errors.ts';
import { newUuid } from '../ids.ts';
import { shedDepths, shedFillPct } from '../kanban/admission.ts';
import { newRecord, PRIORITY_NAMES, type Priority, type SignalRecord, type WorkSignal } from '../signal.ts';
import { type ParentRef, parseTraceparent } from '../tracing/trace-context.ts';
import { refOf, SPAN_ERROR, SpanKind, type Tracer, type TraceSpan } from '../tracing/tracer.ts';
import type { PipelineParts } from './parts.ts';
import { retried } from './transitions.ts';

/** A request to process one signal. Only `type` is required. */
export interface SubmitRequest {
  readonly type: string;
  readonly priority?: Priority;
  readonly payload?: Readonly<Record<string, unknown>>;
  readonly timeoutMs?: number;
  /** The caller's W3C `traceparent`, continued when valid. */
  readonly traceparent?: string;
  /** The span to continue (the HTTP request's); takes precedence over `traceparent`. */
  readonly parent?: ParentRef;
  /** Resubmitting with the same key returns the signal first accepted with it. */
  readonly idempotencyKey?: string;
}

export interface IntakeOptions {
  readonly maxAttempts: number;
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
  /** TPS_KANBAN_HIGH_WATER: queue fill (percent) from which low priorities are shed. */
  readonly highWaterPct: number;
}

export function intakeOptions(c: TpsConfig): IntakeOptions {
  return {
    maxAttempts: c.maxAttempts,
    defaultTimeoutMs: c.defaultTimeoutMs,
    maxTimeoutMs: c.maxTimeoutMs,
    highWaterPct: c.kanbanHighWaterPct,
  };
}

/** What intake works with; the system owns them all. */
export interface IntakeParts extends PipelineParts {
  /** Why intake is closed (not started, stopping), or undefined while it accepts. */
  readonly closed: () => string | undefined;
}

const NO_PAYLOAD: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The door of the pipeline: a signal is validated, matched to its idempotency key, shed when the
 * buffer is past its high-water mark for its priority, admitted by Jidoka, recorded and published
 * on the Kanban. Whatever refuses it undoes what was done before (the key, the record).
 */
export class Intake {
  readonly #parts: IntakeParts;
  readonly #options: IntakeOptions;
  /** Queue depths from which each priority is shed (index priority − 1). */
  readonly #shedDepths: readonly number[];

  constructor(parts: IntakeParts, options: IntakeOptions) {
    this.#parts = parts;
    this.#options = options;
    this.#shedDepths = shedDepths(parts.queue.capacity, options.highWaterPct);
  }

  /**
   * Accepts a signal: returns its record once it is recorded and enqueued, with `replayed` when
   * the idempotency key named a signal accepted before (nothing new is enqueued then).
   * @throws {NotAcceptingError}, {UnknownSignalTypeError}, {InvalidSignalError},
   *   {SignalConflictError} (key used for another type), {SignalShedError} and {KanbanFullError}
   *   (429), {CircuitOpenError} (503), or the queue's error when it could not publish.
   */
  async submit(request: SubmitRequest): Promise<{ record: SignalRecord; replayed: boolean }> {
    const { kaizen, store } = this.#parts;
    const closed = this.#parts.closed();
    if (closed !== undefined) {
      kaizen.countRejected('not_accepting');
      throw new NotAcceptingError(closed);
    }
    const { priority, timeoutMs } = this.#validate(request);
    const id = newUuid();
    const key = request.idempotencyKey;
    const tracer = this.#parts.tracer();
    const parent = request.parent ?? parseTraceparent(request.traceparent);
    // A library call without a trace gets a root span, so admission and publishing share a trace.
    const root = parent === undefined ? tracer.start('tps.submit', SpanKind.INTERNAL, undefined) : undefined;
    const under = parent ?? refOf(root as TraceSpan);
    try {
      if (key !== undefined) {
        const existing = await this.#claim(key, id, request.type);
        if (existing !== undefined) return { record: existing, replayed: true };
      }
      try {
        this.#shed(priority);
        this.#admit(request.type, under, tracer);
      } catch (refusal) {
        if (key !== undefined) await store.releaseIdempotencyKey(key);
        throw refusal;
      }
      const record = await this.#enqueue(id, request, priority, timeoutMs, under, tracer);
      kaizen.countAccepted(request.type);
      return { record, replayed: false };
    } finally {
      root?.end();
    }
  }

  /**
   * Enqueues a failed or dead-lettered signal again, with a fresh set of attempts. A retry still
   * scheduled for a failed signal is superseded (it is dropped when delivered).
   * @throws {SignalNotFoundError}; {SignalConflictError} unless the signal is failed or
   *   dead-lettered; {KanbanFullError}; {NotAcceptingError}.
   */
  async retry(id: string): Promise<SignalRecord> {
    const { store, queue, logger } = this.#parts;
    const closed = this.#parts.closed();
    if (closed !== undefined) throw new NotAcceptingError(closed);
    const record = await store.get(id);
    if (record === undefined) throw new SignalNotFoundError(id);
    if ((record.state !== 'failed' && record.state !== 'dead_lettered') || record.signal === undefined) {
      throw new SignalConflictError(
        `signal ${id} is ${record.state}; only failed or dead_lettered signals can be retried`,
      );
    }
    const next = retried(record, record.signal);
    await store.update(next.record);
    try {
      await queue.publish(next.signal);
    } catch (error) {
      await store.update(record);
      throw error;
    }
    if (record.state === 'dead_lettered') await queue.removeDeadLetter(id);
    logger.info(
      { signal_id: id, trace_id: record.traceId, epoch: next.record.epoch },
      'signal retried by request',
    );
    return next.record;
  }

  #validate(request: SubmitRequest): { priority: Priority; timeoutMs: number } {
    const { registry } = this.#parts;
    if (!registry.has(request.type)) throw new UnknownSignalTypeError(request.type, registry.types());
    const priority = request.priority ?? 3;
    if (priority !== 1 && priority !== 2 && priority !== 3 && priority !== 4) {
      throw new InvalidSignalError('priority must be an integer from 1 (critical) to 4 (low)', 'priority');
    }
    const { defaultTimeoutMs, maxTimeoutMs } = this.#options;
    const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > maxTimeoutMs) {
      throw new InvalidSignalError(`timeout_ms must be an integer from 1 to ${maxTimeoutMs}`, 'timeout_ms');
    }
    return { priority, timeoutMs };
  }

  /**
   * Claims the idempotency key for `id`; when another signal holds it, returns that signal's record
   * (undefined when the claim succeeded). A key whose signal is gone (its record expired, or a
   * refusal could not release it) is taken over for `id`.
   */
  async #claim(key: string, id: string, type: string): Promise<SignalRecord | undefined> {
    const { store, queue } = this.#parts;
    let holder = await store.claimIdempotencyKey(key, id);
    let existing = holder === undefined ? undefined : await store.get(holder);
    if (holder !== undefined && existing === undefined) {
      await store.releaseIdempotencyKey(key);
      holder = await store.claimIdempotencyKey(key, id);
      // Another request took it meanwhile: that one's signal is the answer.
      existing = holder === undefined ? undefined : await store.get(holder);
    }
    if (existing === undefined) return undefined;
    if (existing.type !== type) {
      throw new SignalConflictError(
        `Idempotency-Key already used for a "${existing.type}" signal (${existing.id})`,
      );
    }
    if (existing.state === 'queued' && existing.signal !== undefined) {
      // The first request may have died between recording the signal and enqueueing it: enqueue
      // again. Queues de-duplicate by signal id, and the check before processing drops a second
      // copy of a signal already finished.
      await queue.publish(existing.signal);
    }
    return existing;
  }

  /**
   * Refuses early when the buffer is visibly full, before Jidoka hands out a probe and before any
   * record is made; publishing still has the last word (a broker can fill up in between). Lower
   * priorities are shed first, from the high-water mark on (see `shedDepths`).
   */
  #shed(priority: Priority): void {
    const { queue, kaizen } = this.#parts;
    const depth = queue.depth();
    if (depth < (this.#shedDepths[priority - 1] as number)) return;
    if (depth >= queue.capacity) {
      kaizen.countRejected('queue_full');
      throw withoutStack(() => new KanbanFullError(queue.capacity, 1000));
    }
    kaizen.countRejected('shed');
    const fill = Math.round((depth * 1000) / queue.capacity) / 10;
    const from = shedFillPct(priority, this.#options.highWaterPct);
    throw withoutStack(() => new SignalShedError(priority, PRIORITY_NAMES[priority], fill, from, 1000));
  }

  /** Jidoka at the door: a stopped line answers 503 with when to come back. */
  #admit(type: string, under: ParentRef, tracer: Tracer): void {
    const { jidoka, kaizen } = this.#parts;
    // Span attributes are built only when spans are exported: an ids-only span drops them.
    const span = tracer.start(
      'jidoka.admit',
      SpanKind.INTERNAL,
      under,
      tracer.exporting ? { 'tps.signal.type': type } : undefined,
    );
    const retryAfterMs = jidoka.admit(type);
    if (retryAfterMs <= 0) {
      span.setAttribute('tps.outcome', 'admitted');
      span.end();
      return;
    }
    const state = jidoka.breaker(type).state;
    span.setAttribute('tps.outcome', 'rejected');
    span.setStatus({ code: SPAN_ERROR, message: `circuit ${state}` });
    span.end();
    kaizen.countRejected('circuit_open');
    throw withoutStack(() => new CircuitOpenError(type, state, retryAfterMs));
  }

  /**
   * Records and publishes the signal, the record first: in memory it is there before any worker
   * can see the signal; on a broker both go out on one connection in that order. A worker that
   * finds no record rebuilds it from the signal, so a failed record write loses nothing; a failed
   * publish takes the record and the key back.
   */
  async #enqueue(
    id: string,
    request: SubmitRequest,
    priority: Priority,
    timeoutMs: number,
    under: ParentRef,
    tracer: Tracer,
  ): Promise<SignalRecord> {
    const { store, queue, clock, kaizen, logger } = this.#parts;
    const span = tracer.start(
      'kanban.publish',
      SpanKind.PRODUCER,
      under,
      tracer.exporting
        ? {
            'tps.signal.id': id,
            'tps.signal.type': request.type,
            'tps.signal.priority': priority,
            'messaging.system': queue.backend,
            'messaging.operation.type': 'send',
          }
        : undefined,
    );
    const context = span.spanContext();
    const signal: WorkSignal = {
      id,
      type: request.type,
      priority,
      payload: request.payload ?? NO_PAYLOAD,
      timeoutMs,
      acceptedAt: clock.wallNow(),
      // The consumer's spans continue the publish span, through the queue.
      traceId: context.traceId,
      parentSpanId: context.spanId,
      traceFlags: context.traceFlags,
      epoch: 0,
    };
    const key = request.idempotencyKey;
    const record = newRecord(signal, this.#options.maxAttempts, key);
    // The write's failure is caught at once (it must not go unhandled while the publish is
    // pending) and looked at once both have settled.
    const created = store
      .create(record)
      .then(noError, (error: unknown) => error ?? new Error('write failed'));
    try {
      await queue.publish(signal);
    } catch (error) {
      span.setStatus({ code: SPAN_ERROR, message: String((error as Error).message) });
      span.end();
      await created;
      await store.delete(id).catch(() => undefined);
      if (key !== undefined) await store.releaseIdempotencyKey(key).catch(() => undefined);
      kaizen.countRejected(error instanceof KanbanFullError ? 'queue_full' : 'not_accepting');
      throw error;
    }
    span.end();
    const writeError = await created;
    if (writeError !== undefined) {
      logger.warn(
        { err: writeError, signal_id: id, trace_id: signal.traceId, span_id: context.spanId },
        'status record not written; the worker will rebuild it',
      );
    }
    return record;
  }
}

const noError = (): undefined => undefined;
