import { PermanentError } from '../errors.ts';
import type { HandlerResult, WorkSignal } from '../signal.ts';
import type { SignalHandler } from './registry.ts';

/**
 * Simulated work: the demo handlers stand for calls to other services, so they wait, not spin.
 * A plain timer, not an abortable one: the work is short, and past `timeout_ms` the runner has
 * already failed the attempt and ignores what comes after. (A handler calling a real service
 * passes `ctx.abortSignal` to it, as docs/library.md shows.)
 */
function work(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A wait that ends early, rejecting, when the attempt is aborted (for long injected delays). */
function abortableWait(ms: number, abort: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (abort.aborted) {
      reject(abort.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abort.reason);
    };
    const timer = setTimeout(() => {
      abort.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    abort.addEventListener('abort', onAbort, { once: true });
  });
}

function fieldCount(payload: Readonly<Record<string, unknown>>): number {
  let n = 0;
  for (const _ in payload) n++;
  return n;
}

/** `validate`: checks the payload's shape (~10 ms). */
export async function validate(signal: WorkSignal): Promise<HandlerResult> {
  await work(10);
  const data = signal.payload.data;
  if (data !== undefined && (typeof data !== 'object' || data === null)) {
    throw new PermanentError('Validation failed: payload.data must be an object or an array');
  }
  return { message: 'Validation successful', data: { fields: fieldCount(signal.payload) } };
}

/** `execute`: carries out the task (~50 ms). */
export async function execute(signal: WorkSignal): Promise<HandlerResult> {
  await work(50);
  return { message: 'Execution completed', data: { task: signal.payload.task ?? null } };
}

/** `report`: summarises the payload (~5 ms). */
export async function report(signal: WorkSignal): Promise<HandlerResult> {
  await work(5);
  return { message: 'Report generated', data: { fields: fieldCount(signal.payload) } };
}

function fraction(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new PermanentError(`chaos: payload.${field} must be a number from 0 to 1`);
  }
  return value;
}

function milliseconds(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 600_000) {
    throw new PermanentError(`chaos: payload.${field} must be a number of milliseconds from 0 to 600000`);
  }
  return value;
}

/**
 * `chaos`: fault injection for demos and tests. Payload: `failure_rate` (0–1, chance an attempt
 * fails), `latency_ms` (added work time), `permanent` (true: failures are not retried).
 */
export function chaos(random: () => number = Math.random): SignalHandler {
  return async (signal, ctx) => {
    const p = signal.payload;
    const failureRate = fraction(p.failure_rate, 'failure_rate');
    const latencyMs = milliseconds(p.latency_ms, 'latency_ms');
    if (latencyMs > 0) await abortableWait(latencyMs, ctx.abortSignal);
    if (failureRate > 0 && random() < failureRate) {
      const message = `chaos: injected failure on attempt ${ctx.attempt}`;
      throw p.permanent === true ? new PermanentError(message) : new Error(message);
    }
    return { message: 'Chaos survived', data: { attempt: ctx.attempt } };
  };
}

/** The demo handlers the service registers at start-up, by signal type. */
export function demoHandlers(): Record<string, SignalHandler> {
  return { validate, execute, report, chaos: chaos() };
}
