import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Service } from '../process.ts';

/** Where the fixture service writes its runs and effects. */
export function effectsDir(): string {
  return mkdtempSync(join(tmpdir(), 'tps-effects-'));
}

export interface Accepted {
  readonly id: string;
  readonly at: number;
}

export interface LoadReport {
  readonly accepted: Accepted[];
  /** Answers other than 202, by status (0: no answer: connection refused, reset…). */
  readonly refused: Map<number, number>;
}

/**
 * Posts `effect` signals from `concurrency` loops to whatever `target()` returns (it changes when
 * a service is restarted) until `stop()` says so. Like a careful client, each signal carries an
 * Idempotency-Key, and a request that got no answer is retried with the same key, so a signal the
 * service took just before dying is not sent twice. `ratePerSec`, when given, paces each loop.
 */
export async function load(
  target: () => Service,
  stop: (report: LoadReport) => boolean,
  options: { concurrency: number; ms: number; ratePerSec?: number },
): Promise<LoadReport> {
  const report: LoadReport = { accepted: [], refused: new Map() };
  const body = JSON.stringify({ signal_type: 'effect', payload: { ms: options.ms } });
  let keys = 0;
  const pause = options.ratePerSec ? (1000 * options.concurrency) / options.ratePerSec : 0;
  const loop = async () => {
    let key = `${process.pid}-${++keys}`;
    while (!stop(report)) {
      const started = performance.now();
      let status = 0;
      try {
        const res = await fetch(`${target().base}/signal`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        status = res.status;
        const answer = (await res.json()) as { signal_id?: string };
        if (status === 202 && answer.signal_id) {
          report.accepted.push({ id: answer.signal_id, at: performance.now() });
          key = `${process.pid}-${++keys}`;
        } else if (status !== 503) {
          // Refused for sure (429…): the key was released, a new attempt is a new signal.
          key = `${process.pid}-${++keys}`;
        }
      } catch {
        status = 0; // no answer: the signal may have been taken; retry with the same key
      }
      if (status !== 202) {
        report.refused.set(status, (report.refused.get(status) ?? 0) + 1);
        await sleep(50);
      }
      if (pause > 0) await sleep(Math.max(0, pause - (performance.now() - started)));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return report;
}

/** Polls statuses until every id is completed; returns the ids still not completed at the deadline. */
export async function awaitCompleted(
  target: () => Service,
  ids: readonly string[],
  timeoutMs: number,
): Promise<string[]> {
  let pending = [...ids];
  const deadline = performance.now() + timeoutMs;
  while (pending.length > 0 && performance.now() < deadline) {
    const next: string[] = [];
    for (let i = 0; i < pending.length; i += 50) {
      const batch = pending.slice(i, i + 50);
      const states = await Promise.all(
        batch.map(async (id) => {
          try {
            const res = await fetch(`${target().base}/signal/${id}/status`);
            return res.status === 200
              ? ((await res.json()) as { status: string }).status
              : `http ${res.status}`;
          } catch {
            return 'unreachable';
          }
        }),
      );
      batch.forEach((id, j) => {
        if (states[j] !== 'completed') next.push(id);
      });
    }
    pending = next;
    if (pending.length > 0) await sleep(500);
  }
  return pending;
}

/** How the fixture saw things: effects applied (by id) and runs per id. */
export function effectsOf(dir: string): { effects: Set<string>; runs: Map<string, number> } {
  const effects = new Set(readdirSync(join(dir, 'effects')));
  const runs = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(join(dir, 'runs.log'), 'utf8');
  } catch {
    // no run yet
  }
  for (const id of text.split('\n')) if (id) runs.set(id, (runs.get(id) ?? 0) + 1);
  return { effects, runs };
}
