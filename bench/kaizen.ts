/**
 * Kaizen's read path: what one GET /metrics (or /status) spends computing its figures. Five
 * minutes of signals at 100/s over four types are recorded on a fake clock, then the full
 * snapshot is read; beside it, the same percentiles read the library's way (`mean` through its
 * iterator, one scan per percentile) against the one-pass `summarize`, on the same histograms,
 * side by side in one process; rounds alternate; medians are reported.
 *
 *   node bench/kaizen.ts [--rounds 5] [--json]
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { FakeClock } from '../src/clock.ts';
import { type Histogram, summarize } from '../src/kaizen/histogram.ts';
import { Kaizen } from '../src/kaizen/metrics.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const TYPES = ['validate', 'execute', 'report', 'chaos'];

const clock = new FakeClock();
const kaizen = new Kaizen(clock);
for (const type of TYPES) kaizen.addType(type);
for (let i = 0; i < 30_000; i++) {
  clock.advance(10);
  const type = TYPES[i % TYPES.length] as string;
  kaizen.countAccepted(type);
  kaizen.recordWait(type, 0.05 + (i % 7) * 0.01);
  kaizen.recordFinished(type, i % 50 !== 0, 10 + (i % 13) * 0.2, 10.3 + (i % 17) * 0.3);
}
const histograms: Histogram[] = [];
for (const type of [undefined, ...TYPES]) {
  for (const kind of ['latency', 'queue_wait', 'processing'] as const) {
    const h = kaizen.histogram(kind, type);
    if (h !== undefined) histograms.push(h);
  }
}

const ASKED = [50, 95, 99, 99.9];
let sink = 0;
/** Milliseconds per call of `fn`, over `n` calls. */
function time(n: number, fn: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
}
const library = () => {
  for (const h of histograms) {
    sink += h.mean;
    for (const p of ASKED) sink += h.getValueAtPercentile(p);
  }
};
const onePass = () => {
  for (const h of histograms) sink += summarize(h, ASKED).mean;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const say = (line = '') => process.stderr.write(`${line}\n`);

say('TPS Reference System: Kaizen read path');
say(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, node ${process.version}`);
say(
  `30,000 signals over 5 minutes, 4 types; ${histograms.length} since-start histograms read for mean + p50/p95/p99/p999; ${rounds} rounds`,
);
for (let i = 0; i < 3; i++) {
  library();
  onePass();
  kaizen.snapshot();
}
const snap: number[] = [];
const lib: number[] = [];
const one: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const s = time(50, () => kaizen.snapshot());
  const l = time(20, library);
  const o = time(20, onePass);
  snap.push(s);
  lib.push(l);
  one.push(o);
  say(
    `round ${round}  snapshot ${s.toFixed(3)} ms   library reads ${l.toFixed(3)} ms   one pass ${o.toFixed(3)} ms`,
  );
}
const [s, l, o] = [median(snap), median(lib), median(one)];
say();
say(`full snapshot (all types, since start, 1 min and 5 min windows): ${s.toFixed(3)} ms`);
say(
  `percentile reads: library ${l.toFixed(3)} ms, one pass ${o.toFixed(3)} ms: ${(l / o).toFixed(1)}× faster`,
);
if (sink === 0) say('(nothing read)');
if (args.json) process.stdout.write(`${JSON.stringify({ snapshotMs: s, libraryMs: l, onePassMs: o })}\n`);
