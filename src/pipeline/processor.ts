import type { TpsConfig } from '../config.ts';
import { PermanentError } from '../errors.ts';
import { type Attempt, abortAll, type RunOutcome, runHandler } from '../handlers/run.ts';
import type { Delivery } from '../kanban/queue.ts';
import { isTerminal, newRecord, type SignalRecord } from '../signal.ts';
import { refOf, SPAN_ERROR, SpanKind, type TraceSpan } from '../tracing/tracer.ts';
import type { PipelineParts } from './parts.ts';
import { completed, deadLettered, heldBack, retrying, started } from './transitions.ts';

export interface ProcessorOptions {
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Source of randomness for retry jitter (tests make it fixed). */
  readonly random: () => number;
}

export function processorOptions(c: TpsConfig, random: () => number): ProcessorOptions {
  return { maxAttempts: c.maxAttempts, retryBaseMs: c.retryBaseMs, retryMaxMs: c.retryMaxMs, random };
}

/** What the processor works with; the system owns them all. */
export interface ProcessorParts extends PipelineParts {
  /** Told of every record that reached a final state (the waiters). */
  readonly finished: (record: SignalRecord) => void;
  /** Told when a signal was dead-lettered (the Andon board looks again). */
  readonly deadLettered: () => void;
}

/** A shared store learns a signal is processing once it has been for this long. */
const NOTE_AFTER_MS = 50;
/** How long a second copy of a signal running in this process waits before it is delivered again. */
const RUNNING_COPY_DELAY_MS = 1_000;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One delivery, one attempt: the record is read, the delivery screened (stale, already running,
 * out of attempts, line stopped), the handler run under its deadline, and the outcome written
 * before the delivery is settled (completed → ack; failed → nak with backoff; no attempt left or a
 * permanent failure → dead letter). A fault of the store or the queue hands the delivery back:
 * nothing is dropped.
 */
export class Processor {
  readonly #parts: ProcessorParts;
  readonly #options: ProcessorOptions;
  /** Attempts whose handler is running, so stopping can abort them. */
  readonly #running = new Set<Attempt>();
  /** Records now processing that a shared store has not been told of yet (see `#noteSlow`). */
  readonly #unnoted = new Set<SignalRecord>();
  #noteTimer: NodeJS.Timeout | undefined;

  constructor(parts: ProcessorParts, options: ProcessorOptions) {
    this.#parts = parts;
    this.#options = options;
  }

