import { Andon, type AndonChange, andonThresholds } from './andon/board.ts';
import { AndonPacer } from './andon/pacer.ts';
import type { BoardView } from './andon/view.ts';
import { type Backends, createBackends } from './backends.ts';
import { type Clock, systemClock } from './clock.ts';
import { resolveConfig, type TpsConfig } from './config.ts';
import { SignalNotFoundError } from './errors.ts';
import { HandlerRegistry, type SignalHandler } from './handlers/registry.ts';
import { poolOptions, WorkerPool } from './heijunka/worker-pool.ts';
import {
  COMPACTION_OFF,
  type IdleCompactionHooks,
  type IdleCompactionStatus,
  type IdleCompactor,
  idleCompactor,
} from './idle-compaction.ts';
import { breakerOptions, Jidoka } from './jidoka/jidoka.ts';
import { Kaizen } from './kaizen/metrics.ts';
import type { Delivery, KanbanQueue } from './kanban/queue.ts';
import { createLogger, type Logger } from './logger.ts';
import { Exposition } from './observability/exposition.ts';
import type {
  CircuitBody,
  HealthReport,
  HeijunkaReport,
  JidokaReport,
  MetricsReport,
  Readings,
  SystemState,
} from './observability/views.ts';
import * as views from './observability/views.ts';
import { Intake, intakeOptions, type SubmitRequest } from './pipeline/intake.ts';
import { LineControl } from './pipeline/line-control.ts';
import { Processor, processorOptions } from './pipeline/processor.ts';
import { Waiters } from './pipeline/waiters.ts';
import { type SignalStatus, signalStatus } from './signal.ts';
import type { StatusStore } from './status/store.ts';
import { Supervisor } from './supervision.ts';
import { configuredTracer } from './tracing/configured.ts';
import { IdsOnlyTracer, shutdownWithin, type Tracer } from './tracing/tracer.ts';
import { VERSION } from './version.ts';
import { wireEvents } from './wiring.ts';

export interface SubmitResult {
  /** The signal as it is now: `queued` when new. */
  readonly signal: SignalStatus;
  /** True when the idempotency key named an existing signal and nothing new was enqueued. */
  readonly replayed: boolean;
}

export interface StopReport {
  /** True when every accepted signal was settled before the deadline. */
  readonly drained: boolean;
  /** Signals still queued or in flight when the system stopped. */
  readonly remaining: number;
}

export interface TpsSystemOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Source of randomness for retry jitter (tests make it fixed). */
  readonly random?: () => number;
  /** Replaces the Kanban queue the configuration names (tests use this to inject faults). */
  readonly queue?: KanbanQueue;
  /** Replaces the status store the configuration names. */
  readonly store?: StatusStore;
  /** How often the Andon board is recomputed, in milliseconds. */
  readonly andonEveryMs?: number;
  /** Off unless given. */
  readonly idleCompaction?: IdleCompactionHooks;
}

/** How long stopping waits for the last spans to be exported. */
const TRACE_SHUTDOWN_MS = 3_000;
/** How long stopping waits for the attempts it aborted to settle their deliveries. */
const ABORTED_SETTLE_MS = 1_000;

/**
 * The TPS system: Jidoka, Kanban, Andon, Kaizen, Heijunka and tracing around a registry of
 * handlers. This is the composition root: it makes every part, hands each what it needs, and owns
 * their lifecycle. The flow of a signal is in `pipeline/` (intake, processor, waiters); what reads
 * every principle is in `observability/`; how principles hear of each other is in `wiring.ts`.
 */
export class TpsSystem {
  readonly config: TpsConfig;
  readonly logger: Logger;
  /** The Prometheus exposition of every principle's figures. */
  readonly exposition: Exposition;
  readonly #clock: Clock;
  readonly #registry = new HandlerRegistry();
  readonly #jidoka: Jidoka;
  readonly #kaizen: Kaizen;
  readonly #andon: Andon;
  readonly #backends: Backends;
  readonly #supervisor: Supervisor;
  readonly #pool: WorkerPool;
  readonly #readings: Readings;
  readonly #intake: Intake;
  readonly #processor: Processor;
  readonly #waiters: Waiters;
  readonly #lines: LineControl;
  readonly #pacer: AndonPacer;
  readonly #compactor: IdleCompactor | undefined;
  readonly #startedAt: number;
  #tracer: Tracer = new IdsOnlyTracer();
  #state: SystemState = 'created';
  #unwire: (() => Promise<void>) | undefined;
  #stopping: Promise<StopReport> | undefined;

