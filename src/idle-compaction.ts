import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';

/**
 * What idle compaction runs: a full collection, and glibc's `malloc_trim`. They act on the whole
 * process, so a system runs them only when its owner asks; the service does (`npm start` passes
 * `--expose-gc`).
 */
export interface IdleCompactionHooks {
  /** The memory-reducing collection (`gc` as `node --expose-gc` exposes it). */
  readonly collect: () => void;
  /** Gives malloc's free pages back after the collection; returns whether it gave any. */
  readonly trimMalloc?: () => boolean;
  /** Reads the resident set size in bytes (tests pass a fake one). */
  readonly rss?: () => number;
}

/** One compaction, as /info and the log show it. */
export interface Compaction {
  /** Resident set size before and after, bytes. */
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** How long the collection (and the malloc trim, when there is one) held the event loop, milliseconds. */
  readonly pauseMs: number;
  /** Whether the malloc trim gave pages back; false too when there is no trim. */
  readonly mallocTrimmed: boolean;
  /** When it ran, epoch milliseconds. */
  readonly at: number;
}

export interface IdleCompactionStatus {
  /** False when the process cannot run the collection (started without `--expose-gc`) or it is configured off. */
  readonly enabled: boolean;
  /** Whether each compaction also returns malloc's free pages (the native malloc-trim addon is loaded). */
  readonly mallocTrim: boolean;
  readonly compactions: number;
  /** True when RSS grew enough since the last compaction that one will run once the service is quiet. */
  readonly due: boolean;
  /** RSS given back by all compactions, bytes (never negative per compaction). */
  readonly freedBytes: number;
  readonly last: Compaction | undefined;
}

export interface IdleCompactorOptions {
  /** How long nothing must have happened before a compaction, milliseconds. */
  readonly idleMs: number;
  /** RSS growth since the last compaction (or since start) below which none is worth its pause, bytes. */
  readonly minGrowthBytes: number;
  /** A number that changes whenever work happens (a signal accepted, refused, retried or finished). */
  readonly activity: () => number;
  /** True when nothing is queued or running. */
  readonly quiet: () => boolean;
  /** The full, memory-reducing collection (it blocks the event loop while it runs). */
  readonly collect: () => void;
  /**
   * Runs right after `collect`: gives the pages the collection freed inside malloc's heaps back to
   * the system (glibc's `malloc_trim`; see src/malloc-trim.ts). Returns whether it gave any.
   */
  readonly trimMalloc?: (() => boolean) | undefined;
  readonly rss: () => number;
  readonly clock: Clock;
  /** How often idleness is looked at, milliseconds (default 1000). */
  readonly checkEveryMs?: number;
  readonly onCompacted?: (compaction: Compaction) => void;
}

/**
 * Gives memory back after a burst. Under load V8 grows its young generation (up to
 * `--max-semi-space-size` twice over) and its old generation, and keeps both once the load is
 * gone; its own memory reducer may shrink them a minute or two later, or not at all while timers
 * keep allocating. Once the service has been quiet for `idleMs` (nothing accepted, refused or
 * finished, nothing queued or running) and its RSS has grown by `minGrowthBytes` since the last
 * compaction, this runs one last-resort collection, which also shrinks the young generation and
 * returns freed pages to the system; then, where the native addon is built, glibc's `malloc_trim`
 * returns the pages freed inside malloc's heaps too (the collection frees what the heap's objects
 * held outside it: buffers, parsers, compiler memory; glibc returns such pages by itself only from
 * the top of a heap, so a burst leaves tens of megabytes of them resident). It never runs under load, and once per quiet spell at most:
 * after a compaction the RSS it left is the new reference.
 *
 * It has two costs, both measured on a 2-core VM. The collection pauses the event loop for
 * 40–110 ms, so a request arriving just then waits that long. And the next burst starts cold: the
 * young generation must grow again and compiled code was dropped, so at saturation the first
 * second after a compaction served about half as many requests as a warm service, the second
 * about three quarters, the third nearly all. Hence a quiet period of tens of seconds by default
 * (`TPS_IDLE_COMPACT_SECS`): a service merely between bursts keeps its warm heap.
 */