  start(): void {
    if (!this.#parts.store.shared || this.#noteTimer !== undefined) return;
    this.#noteTimer = setInterval(() => this.#noteSlow(), NOTE_AFTER_MS);
    this.#noteTimer.unref();
  }

  /** Aborts every running handler (their attempts fail with `reason`) and stops the note timer. */
  stop(reason: unknown): void {
    abortAll(this.#running, reason);
    clearInterval(this.#noteTimer);
    this.#noteTimer = undefined;
  }

  /** Processes one delivery to its end; never rejects. */
  async process(delivery: Delivery, workerId: string): Promise<void> {
    const { queue, logger } = this.#parts;
    const signal = delivery.signal;
    const tracer = this.#parts.tracer();
    // The trace continues from the publish span, carried in the signal (in broker headers too).
    const span = tracer.start(
      'kanban.consume',
      SpanKind.CONSUMER,
      { traceId: signal.traceId, spanId: signal.parentSpanId, sampled: (signal.traceFlags & 1) === 1 },
      tracer.exporting
        ? {
            'tps.signal.id': signal.id,
            'tps.signal.type': signal.type,
            'tps.signal.priority': signal.priority,
            'tps.attempt': delivery.attempt,
            'tps.worker.id': workerId,
            'messaging.system': queue.backend,
            'messaging.operation.type': 'process',
          }
        : undefined,
    );
    let outcome = 'error';
    try {
      outcome = await this.#attempt(delivery, workerId, span);
    } catch (error) {
      span.setStatus({ code: SPAN_ERROR, message: errorText(error) });
      const ids = { signal_id: signal.id, trace_id: signal.traceId, span_id: span.spanContext().spanId };
      logger.error({ err: error, ...ids }, 'processing failed outside the handler; redelivering');
      try {
        await queue.nak(delivery, this.#backoffMs(delivery.attempt));
      } catch (nakError) {
        logger.error({ err: nakError, ...ids }, 'could not hand the signal back');
      }
    } finally {
      span.setAttribute('tps.outcome', outcome);
      span.end();
    }
  }

  /** Screens the delivery, runs it when it should run, and returns the outcome's label. */
  async #attempt(delivery: Delivery, workerId: string, span: TraceSpan): Promise<string> {
    const { store, queue, jidoka } = this.#parts;
    const record = await this.#load(delivery);
    if (record.epoch !== delivery.signal.epoch || isTerminal(record.state)) {
      // Superseded by a manual retry, or already settled: settle this copy without running it.
      await this.#traced(span, 'kanban.ack', () => queue.ack(delivery));
      return 'skipped';
    }
    if (!store.shared && record.state === 'processing') {
      // A store of this process only says `processing` while the signal runs here: this is a second
      // copy (an Idempotency-Key replay re-published it to a broker that does not de-duplicate, or
      // the broker redelivered it after losing our channel). Not run twice, and not acked either:
      // handed back, it stays with the broker until the run here has ended (then it is skipped
      // above), so a crash during that run still loses nothing.
      await this.#traced(span, 'kanban.nak', () => queue.nak(delivery, RUNNING_COPY_DELAY_MS));
      return 'deferred';
    }
    // A broker counts a held-back delivery as a delivery; the signal's attempts do not.
    const attempt = delivery.attempt - record.deferrals;
    if (attempt > record.maxAttempts) {
      // Redelivered past its attempts without an outcome (crashes or stalls): not run again.
      await this.#deadLetter(delivery, record, `no outcome after ${attempt - 1} deliveries`, span);
      return 'dead_lettered';
    }
    // Jidoka on the line: while the circuit of its type is open (or its probes are taken), the
    // signal is not run to fail again; it is handed back to wait, not counted as an attempt.
    const holdMs = jidoka.acquire(record.type);
    if (holdMs > 0) {
      await this.#holdBack(delivery, record, holdMs, span);
      return 'held';
    }
    return this.#run(delivery, record, attempt, workerId, span);
  }

  /**
   * The signal's record. A shared store costs a round trip per read: a first delivery of a
   * never-retried signal cannot be stale or finished (publishes are de-duplicated), so it needs none.
   */
  async #load(delivery: Delivery): Promise<SignalRecord> {
    const { store } = this.#parts;
    const signal = delivery.signal;
    if (store.shared && delivery.attempt === 1 && signal.epoch === 0) {
      return newRecord(signal, this.#options.maxAttempts);
    }
    const found = await store.get(signal.id);
    if (found !== undefined) return found;
    // Only possible if the record was lost (a failed write at intake, a store restart): rebuild it.
    const rebuilt = newRecord(signal, this.#options.maxAttempts);
    await store.create(rebuilt);
    return rebuilt;
  }

  async #run(
    delivery: Delivery,
    queued: SignalRecord,
    attempt: number,
    workerId: string,
    span: TraceSpan,
  ): Promise<string> {
    const { store, queue, jidoka, kaizen, clock } = this.#parts;
    const signal = delivery.signal;
    const startedAt = clock.wallNow();
    if (attempt === 1) kaizen.recordWait(signal.type, startedAt - signal.acceptedAt);
    const record = started(queued, attempt, workerId, startedAt);
    // A shared store is told only of signals still running after NOTE_AFTER_MS: for quick ones
    // nobody could see "processing" anyway, and it would cost a write per signal. The outcome's
    // write (awaited before the ack) supersedes it.
    if (store.shared) this.#unnoted.add(record);
    else store.note(record);
    // Deliveries that arrived together are all dispatched before any of them runs (BENCHMARKS.md,
    // the table of tricks: "one microtask yield before each handler").
    await undefined;

    const t0 = clock.now();
    const outcome = await this.#runHandler(signal, attempt, workerId, span);
    this.#unnoted.delete(record);
    const durationMs = clock.now() - t0;
    const finishedAt = clock.wallNow();
    jidoka.record(signal.type, outcome.ok, durationMs);

    if (outcome.ok) {
      const done = completed(record, outcome, finishedAt, durationMs);
      await store.update(done);
      await this.#traced(span, 'kanban.ack', () => queue.ack(delivery));
      kaizen.recordFinished(signal.type, true, durationMs, finishedAt - signal.acceptedAt);
      this.#logOutcome('debug', done, span, 'completed', 'signal completed');
      this.#parts.finished(done);
      return 'completed';
    }

    const error = errorText(outcome.error);
    if (outcome.error instanceof PermanentError || attempt >= record.maxAttempts) {
      const dead = await this.#deadLetter(delivery, record, error, span, durationMs);
      this.#logOutcome('warn', dead, span, 'dead_lettered', 'signal dead-lettered');
      return 'dead_lettered';
    }
    const delayMs = this.#backoffMs(attempt);
    const failed = retrying(record, error, finishedAt, durationMs, delayMs);
    await store.update(failed);
    await this.#traced(span, 'kanban.nak', () => queue.nak(delivery, delayMs));
    kaizen.countRetry(signal.type);
    this.#logOutcome('debug', failed, span, 'retrying', 'signal attempt failed', { retry_in_ms: delayMs });
    return 'retrying';
  }

  /** Runs the handler of the signal's type (in its own span when spans are exported). */
  async #runHandler(
    signal: Delivery['signal'],
    attempt: number,
    workerId: string,
    span: TraceSpan,
  ): Promise<RunOutcome> {
    const tracer = this.#parts.tracer();
    const handler = this.#parts.registry.get(signal.type);
    const handlerSpan = tracer.exporting
      ? tracer.start(`handler.${signal.type}`, SpanKind.INTERNAL, refOf(span), { 'tps.attempt': attempt })
      : undefined;
    const outcome: RunOutcome =
      handler === undefined
        ? {
            ok: false,
            message: undefined,
            data: undefined,
            error: new PermanentError(`no handler registered for "${signal.type}"`),
          }
        : await runHandler(handler, signal, attempt, workerId, this.#running);
    if (handlerSpan !== undefined) {
      handlerSpan.setAttribute('tps.outcome', outcome.ok ? 'ok' : 'failed');
      if (!outcome.ok) handlerSpan.setStatus({ code: SPAN_ERROR, message: errorText(outcome.error) });
      handlerSpan.end();
    }
    return outcome;
  }

  async #deadLetter(
    delivery: Delivery,
    record: SignalRecord,
    error: string,
    span: TraceSpan,
    durationMs?: number,
  ): Promise<SignalRecord> {
    const { store, queue, kaizen, clock } = this.#parts;
    const finishedAt = clock.wallNow();
    const dead = deadLettered(record, error, finishedAt, durationMs);
    await store.update(dead);
    await this.#traced(span, 'kanban.dead_letter', () => queue.deadLetter(delivery, error));
    const signal = delivery.signal;
    kaizen.recordFinished(signal.type, false, durationMs ?? 0, finishedAt - signal.acceptedAt);
    this.#parts.finished(dead);
    this.#parts.deadLettered();
    return dead;
  }

  /** Hands a delivery back to wait `holdMs` while its line is stopped. */
  async #holdBack(delivery: Delivery, record: SignalRecord, holdMs: number, span: TraceSpan): Promise<void> {
    const { store, queue, jidoka, clock } = this.#parts;
    const state = jidoka.breaker(record.type).state;
    const held = heldBack(record, clock.wallNow(), holdMs, `held back: circuit ${record.type} ${state}`);
    // Written before the hand-back, so whichever worker gets it next counts its attempts right.
    await store.update(held);
    await this.#traced(span, 'kanban.hold', () => queue.nak(delivery, holdMs));
  }

  /** Settles a delivery, in a child span of `parent` when spans are exported. */
  #traced(parent: TraceSpan, name: string, settle: () => Promise<void>): Promise<void> {
    return this.#parts.tracer().exporting ? this.#inSpan(parent, name, settle) : settle();
  }

