import type { RunResult, Tick } from './result.ts';

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (v: number | null): string => (v === null ? 'unknown' : `${fmt(v, 1)} MB`);

/** The live line: elapsed / total, sent rate, p99 so far, errors, the service's queue and circuit. */
export function progressLine(
  tick: Tick,
  total: number,
  sentSoFar: number,
  p99SoFar: number,
  errors: number,
): string {
  const queue = tick.queueDepth === null ? '?' : fmt(tick.queueDepth);
  return (
    `[${tick.t}/${total} s] sent ${fmt(sentSoFar)} (${fmt(tick.sent)}/s) · p99 ${fmt(p99SoFar, 1)} ms · ` +
    `errors ${fmt(errors)} · queue ${queue} · circuit ${tick.circuit ?? '?'}`
  );
}

/** The end-of-run report, as plain text. */
export function summary(r: RunResult): string {
  const l = r.latencyMs;
  const codes = Object.entries(r.statusCodes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code}×${fmt(n)}`)
    .join(' ');
  const lines = [
    '',
    `${r.scenario}: ${r.signalType} at ${fmt(r.rate)}/s for ${r.durationSecs} s against ${r.url} (${r.mode === 'complete' ? 'each request waits for its signal to finish' : 'each request waits for its 202'})`,
    `sent ${fmt(r.sent)} at ${fmt(r.achievedRate, 1)}/s; answered ${fmt(r.answered)}: ${codes || 'none'}`,
    `latency from the scheduled send (ms): p50 ${fmt(l.p50, 2)}  p95 ${fmt(l.p95, 2)}  p99 ${fmt(l.p99, 2)}  p999 ${fmt(l.p999, 2)}  max ${fmt(l.max, 2)}  mean ${fmt(l.mean, 2)}`,
    `errors ${fmt(r.errors)} (${fmt(r.errorRatePct, 2)} %)`,
    r.verdict.criteria.some((c) => c.value === 'not observed')
      ? 'queue and circuit not observed: the service did not answer /health'
      : `queue drained ${r.drainMs === null ? 'never (within the wait)' : `${fmt(r.drainMs / 1000, 2)} s after the last answer`}; circuit openings ${r.circuitOpenings}, open ${fmt(r.circuitOpenSharePct, 1)} % of the run`,
    `service RSS: ${mb(r.serviceRssMb)} when the queue had drained, ${mb(r.serviceIdleRssMb)} once idle (after its idle compaction, when one was due), peak ${mb(r.servicePeakRssMb)}`,
    '',
    `VERDICT ${r.verdict.level}`,
    ...r.verdict.criteria.map((c) => `  ${c.level.padEnd(6)} ${c.name.padEnd(7)} ${c.value}: ${c.reason}`),
  ];
  return lines.join('\n');
}
