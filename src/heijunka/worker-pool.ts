import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../clock.ts';
import type { TpsConfig } from '../config.ts';
import type { Delivery, KanbanQueue } from '../kanban/queue.ts';
import type { Supervisor } from '../supervision.ts';
import { type ScaleDecision, Scaler, type ScalerOptions } from './scaler.ts';

/** Processes one delivery to its end (ack, retry or dead-letter). Must not reject. */
export type ProcessDelivery = (delivery: Delivery, workerId: string) => Promise<void>;

export interface WorkerStats {
  readonly id: string;
  readonly state: 'running' | 'restarting' | 'stopped' | 'retiring';
  readonly cards: number;
  readonly in_use: number;
  readonly processed: number;
  /** Milliseconds spent processing, summed over its signals. */
  readonly busy_ms: number;
  /** Share (0–1) of its life this worker had at least one signal in work. */
  readonly busy_share: number;
  /** Recent mean processing time of its signals, milliseconds. */
  readonly recent_ms: number;
  readonly restarts: number;
}

export interface ScalingEvent extends ScaleDecision {
  /** RFC 3339. */
  readonly at: string;
  readonly direction: 'up' | 'down';
}

export interface HeijunkaSnapshot {
  readonly pool_size: number;
  readonly pool_min: number;
  readonly pool_max: number;
  readonly cards_total: number;
  readonly cards_in_use: number;
  /** Cards in use over cards total, 0–1. */
  readonly pool_utilization: number;
  /**
   * Mean over max of signals processed per worker since the pool last changed size: 1 is
   * perfectly level.
   */
  readonly balance_coefficient: number;
  /** Signals the workers took per second, recently. */
  readonly rate_per_sec: number;
  /** Recent mean processing time, milliseconds. */
  readonly service_ms: number;
  readonly workers: WorkerStats[];
  /** The last scaling decisions, newest last. */
  readonly scaling: ScalingEvent[];
  readonly scale_ups: number;
  readonly scale_downs: number;
}

/** Weight of the newest observation in the recent figures (per tick, and per signal). */
const EWMA = 0.3;
/** Scaling decisions kept for /heijunka. */
const SCALING_HISTORY = 20;

class Worker {
  readonly id: string;
  readonly cards: number;
  readonly bornAt: number;
  inUse = 0;
  processed = 0;
  /** `processed` when the pool last changed size (the balance counts from there). */
  baseline = 0;
  busyMs = 0;
  /** Time with at least one signal in work, up to `busySince` when busy now. */
  occupiedMs = 0;
  busySince = 0;
  recentMs = 0;
  retiring = false;
  /** Set by fault injection: the loop throws at its next step. */
  crash: string | undefined;
  #wake: (() => void) | undefined;

  constructor(id: string, cards: number, bornAt: number) {
    this.id = id;
    this.cards = cards;
    this.bornAt = bornAt;
  }

