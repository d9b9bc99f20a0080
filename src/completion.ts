/**
 * What a port's method returns when an implementation may finish at once: `undefined` when it is
 * done already, else a promise. The embedded queue and status store finish at once, and the
 * pipeline then goes on without a promise or a turn of the microtask queue per call (9.8 → 7.6 KB
 * allocated per signal in process; BENCHMARKS.md (p)). A failure is always a rejected promise,
 * never a throw, so `await` handles both forms alike.
 */
export type Completion = Promise<void> | undefined;

/** A value now, or a promise of one (a read that an implementation may answer at once). */
export type Eventually<T> = T | Promise<T>;

/** True when `value` is still to come (a promise or another thenable). */
export function isPending<T>(value: Eventually<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
