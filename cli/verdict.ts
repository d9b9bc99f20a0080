import type { Criterion, Level, Verdict } from './result.ts';

/** What the verdict is judged on. */
export interface VerdictInput {
  readonly errorRatePct: number;
  readonly p99Ms: number;
  readonly circuitOpenings: number;
  /** Share of the run a circuit was reported open, percent. */
  readonly circuitOpenSharePct: number;
  /** Milliseconds the queue took to drain after the run; null when it never did. */
  readonly drainMs: number | null;
  /** False when the service could not be watched (no /health): drain and circuit are unknown. */
  readonly observed?: boolean;
}

const RANK: Readonly<Record<Level, number>> = { GREEN: 0, YELLOW: 1, RED: 2 };

const round = (n: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/**
 * The load-test verdict, one criterion at a time, the worst one overall:
 *
 * | | GREEN | YELLOW | RED |
 * |---|---|---|---|
 * | errors | < 1 % | 1–5 % | > 5 % |
 * | p99 | < 200 ms | 200–500 ms | > 500 ms |
 * | circuit | rarely opens (at most once, open < 5 % of the run) | opens sometimes | open continuously (≥ 50 % of the run) |
 * | drain | within 10 s | within 60 s | later, or never |
 *
 * The table leaves 10–30 s of drain unnamed; it is judged YELLOW (not GREEN's "within 10 s").
 */
export function verdict(r: VerdictInput): Verdict {
  const criteria: Criterion[] = [];

  const e = round(r.errorRatePct, 2);
  criteria.push({
    name: 'errors',
    value: `${e} %`,
    ...(r.errorRatePct < 1
      ? { level: 'GREEN', reason: 'under 1 %' }
      : r.errorRatePct <= 5
        ? { level: 'YELLOW', reason: 'between 1 % and 5 %' }
        : { level: 'RED', reason: 'over 5 %' }),
  });

  const p99 = round(r.p99Ms);
  criteria.push({
    name: 'p99',
    value: `${p99} ms`,
    ...(r.p99Ms < 200
      ? { level: 'GREEN', reason: 'under 200 ms' }
      : r.p99Ms <= 500
        ? { level: 'YELLOW', reason: 'between 200 and 500 ms' }
        : { level: 'RED', reason: 'over 500 ms' }),
  });

  const share = round(r.circuitOpenSharePct);
  const times = r.circuitOpenings === 1 ? 'once' : `${r.circuitOpenings} times`;
  criteria.push(
    r.observed === false
      ? {
          name: 'circuit',
          value: 'not observed',
          level: 'YELLOW',
          reason: 'the service did not answer /health',
        }
      : {
          name: 'circuit',
          value: `opened ${times}, open ${share} % of the run`,
          ...(r.circuitOpenSharePct >= 50
            ? { level: 'RED', reason: 'open continuously (half the run or more)' }
            : r.circuitOpenings <= 1 && r.circuitOpenSharePct < 5
              ? { level: 'GREEN', reason: r.circuitOpenings === 0 ? 'never opened' : 'opened rarely' }
              : { level: 'YELLOW', reason: 'opened sometimes' }),
        },
  );

  criteria.push(
    r.observed === false
      ? {
          name: 'drain',
          value: 'not observed',
          level: 'YELLOW',
          reason: 'the service did not answer /health',
        }
      : r.drainMs === null
        ? { name: 'drain', value: 'never drained', level: 'RED', reason: 'the queue did not drain' }
        : {
            name: 'drain',
            value: `drained in ${round(r.drainMs / 1000, 2)} s`,
            ...(r.drainMs <= 10_000
              ? { level: 'GREEN', reason: 'within 10 s' }
              : r.drainMs <= 60_000
                ? { level: 'YELLOW', reason: 'within 60 s' }
                : { level: 'RED', reason: 'over 60 s' }),
          },
  );

  let level: Level = 'GREEN';
  for (const c of criteria) if (RANK[c.level] > RANK[level]) level = c.level;
  return { level, criteria };
}