  constructor(config: TpsConfig, options: TpsSystemOptions = {}) {
    this.config = config;
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#startedAt = clock.now();
    this.logger = options.logger ?? createLogger(config);
    this.#jidoka = new Jidoka(breakerOptions(config), clock);
    this.#kaizen = new Kaizen(clock, config.sloTargetMs, config.sloObjectivePct);
    this.#andon = new Andon(config.andonHistory, clock, andonThresholds(config));
    this.#backends = createBackends(config, this.logger, clock, options);
    const { queue, store } = this.#backends;
    this.#supervisor = new Supervisor(clock);
    this.#waiters = new Waiters(store);
    const evaluate = () => this.#andon.evaluate(views.andonReadings(this.#readings));
    this.#pacer = new AndonPacer(evaluate, options.andonEveryMs ?? 500);
    const tracer = () => this.#tracer;
    const parts = {
      registry: this.#registry,
      store,
      queue,
      jidoka: this.#jidoka,
      kaizen: this.#kaizen,
      clock,
      logger: this.logger,
      tracer,
    };
    this.#intake = new Intake({ ...parts, closed: () => this.#closedBecause() }, intakeOptions(config));
    this.#processor = new Processor(
      { ...parts, finished: (r) => this.#waiters.finished(r), deadLettered: () => this.#pacer.soon() },
      processorOptions(config, options.random ?? Math.random),
    );
    const process = (d: Delivery, workerId: string) => this.#processor.process(d, workerId);
    this.#pool = new WorkerPool(queue, process, this.#supervisor, clock, poolOptions(config));
    this.#lines = new LineControl({
      registry: this.#registry,
      jidoka: this.#jidoka,
      andon: this.#andon,
      logger: this.logger,
    });
    this.#readings = {
      state: () => this.#state,
      clock,
      queue,
      pool: this.#pool,
      jidoka: this.#jidoka,
      kaizen: this.#kaizen,
      andon: this.#andon,
      supervisor: this.#supervisor,
      tracer,
      leveling: () => this.#backends.leveling(),
    };
    this.exposition = new Exposition(this.#kaizen, () =>
      views.expositionReadings(this.#readings, this.compaction()),
    );
    this.#compactor = idleCompactor(options.idleCompaction, config.idleCompactSecs, {
      activity: () => this.#kaizen.activity(),
      quiet: () => queue.depth() === 0 && this.#pool.inFlight() === 0,
      clock,
      logger: this.logger,
    });
  }

  get state(): SystemState {
    return this.#state;
  }

  /** The clock the system runs on (fake in tests). */
  get clock(): Clock {
    return this.#clock;
  }

  /** Spans for every step of a signal; ids only until `start` finds an OTLP endpoint. */
  get tracer(): Tracer {
    return this.#tracer;
  }

  /** The registered signal types, sorted. */
  signalTypes(): readonly string[] {
    return this.#registry.types();
  }

  /**
   * Adds (or replaces) the handler of a signal type.
   * @throws {InvalidSignalError} when the type name is not acceptable.
   */
  registerHandler(type: string, handler: SignalHandler): this {
    this.#registry.register(type, handler);
    this.#jidoka.breaker(type);
    this.#kaizen.addType(type);
    return this;
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`cannot start a system that is ${this.#state}`);
    this.#tracer = await configuredTracer(this.config, VERSION);
    this.#unwire = wireEvents({
      config: this.config,
      logger: this.logger,
      jidoka: this.#jidoka,
      andon: this.#andon,
      pool: this.#pool,
      supervisor: this.#supervisor,
      lookSoon: () => this.#pacer.soon(),
    });
    await this.#backends.start();
    this.#processor.start();
    this.#pool.start();
    this.#state = 'running';
    this.#pacer.start();
    this.#compactor?.start();
    this.logger.info(
      {
        backend: this.#backends.queue.backend,
        workers: this.#pool.size,
        cards_per_worker: this.config.workerCards,
        buffer: this.#backends.queue.capacity,
        signal_types: this.#registry.types(),
      },
      'tps system started',
    );
  }

  /**
   * Accepts a signal: Jidoka admits it, it is recorded, and it is enqueued on the Kanban.
   * @throws {NotAcceptingError} while stopping; {UnknownSignalTypeError}; {InvalidSignalError};
   *   {CircuitOpenError} when the type's line is stopped; {KanbanFullError} or {SignalShedError}
   *   when the buffer is full (for its priority).
   */
  async submit(request: SubmitRequest): Promise<SubmitResult> {
    const { record, replayed } = await this.#intake.submit(request);
    return { signal: signalStatus(record), replayed };
  }

  /** @throws {SignalNotFoundError} */
  async status(id: string): Promise<SignalStatus> {
    const record = await this.#backends.store.get(id);
    if (record === undefined) throw new SignalNotFoundError(id);
    return signalStatus(record);
  }

  /**
   * Enqueues a failed or dead-lettered signal again, with a fresh set of attempts.
   * @throws {SignalNotFoundError}; {SignalConflictError} unless the signal is failed or
   *   dead-lettered; {KanbanFullError}; {NotAcceptingError}.
   */
  async retry(id: string): Promise<SignalStatus> {
    return signalStatus(await this.#intake.retry(id));
  }

  /**
   * Resolves with the signal once it completes or is dead-lettered, or with undefined if
   * `timeoutMs` passes first.
   * @throws {SignalNotFoundError}
   */
  async waitFor(id: string, timeoutMs: number): Promise<SignalStatus | undefined> {
    const record = await this.#waiters.waitFor(id, timeoutMs);
    return record === undefined ? undefined : signalStatus(record);
  }

  health(): HealthReport {
    return views.healthReport(this.#readings);
  }

  /** Kaizen's figures, with Heijunka's levelling figures beside them (GET /metrics). */
  metrics(): MetricsReport {
    return views.metricsReport(this.#readings);
  }

  /** The pool, its workers and scaling, and what waits where (GET /heijunka). */
  heijunka(): HeijunkaReport {
    return views.heijunkaReport(this.#readings);
  }

  /** Every line's circuit in detail, and the rules they follow (GET /jidoka). */
  jidokaReport(): JidokaReport {
    return views.jidokaReport(this.#jidoka);
  }

  /**
   * Holds the circuit of `type` open until `resetLine`: the operator stops the line. New signals
   * get 503; workers hold queued ones back.
   * @throws {UnknownSignalTypeError} when no handler is registered for `type`.
   */
  isolateLine(type: string): CircuitBody {
    return views.circuitBody(this.#lines.isolate(type));
  }

  /**
   * Closes the circuit of `type` and forgets its failures: the operator restarts the line.
   * @throws {UnknownSignalTypeError} when no handler is registered for `type`.
   */
  resetLine(type: string): CircuitBody {
    return views.circuitBody(this.#lines.reset(type));
  }

  /** The Andon board with the figures each tile shows (GET /andon, the live stream and page). */
  andonBoard(): BoardView {
    return views.boardView(this.#readings);
  }

  /** Calls `listener` with each change of the Andon board; returns what unsubscribes it. */
  onAndonChange(listener: (change: AndonChange) => void): () => void {
    return this.#andon.onChange(listener);
  }

  /** Recomputes the Andon board from the current readings. */
  evaluateAndon(): void {
    this.#pacer.now();
  }

  /** Fault injection: crashes one worker loop (or any) for the supervisor to restart; its id. */
  crashWorker(id?: string): string | undefined {
    return this.#pool.crash(id);
  }

  /** Idle compaction: whether it runs, how often it ran and what it gave back. */
  compaction(): IdleCompactionStatus {
    return this.#compactor?.status() ?? COMPACTION_OFF;
  }

  /** Milliseconds since the system was created. */
  uptimeMs(): number {
    return this.#clock.now() - this.#startedAt;
  }

  /**
   * Stops the system: intake stops at once; queued and in-flight signals get until the deadline
   * to finish (the embedded queue is drained, since nothing in it outlives the process); then
   * every component is closed, the queue and store last but the tracer. A second call returns the
   * same promise.
   */
  stop(drainTimeoutMs = this.config.shutdownTimeoutSecs * 1000): Promise<StopReport> {
    this.#stopping ??= this.#stop(drainTimeoutMs);
    return this.#stopping;
  }

  async #stop(drainTimeoutMs: number): Promise<StopReport> {
    if (this.#state === 'created') {
      // Never started, or a start that failed part way: undo what it did.
      this.#state = 'stopped';
      await this.#unwire?.();
      await this.#backends.close();
      await shutdownWithin(this.#tracer, TRACE_SHUTDOWN_MS);
      return { drained: true, remaining: 0 };
    }
    const { queue } = this.#backends;
    this.#state = 'draining';
    this.logger.info(
      { queued: queue.depth(), in_flight: this.#pool.inFlight(), drain_timeout_ms: drainTimeoutMs },
      'draining: intake stopped',
    );
    // Nothing in the embedded queue outlives the process: it is drained too.
    const remaining = await this.#pool.drain(drainTimeoutMs, { queueToo: queue.backend === 'memory' });
    this.#processor.stop(new Error('system stopping'));
    // The aborted attempts settle their deliveries before the queue closes.
    await this.#pool.drain(ABORTED_SETTLE_MS, { queueToo: false });
    this.#pacer.stop();
    this.#compactor?.stop();
    this.#jidoka.close();
    await this.#unwire?.();
    await this.#supervisor.stop();
    await this.#waiters.releaseAll();
    await this.#backends.close();
    // The last spans get a bounded chance to leave: a collector that is down must not hold the exit.
    if (!(await shutdownWithin(this.#tracer, TRACE_SHUTDOWN_MS)))
      this.logger.warn({ timeout_ms: TRACE_SHUTDOWN_MS }, 'trace exporter did not finish; spans dropped');
    this.#state = 'stopped';
    const report = { drained: remaining === 0, remaining };
    if (report.drained) this.logger.info(report, 'tps system stopped; every accepted signal settled');
    else this.logger.error(report, 'tps system stopped before every accepted signal settled');
    return report;
  }

  #closedBecause(): string | undefined {
    if (this.#state === 'running') return undefined;
    return this.#state === 'created' ? 'the system has not started' : 'the system is shutting down';
  }
}

/**
 * Creates a TPS system from a configuration (defaults for anything left out). Register handlers,
 * then `start()`; `stop()` drains and closes it.
 * @throws {ConfigError} when a configuration value is not acceptable.
 */
export function createTpsSystem(config: Partial<TpsConfig> = {}, options: TpsSystemOptions = {}): TpsSystem {
  return new TpsSystem(resolveConfig(config), options);
}
