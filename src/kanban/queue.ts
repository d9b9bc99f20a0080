import type { WorkSignal } from '../signal.ts';

/** One delivery of a signal to a worker. `attempt` counts from 1. */
export interface Delivery {
  readonly signal: WorkSignal;
  readonly attempt: number;
}

export interface QueueHealth {
  readonly healthy: boolean;
  readonly detail: string;
  /** Where new signals go now (the backend's name; for failover, the broker in use). */
  readonly activePath?: string;
}

/**
 * The Kanban port: a bounded queue that workers pull from. Every driver (embedded, and the
 * broker drivers) honours the same contract, checked by one shared test suite:
 *
 * - `publish` resolves once the signal is safely enqueued, or rejects with `KanbanFullError` when
 *   `depth()` has reached `capacity`;
 * - `pull(max)` resolves with 1..max deliveries in Heijunka's order (highest priority first, types
 *   taking turns within a priority, oldest first within a type), waiting until one is available;
 *   it resolves with [] once `abort` fires or the queue closes. Among pulls waiting at once, the
 *   one asking for most goes first, then the lowest `rank`;
 * - each delivery is settled exactly once by `ack`, `nak` (deliver again after a delay, counted
 *   as a further attempt; never refused for lack of room, since the signal was already accepted)
 *   or `deadLetter`.
 */
export interface KanbanQueue {
  readonly backend: string;
  readonly capacity: number;
  start(): Promise<void>;
  /** Stops deliveries; pending pulls resolve with []. */
  close(): Promise<void>;
  publish(signal: WorkSignal): Promise<void>;
  pull(max: number, abort: AbortSignal, rank?: number): Promise<Delivery[]>;
  ack(delivery: Delivery): Promise<void>;
  nak(delivery: Delivery, delayMs: number): Promise<void>;
  deadLetter(delivery: Delivery, reason: string): Promise<void>;
  /** Removes a signal from the dead-letter queue (it is being retried); false if absent. */
  removeDeadLetter(signalId: string): Promise<boolean>;
  /** Signals waiting: ready, plus those waiting for a retry backoff. */
  depth(): number;
  dlqDepth(): number;
  health(): QueueHealth;
}

/**
 * The order in which the deliveries waiting in this process go to workers. Heijunka's leveler is
 * one; the composition root hands each driver its own (`NewWaitingOrder`), so the Kanban depends on
 * this port, not on the principle.
 */
export interface WaitingOrder<D extends Delivery> {
  /** Deliveries waiting. */
  readonly size: number;
  /** True when one can be taken now (one is waiting whose type is under its cap). */
  readonly ready: boolean;
  push(delivery: D): void;
  /** Up to `max` deliveries, next first. */
  take(max: number): D[];
  /** A delivery taken earlier was settled; true when that lets a waiting one go now. */
  settled(type: string): boolean;
  /** Every waiting delivery, taken out in no particular order. */
  drain(): D[];
}

/** Makes the waiting order of one driver. */
export type NewWaitingOrder = <D extends Delivery>() => WaitingOrder<D>;