export class IdleCompactor {
  readonly #o: IdleCompactorOptions;
  #timer: NodeJS.Timeout | undefined;
  #lastActivity: number;
  #quietSince: number;
  /** RSS the next compaction is measured against: 0 at start, so start-up garbage counts too. */
  #reference = 0;
  #compactions = 0;
  #freedBytes = 0;
  #last: Compaction | undefined;

  constructor(options: IdleCompactorOptions) {
    this.#o = options;
    this.#lastActivity = options.activity();
    this.#quietSince = options.clock.now();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.check(), this.#o.checkEveryMs ?? 1_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Looks once: compacts when the service has been quiet long enough and grew enough. Runs on the timer; callable by tests. */
  check(): Compaction | undefined {
    const o = this.#o;
    const now = o.clock.now();
    const activity = o.activity();
    if (activity !== this.#lastActivity || !o.quiet()) {
      this.#lastActivity = activity;
      this.#quietSince = now;
      return undefined;
    }
    if (now - this.#quietSince < o.idleMs) return undefined;
    const before = o.rss();
    if (before - this.#reference < o.minGrowthBytes) return undefined;
    const t0 = performance.now();
    o.collect();
    const mallocTrimmed = o.trimMalloc?.() ?? false;
    const pauseMs = performance.now() - t0;
    const after = o.rss();
    this.#reference = after;
    const compaction: Compaction = {
      rssBeforeBytes: before,
      rssAfterBytes: after,
      pauseMs: Math.round(pauseMs * 10) / 10,
      mallocTrimmed,
      at: o.clock.wallNow(),
    };
    this.#compactions++;
    this.#freedBytes += Math.max(0, before - after);
    this.#last = compaction;
    o.onCompacted?.(compaction);
    return compaction;
  }

  status(): IdleCompactionStatus {
    return {
      enabled: true,
      mallocTrim: this.#o.trimMalloc !== undefined,
      compactions: this.#compactions,
      due: this.#o.rss() - this.#reference >= this.#o.minGrowthBytes,
      freedBytes: this.#freedBytes,
      last: this.#last,
    };
  }
}

/** The status when no compactor runs. */
export const COMPACTION_OFF: IdleCompactionStatus = Object.freeze({
  enabled: false,
  mallocTrim: false,
  compactions: 0,
  due: false,
  freedBytes: 0,
  last: undefined,
});

/**
 * The memory-reducing full collection, when the process exposes one (`node --expose-gc`, as
 * `npm start` and the image run the service); undefined otherwise.
 */
export function exposedCollector(): (() => void) | undefined {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') return undefined;
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/** RSS growth since the last idle compaction below which another is not worth its pause. */
const COMPACT_AFTER_GROWTH_BYTES = 16 * 2 ** 20;
const toMb = (bytes: number): number => Math.round(bytes / 2 ** 17) / 8;

/** A compactor with the service's settings that logs each compaction; none without hooks or time. */
export function idleCompactor(
  hooks: IdleCompactionHooks | undefined,
  idleSecs: number,
  parts: Pick<IdleCompactorOptions, 'activity' | 'quiet' | 'clock'> & { readonly logger: Logger },
): IdleCompactor | undefined {
  if (hooks === undefined || idleSecs === 0) return undefined;
  return new IdleCompactor({
    ...parts,
    idleMs: idleSecs * 1000,
    minGrowthBytes: COMPACT_AFTER_GROWTH_BYTES,
    collect: hooks.collect,
    trimMalloc: hooks.trimMalloc,
    rss: hooks.rss ?? process.memoryUsage.rss,
    onCompacted: (c) =>
      parts.logger.info(
        {
          rss_before_mb: toMb(c.rssBeforeBytes),
          rss_after_mb: toMb(c.rssAfterBytes),
          pause_ms: c.pauseMs,
          malloc_trimmed: c.mallocTrimmed,
        },
        'idle: memory taken under load given back',
      ),
  });
}
