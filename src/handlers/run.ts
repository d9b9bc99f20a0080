import { HandlerTimeoutError } from '../errors.ts';
import type { HandlerResult, WorkSignal } from '../signal.ts';
import type { HandlerContext, SignalHandler } from './registry.ts';

export interface RunOutcome {
  readonly ok: boolean;
  readonly message: string | undefined;
  readonly data: unknown;
  readonly error: unknown;
}

/**
 * Runs `handler` under the signal's deadline. The handler's abort signal fires at the deadline;
 * the outcome is then a timeout failure even if the handler ignores it. While it runs, its
 * controller is in `running`, so whoever owns that set can abort every running handler.
 */
export function runHandler(
  handler: SignalHandler,
  signal: WorkSignal,
  attempt: number,
  workerId: string,
  running: Set<AbortController>,
): Promise<RunOutcome> {
  const controller = new AbortController();
  running.add(controller);
  const ctx: HandlerContext = {
    abortSignal: controller.signal,
    attempt,
    workerId,
    traceId: signal.traceId,
  };
  return new Promise<RunOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: RunOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      running.delete(controller);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      const error = new HandlerTimeoutError(signal.timeoutMs);
      controller.abort(error);
      finish({ ok: false, message: undefined, data: undefined, error });
    }, signal.timeoutMs);
    let pending: ReturnType<SignalHandler>;
    try {
      pending = handler(signal, ctx);
    } catch (error) {
      finish({ ok: false, message: undefined, data: undefined, error });
      return;
    }
    Promise.resolve(pending).then(
      (value) => finish(toOutcome(value)),
      (error: unknown) => finish({ ok: false, message: undefined, data: undefined, error }),
    );
  });
}

function toOutcome(value: HandlerResult | string | undefined): RunOutcome {
  if (typeof value === 'string') return { ok: true, message: value, data: undefined, error: undefined };
  if (value === undefined || value === null) {
    return { ok: true, message: undefined, data: undefined, error: undefined };
  }
  return { ok: true, message: value.message, data: value.data, error: undefined };
}
