import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from './clock.ts';

export type ComponentState = 'running' | 'restarting' | 'stopped';

export interface ComponentHealth {
  readonly name: string;
  readonly state: ComponentState;
  readonly restarts: number;
  readonly lastError: string | undefined;
}

export interface SupervisorEvent {
  readonly component: string;
  readonly kind: 'crashed' | 'restarted' | 'stopped';
  readonly error?: unknown;
  readonly restarts: number;
  readonly backoffMs?: number;
}

export interface SupervisorOptions {
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/**
 * A long-running part of the system: `run` works until `abort` fires and then returns. Returning
 * early or throwing is a crash.
 */
export type ComponentRun = (abort: AbortSignal) => Promise<void>;

interface Child {
  readonly name: string;
  readonly run: ComponentRun;
  readonly controller: AbortController;
  state: ComponentState;
  restarts: number;
  lastError: string | undefined;
  done: Promise<void>;
}

/**
 * The supervision tree's one level: runs each component, restarts one that crashes after an
 * exponential backoff (reset once it has run longer than the longest backoff), reports each one's
 * state, and stops them on request.
 */
export class Supervisor {
  readonly #children = new Map<string, Child>();
  readonly #listeners = new Set<(e: SupervisorEvent) => void>();
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #clock: Clock;

  constructor(clock: Clock, options: SupervisorOptions = {}) {
    this.#clock = clock;
    this.#initialBackoffMs = options.initialBackoffMs ?? 100;
    this.#maxBackoffMs = options.maxBackoffMs ?? 10_000;
  }

  /** Starts `run` under supervision. Names are unique among running components. */
  supervise(name: string, run: ComponentRun): void {
    if (this.#children.get(name)?.state !== undefined && this.#children.get(name)?.state !== 'stopped') {
      throw new Error(`component ${name} is already supervised`);
    }
    const child: Child = {
      name,
      run,
      controller: new AbortController(),
      state: 'running',
      restarts: 0,
      lastError: undefined,
      done: Promise.resolve(),
    };
    this.#children.set(name, child);
    child.done = this.#keepRunning(child);
  }

  /** Stops one component (or all, when no name is given) and waits until it has returned. */
  async stop(name?: string): Promise<void> {
    const children = name === undefined ? [...this.#children.values()] : [this.#children.get(name)];
    for (const child of children) child?.controller.abort();
    await Promise.all(children.map((child) => child?.done));
  }

  /** Drops a stopped component from the reports (a worker retired for good). */
  forget(name: string): void {
    if (this.#children.get(name)?.state === 'stopped') this.#children.delete(name);
  }

  health(): ComponentHealth[] {
    return [...this.#children.values()].map((c) => ({
      name: c.name,
      state: c.state,
      restarts: c.restarts,
      lastError: c.lastError,
    }));
  }

  onEvent(listener: (e: SupervisorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #keepRunning(child: Child): Promise<void> {
    const abort = child.controller.signal;
    let backoff = this.#initialBackoffMs;
    while (!abort.aborted) {
      const startedAt = this.#clock.now();
      let error: unknown;
      try {
        await child.run(abort);
        if (abort.aborted) break;
        error = new Error('returned before it was asked to stop');
      } catch (e) {
        if (abort.aborted) break;
        error = e;
      }
      if (this.#clock.now() - startedAt > this.#maxBackoffMs) backoff = this.#initialBackoffMs;
      child.state = 'restarting';
      child.lastError = error instanceof Error ? error.message : String(error);
      this.#emit({
        component: child.name,
        kind: 'crashed',
        error,
        restarts: child.restarts,
        backoffMs: backoff,
      });
      try {
        await sleep(backoff, undefined, { signal: abort });
      } catch {
        break;
      }
      backoff = Math.min(backoff * 2, this.#maxBackoffMs);
      child.restarts++;
      child.state = 'running';
      this.#emit({ component: child.name, kind: 'restarted', restarts: child.restarts });
    }
    child.state = 'stopped';
    this.#emit({ component: child.name, kind: 'stopped', restarts: child.restarts });
  }

  #emit(event: SupervisorEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
