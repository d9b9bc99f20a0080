/** The load bench/kaizen.ts and bench/kaizen-rss.ts put on Kaizen, the same for old and new. */
import type { FakeClock } from '../src/clock.ts';

/** What the benches call: the Kaizen of src/kaizen/ and the baseline's have it alike. */
export interface KaizenLike {
  addType(type: string): void;
  countAccepted(type: string): void;
  recordWait(type: string, waitMs: number): void;
  recordFinished(type: string, ok: boolean, processingMs: number, latencyMs: number): void;
  snapshot(): unknown;
  window(name: '1m'): unknown;
}

export const TYPES = ['validate', 'execute', 'report', 'chaos'];

export function withTypes<K extends KaizenLike>(k: K): K {
  for (const type of TYPES) k.addType(type);
  return k;
}

/**
 * One signal, the `i`-th, `stepMs` after the one before, taken through Kaizen as the pipeline does:
 * accepted, picked up, finished (one in 50 fails). Times spread over 5–50 ms of work.
 */
export function signal(k: KaizenLike, clock: FakeClock, i: number, stepMs: number, type?: string): void {
  clock.advance(stepMs);
  const t = type ?? (TYPES[i % TYPES.length] as string);
  const processingMs = 5 + ((i * 7919) % 45_000) / 1000;
  k.countAccepted(t);
  k.recordWait(t, 0.05 + (i % 97) * 0.01);
  k.recordFinished(t, i % 50 !== 0, processingMs, processingMs + 0.3 + (i % 17) * 0.3);
}

/** Five minutes at 100 signals/s over the four types: every slice of every window in use. */
export function fiveMinutes(k: KaizenLike, clock: FakeClock): void {
  for (let i = 0; i < 30_000; i++) signal(k, clock, i, 10);
}
