/**
 * The TPS core as a library: create a system, register handlers, start it, and optionally serve
 * the HTTP API with `buildApp`.
 */
export { buildApp } from './app.ts';
export type { Clock } from './clock.ts';
export { systemClock } from './clock.ts';
export { DEFAULT_CONFIG, loadConfig, resolveConfig, type TpsConfig } from './config.ts';
export {
  CircuitOpenError,
  ConfigError,
  HandlerTimeoutError,
  InvalidSignalError,
  KanbanFullError,
  NotAcceptingError,
  PermanentError,
  SignalConflictError,
  SignalNotFoundError,
  TpsError,
  UnknownSignalTypeError,
} from './errors.ts';
export { demoHandlers } from './handlers/demo.ts';
export type { HandlerContext, SignalHandler } from './handlers/registry.ts';
export type { IdleCompactionHooks } from './idle-compaction.ts';
export type { Delivery, KanbanQueue } from './kanban/queue.ts';
export type { HealthReport } from './observability/views.ts';
export type { SubmitRequest } from './pipeline/intake.ts';
export type {
  HandlerResult,
  Priority,
  SignalRecord,
  SignalState,
  SignalStatus,
  WorkSignal,
} from './signal.ts';
export type { StatusStore } from './status/store.ts';
export {
  createTpsSystem,
  type StopReport,
  type SubmitResult,
  TpsSystem,
  type TpsSystemOptions,
} from './system.ts';