  /** Resolves when a card comes back (or `wake` is called). */
  cardReturned(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

export interface WorkerPoolOptions {
  /** Workers at start (TPS_NUM_WORKERS). */
  readonly workers: number;
  /** Workers kept at least when the pool shrinks (TPS_HEIJUNKA_POOL); `workers` by default. */
  readonly minWorkers?: number;
  /** Kanban cards per worker: its WIP limit. */
  readonly cards: number;
  /** Scaling between `minWorkers` and `scaling.max`; without it the pool keeps its size. */
  readonly scaling?: Omit<ScalerOptions, 'min' | 'cardsPerWorker'> & {
    /** How often the pool looks at its load, milliseconds. */
    readonly everyMs?: number;
  };
}

/** The pool's settings from the configuration (TPS_NUM_WORKERS, TPS_WORKER_CARDS, TPS_HEIJUNKA_*). */
export function poolOptions(c: TpsConfig): WorkerPoolOptions {
  return {
    workers: c.numWorkers,
    minWorkers: c.heijunkaPool,
    cards: c.workerCards,
    scaling: {
      max: c.heijunkaPoolMax,
      targetMs: c.sloTargetMs,
      upCooldownMs: c.heijunkaScaleUpSecs * 1000,
      downCooldownMs: c.heijunkaScaleDownSecs * 1000,
    },
  };
}

/**
 * Heijunka's worker pool. Each worker runs a pull loop under the supervisor: it pulls from the
 * Kanban only as many signals as it has free cards, hands each to `process`, and gets the card
 * back when the signal is settled. The Kanban gives a delivery to the waiting worker with the
 * most free cards (then the one whose signals ran fastest lately), so load goes to the least
 * loaded worker; a signal is bound to a worker only when that worker starts it, so nothing waits
 * behind a slow or stuck worker. A loop that crashes is restarted; signals it holds keep running.
 * With scaling, the pool grows and shrinks between its minimum and maximum (see `Scaler`);
 * shrinking retires idle workers only.
 */
export class WorkerPool {
  readonly #queue: KanbanQueue;
  readonly #process: ProcessDelivery;
  readonly #supervisor: Supervisor;
  readonly #clock: Clock;
  readonly #cards: number;
  readonly #min: number;
  readonly #scaler: Scaler | undefined;
  readonly #everyMs: number;
  #workers: Worker[] = [];
  #nextId = 1;
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  /** Signals taken by every worker, ever; and at the last tick. */
  #taken = 0;
  #takenAtTick = 0;
  #tickAt = 0;
  #ratePerSec = 0;
  #serviceMs = 0;
  readonly #scaling: ScalingEvent[] = [];
  #ups = 0;
  #downs = 0;
  readonly #listeners = new Set<(e: ScalingEvent) => void>();

  constructor(
    queue: KanbanQueue,
    process: ProcessDelivery,
    supervisor: Supervisor,
    clock: Clock,
    options: WorkerPoolOptions,
  ) {
    this.#queue = queue;
    this.#process = process;
    this.#supervisor = supervisor;
    this.#clock = clock;
    this.#cards = options.cards;
    const min = Math.min(options.minWorkers ?? options.workers, options.workers);
    this.#min = min;
    const s = options.scaling;
    const max = Math.max(s?.max ?? 0, options.workers);
    this.#scaler =
      s !== undefined && max > min
        ? new Scaler({ ...s, min, max, cardsPerWorker: options.cards })
        : undefined;
    this.#everyMs = s?.everyMs ?? 500;
    for (let i = 0; i < options.workers; i++) this.#add();
  }

  /** Workers in the pool (not counting ones retiring). */
  get size(): number {
    let n = 0;
    for (const w of this.#workers) if (!w.retiring) n++;
    return n;
  }

  start(): void {
    this.#started = true;
    for (const w of this.#workers) this.#run(w);
    this.#tickAt = this.#clock.now();
    this.#timer = setInterval(() => this.tick(), this.#everyMs);
    this.#timer.unref();
  }

  /** Stops pulling (and scaling); signals already held keep running (see `inFlight`). */
  async stopPulling(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await Promise.all(this.#workers.map((w) => this.#supervisor.stop(w.id)));
  }

  /**
   * Lets the work in hand finish, within `timeoutMs`: with `queueToo`, first everything queued as
   * well (the workers keep pulling), then the pool stops pulling. Returns what was left: signals in
   * flight, and with `queueToo` those still queued.
   */
  async drain(timeoutMs: number, options: { readonly queueToo: boolean }): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    const queue = this.#queue;
    if (options.queueToo) await until(() => queue.depth() === 0 && this.inFlight() === 0, deadline);
    await this.stopPulling();
    await until(() => this.inFlight() === 0, deadline);
    return this.inFlight() + (options.queueToo ? queue.depth() : 0);
  }

  inFlight(): number {
    let n = 0;
    for (const w of this.#workers) n += w.inUse;
    return n;
  }

  running(): number {
    const states = new Map(this.#supervisor.health().map((c) => [c.name, c.state]));
    let n = 0;
    for (const w of this.#workers) if (!w.retiring && states.get(w.id) === 'running') n++;
    return n;
  }

  /**
   * Fault injection: makes a worker's pull loop fail at its next step (at once under load), as a
   * bug would; the supervisor restarts it and the signals it holds keep running. Returns the id
   * of the worker, or undefined when there is no such running worker.
   */
  crash(id?: string): string | undefined {
    const w = this.#workers.find((x) => !x.retiring && (id === undefined || x.id === id));
    if (w === undefined) return undefined;
    w.crash = 'injected fault: worker crash';
    w.wake();
    return w.id;
  }

  /** Subscribes to scaling decisions; returns the unsubscribe function. */
  onScale(listener: (e: ScalingEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): HeijunkaSnapshot {
    const health = new Map(this.#supervisor.health().map((c) => [c.name, c]));
    const now = this.#clock.now();
    let inUse = 0;
    let active = 0;
    let maxDone = 0;
    let totalDone = 0;
    const workers = this.#workers.map((w) => {
      inUse += w.inUse;
      if (!w.retiring) {
        active++;
        const done = w.processed - w.baseline;
        totalDone += done;
        if (done > maxDone) maxDone = done;
      }
      const c = health.get(w.id);
      const occupied = w.occupiedMs + (w.inUse > 0 ? now - w.busySince : 0);
      const life = now - w.bornAt;
      return {
        id: w.id,
        state: w.retiring ? ('retiring' as const) : (c?.state ?? 'stopped'),
        cards: w.cards,
        in_use: w.inUse,
        processed: w.processed,
        busy_ms: Math.round(w.busyMs),
        busy_share: life <= 0 ? 0 : Math.round((occupied / life) * 1000) / 1000,
        recent_ms: Math.round(w.recentMs * 100) / 100,
        restarts: c?.restarts ?? 0,
      };
    });
    const cardsTotal = active * this.#cards;
    return {
      pool_size: active,
      pool_min: this.#min,
      pool_max: this.#scaler?.options.max ?? Math.max(this.#min, this.size),
      cards_total: cardsTotal,
      cards_in_use: inUse,
      pool_utilization: cardsTotal === 0 ? 0 : Math.min(1, inUse / cardsTotal),
      balance_coefficient: maxDone === 0 ? 1 : totalDone / active / maxDone,
      rate_per_sec: Math.round(this.#ratePerSec * 10) / 10,
      service_ms: Math.round(this.#serviceMs * 100) / 100,
      workers,
      scaling: [...this.#scaling],
      scale_ups: this.#ups,
      scale_downs: this.#downs,
    };
  }

  /**
   * Looks at the load: updates the recent rate and processing time, retires workers that have
   * finished their last signal, and scales when the scaler says so. Runs on a timer once
   * started; tests call it directly.
   */
  tick(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#tickAt;
    if (elapsed > 0) {
      const rate = ((this.#taken - this.#takenAtTick) * 1000) / elapsed;
      this.#ratePerSec += EWMA * (rate - this.#ratePerSec);
      this.#takenAtTick = this.#taken;
      this.#tickAt = now;
    }
    this.#removeRetired();
    if (this.#scaler === undefined || !this.#started) return;
    const decision = this.#scaler.decide({
      now,
      workers: this.size,
      depth: this.#queue.depth(),
      ratePerSec: this.#ratePerSec,
      serviceMs: this.#serviceMs,
    });
    if (decision !== undefined) this.#resize(decision);
  }

  #resize(decision: ScaleDecision): void {
    const up = decision.to > decision.from;
    let to = decision.to;
    if (up) {
      for (let n = decision.from; n < to; n++) this.#run(this.#add());
    } else {
      // Only idle workers go; the rest stay until a later decision finds them idle.
      let excess = decision.from - to;
      for (const w of this.#workers) {
        if (excess === 0) break;
        if (w.retiring || w.inUse > 0) continue;
        w.retiring = true;
        excess--;
        void this.#supervisor.stop(w.id).then(() => this.#removeRetired());
      }
      to += excess;
      if (to === decision.from) return;
    }
    for (const w of this.#workers) w.baseline = w.processed;
    if (up) this.#ups++;
    else this.#downs++;
    const event: ScalingEvent = {
      ...decision,
      to,
      direction: up ? 'up' : 'down',
      at: new Date(this.#clock.wallNow()).toISOString(),
    };
    this.#scaling.push(event);
    if (this.#scaling.length > SCALING_HISTORY) this.#scaling.shift();
    for (const listener of this.#listeners) listener(event);
  }

  #add(): Worker {
    const w = new Worker(`worker-${this.#nextId++}`, this.#cards, this.#clock.now());
    this.#workers.push(w);
    return w;
  }

  #run(w: Worker): void {
    this.#supervisor.supervise(w.id, (abort) => this.#pullLoop(w, abort));
  }

  /** Drops retired workers whose last signal has settled (their loops have stopped). */
  #removeRetired(): void {
    const health = new Map(this.#supervisor.health().map((c) => [c.name, c.state]));
    const keep = this.#workers.filter((w) => !w.retiring || w.inUse > 0 || health.get(w.id) !== 'stopped');
    if (keep.length === this.#workers.length) return;
    for (const w of this.#workers) if (!keep.includes(w)) this.#supervisor.forget(w.id);
    this.#workers = keep;
  }

  async #pullLoop(w: Worker, abort: AbortSignal): Promise<void> {
    const onAbort = () => w.wake();
    abort.addEventListener('abort', onAbort, { once: true });
    try {
      while (!abort.aborted) {
        this.#crashIfAsked(w);
        const free = w.cards - w.inUse;
        if (free <= 0) {
          await w.cardReturned();
          continue;
        }
        // Ranked among waiting pulls after free cards: the faster worker first.
        const deliveries = await this.#queue.pull(free, abort, w.recentMs);
        for (const d of deliveries) this.#dispatch(w, d);
        this.#crashIfAsked(w);
      }
    } finally {
      abort.removeEventListener('abort', onAbort);
    }
  }

  #crashIfAsked(w: Worker): void {
    const reason = w.crash;
    if (reason === undefined) return;
    w.crash = undefined;
    throw new Error(reason);
  }

  #dispatch(w: Worker, d: Delivery): void {
    const startedAt = this.#clock.now();
    if (w.inUse++ === 0) w.busySince = startedAt;
    this.#taken++;
    const done = () => {
      const now = this.#clock.now();
      const ms = now - startedAt;
      if (--w.inUse === 0) w.occupiedMs += now - w.busySince;
      w.processed++;
      w.busyMs += ms;
      w.recentMs += EWMA * (ms - w.recentMs);
      this.#serviceMs += EWMA * (ms - this.#serviceMs);
      w.wake();
    };
    this.#process(d, w.id).then(done, done);
  }
}

/** Waits until `done()` or the deadline (a `performance.now()` time), looking every 10 ms. */
async function until(done: () => boolean, deadline: number): Promise<void> {
  while (!done() && performance.now() < deadline) {
    await sleep(Math.min(10, Math.max(1, deadline - performance.now())));
  }
}