  async #inSpan(parent: TraceSpan, name: string, settle: () => Promise<void>): Promise<void> {
    const span = this.#parts.tracer().start(name, SpanKind.INTERNAL, refOf(parent));
    try {
      await settle();
    } catch (error) {
      span.setStatus({ code: SPAN_ERROR, message: errorText(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  #backoffMs(attempt: number): number {
    const { retryBaseMs, retryMaxMs, random } = this.#options;
    const exp = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
    // Equal jitter: at least half the backoff, so retries of a burst spread out but never rush.
    return Math.round(exp / 2 + (random() * exp) / 2);
  }

  #logOutcome(
    level: 'debug' | 'warn',
    record: SignalRecord,
    span: TraceSpan,
    outcome: string,
    message: string,
    extra?: Record<string, unknown>,
  ): void {
    const { logger } = this.#parts;
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        signal_id: record.id,
        trace_id: record.traceId,
        span_id: span.spanContext().spanId,
        signal_type: record.type,
        worker_id: record.workerId,
        attempts: record.attempts,
        duration_ms: record.durationMs,
        ...(record.error === undefined ? {} : { error: record.error }),
        outcome,
        ...extra,
      },
      message,
    );
  }

  /** Tells a shared store of the signals processing for longer than NOTE_AFTER_MS. */
  #noteSlow(): void {
    if (this.#unnoted.size === 0) return;
    const cutoff = this.#parts.clock.wallNow() - NOTE_AFTER_MS;
    for (const record of this.#unnoted) {
      if ((record.startedAt ?? 0) > cutoff) continue;
      this.#unnoted.delete(record);
      this.#parts.store.note(record);
    }
  }
}
