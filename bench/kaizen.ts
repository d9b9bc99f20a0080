/**
 * Kaizen's histograms on Node's HDR histogram (`perf_hooks.createHistogram`) against the code they
 * replaced (bench/kaizen-baseline/: hdr-histogram-js's private file and fields, with its own record,
 * one-pass read and merge), side by side in one run; rounds alternate; medians are reported.
 *
 * - record: what Kaizen spends on one signal (accepted, queue wait, processing and latency, overall
 *   and for its type), and one histogram record alone;
 * - read: what one `/status` spends in Kaizen (`snapshot()` + `window('1m')`), read once a second
 *   while four types take 100 signals/s, after five minutes of them (every window slice in use);
 * - windows: one window read as Kaizen does it (the finished slices' merge kept until the next
 *   slice) against merging every slice of the window at each read;
 * - memory: what a fresh process holds after loading each Kaizen and filling it
 *   (bench/kaizen-rss.ts), above one that loads none.
 *
 *   node bench/kaizen.ts [--rounds 5] [--json]
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FakeClock } from '../src/clock.ts';
import { type Histogram, newHistogram } from '../src/kaizen/histogram.ts';
import { Kaizen } from '../src/kaizen/metrics.ts';
import { WindowedHistogram } from '../src/kaizen/windowed-histogram.ts';
import * as baseline from './kaizen-baseline/histogram.ts';
import { Kaizen as BaselineKaizen } from './kaizen-baseline/metrics.ts';
import { fiveMinutes, type KaizenLike, signal, withTypes } from './kaizen-load.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const say = (line = '') => process.stderr.write(`${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
let sink = 0;

/** Milliseconds per call of `fn`, over `n` calls. */
function time(n: number, fn: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return (performance.now() - t0) / n;
}

/** The same measure of old and new, alternating which goes first; medians of each. */
function sideBySide(label: string, measure: (which: 'old' | 'new') => number): { old: number; new: number } {
  const runs = { old: [] as number[], new: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const);
    for (const which of order) runs[which].push(measure(which));
    say(
      `  ${label} round ${round + 1}: old ${runs.old.at(-1)?.toFixed(4)}, new ${runs.new.at(-1)?.toFixed(4)}`,
    );
  }
  return { old: median(runs.old), new: median(runs.new) };
}

/** A Kaizen of each kind on its own fake clock, filled with five minutes of signals. */
function filled(): Record<'old' | 'new', { k: KaizenLike; clock: FakeClock; next: number }> {
  const make = (k: (clock: FakeClock) => KaizenLike) => {
    const clock = new FakeClock();
    const kaizen = withTypes(k(clock));
    fiveMinutes(kaizen, clock);
    return { k: kaizen, clock, next: 30_000 };
  };
  return { old: make((c) => new BaselineKaizen(c)), new: make((c) => new Kaizen(c)) };
}

/** The window without the kept merge of its finished slices: every slice merged at each read. */
class EverySliceWindow {
  readonly #slices = Array.from({ length: 30 }, () => newHistogram(2));
  readonly #stamps = new Float64Array(30).fill(-1);
  readonly #merged = newHistogram(2);

  record(us: number, nowMs: number): void {
    const slot = Math.floor(nowMs / 10_000);
    const i = slot % 30;
    if (this.#stamps[i] !== slot) {
      this.#stamps[i] = slot;
      this.#slices[i]?.reset();
    }
    this.#slices[i]?.record(us);
  }

  merged(nowMs: number, windowMs: number): Histogram {
    const current = Math.floor(nowMs / 10_000);
    const span = windowMs / 10_000;
    this.#merged.reset();
    for (let i = 0; i < 30; i++) {
      const h = this.#slices[i] as Histogram;
      const stamp = this.#stamps[i] as number;
      if (stamp > current - span && stamp <= current && h.count > 0) this.#merged.add(h);
    }
    return this.#merged;
  }
}

say('TPS Reference System: Kaizen on Node’s HDR histogram (new) against its own HDR code (old)');
say(
  `machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, node ${process.version}; ${rounds} rounds`,
);

say('record');
const perSignal = (() => {
  const fresh = filled();
  return sideBySide('µs per signal', (which) => {
    const s = fresh[which];
    const ms = time(200_000, () => signal(s.k, s.clock, s.next++, 10));
    return ms * 1000;
  });
})();
// Microseconds spread over 5–50 ms, as the load's processing times.
const values = Array.from({ length: 4096 }, (_, i) => 5000 + ((i * 7919) % 45_000));
const perValue = (() => {
  const oldH = baseline.newHistogram(3);
  const newH = newHistogram(3);
  return sideBySide('ns per value', (which) => {
    const ms =
      which === 'old'
        ? time(2_000_000, (i) => baseline.record(oldH, values[i & 4095] as number))
        : time(2_000_000, (i) => newH.record(values[i & 4095] as number));
    return ms * 1e6;
  });
})();

say('read (/status: snapshot + window 1m)');
const read = (() => {
  const state = filled();
  return sideBySide('ms per read', (which) => {
    const s = state[which];
    let spent = 0;
    // Twenty seconds: 100 signals between reads, a new window slice every ten.
    for (let second = 0; second < 20; second++) {
      for (let j = 0; j < 100; j++) signal(s.k, s.clock, s.next++, 10);
      const t0 = performance.now();
      s.k.snapshot();
      s.k.window('1m');
      spent += performance.now() - t0;
    }
    return spent / 20;
  });
})();

say('windows (one merged read, 1 min and 5 min)');
const windows = (() => {
  const kept = new WindowedHistogram(30, 10_000);
  const every = new EverySliceWindow();
  let now = 0;
  const load = (n: number) => {
    for (let j = 0; j < n; j++) {
      now += 10;
      const us = values[j & 4095] as number;
      kept.record(us, now);
      every.record(us, now);
    }
  };
  load(30_000);
  const readEach = (w: { merged(now: number, ms: number): Histogram }, windowMs: number) => {
    let spent = 0;
    for (let second = 0; second < 20; second++) {
      load(100);
      const t0 = performance.now();
      sink += w.merged(now, windowMs).count;
      spent += performance.now() - t0;
    }
    return (spent / 20) * 1000;
  };
  const oneMinute = sideBySide('µs per 1 min read (old: every slice, new: kept)', (which) =>
    readEach(which === 'old' ? every : kept, 60_000),
  );
  const fiveMinutes = sideBySide('µs per 5 min read (old: every slice, new: kept)', (which) =>
    readEach(which === 'old' ? every : kept, 300_000),
  );
  return { oneMinute, fiveMinutes };
})();

say('memory (fresh processes)');
const rss = (() => {
  const script = fileURLToPath(new URL('kaizen-rss.ts', import.meta.url));
  const measure = (which: string, scenario: string) =>
    (
      JSON.parse(
        execFileSync(process.execPath, ['--expose-gc', script, which, scenario], { encoding: 'utf8' }),
      ) as { rssMb: number }
    ).rssMb;
  const out: Record<string, { none: number; old: number; new: number }> = {};
  for (const scenario of ['full', 'burst']) {
    const runs = { none: [] as number[], old: [] as number[], new: [] as number[] };
    for (let round = 0; round < 3; round++) {
      const order = round % 2 === 0 ? (['none', 'old', 'new'] as const) : (['new', 'old', 'none'] as const);
      for (const which of order) runs[which].push(measure(which, scenario));
    }
    out[scenario] = { none: median(runs.none), old: median(runs.old), new: median(runs.new) };
    say(
      `  ${scenario}: none ${out[scenario].none.toFixed(1)} MB, old ${out[scenario].old.toFixed(1)} MB, new ${out[scenario].new.toFixed(1)} MB`,
    );
  }
  return out as Record<'full' | 'burst', { none: number; old: number; new: number }>;
})();

const pct = (from: number, to: number) => `${(((to - from) / from) * 100).toFixed(0)} %`;
// A /status read makes 18 window reads of one minute (6 figures × 3 kinds) and 15 of five.
const everySliceRead =
  read.new +
  (18 * (windows.oneMinute.old - windows.oneMinute.new) +
    15 * (windows.fiveMinutes.old - windows.fiveMinutes.new)) /
    1000;
say();
say('median              old (own HDR code)   new (Node HDR)   new against old');
say(
  `record, per signal  ${perSignal.old.toFixed(3).padStart(9)} µs ${perSignal.new.toFixed(3).padStart(13)} µs   ${pct(perSignal.old, perSignal.new)}`,
);
say(
  `record, per value   ${perValue.old.toFixed(1).padStart(9)} ns ${perValue.new.toFixed(1).padStart(13)} ns   ${pct(perValue.old, perValue.new)}`,
);
say(
  `/status read        ${read.old.toFixed(3).padStart(9)} ms ${read.new.toFixed(3).padStart(13)} ms   ${pct(read.old, read.new)}`,
);
for (const scenario of ['full', 'burst'] as const) {
  const r = rss[scenario];
  say(
    `RSS above none, ${scenario.padEnd(5)}${(r.old - r.none).toFixed(1).padStart(8)} MB ${(r.new - r.none).toFixed(1).padStart(13)} MB   ${(r.new - r.old).toFixed(1)} MB`,
  );
}
say(
  `windows kept merge: 1 min read ${windows.oneMinute.new.toFixed(1)} µs (every slice ${windows.oneMinute.old.toFixed(1)}), 5 min ${windows.fiveMinutes.new.toFixed(1)} µs (every slice ${windows.fiveMinutes.old.toFixed(1)});`,
);
say(
  `  so the kept merge takes a /status read from ~${everySliceRead.toFixed(3)} ms (every slice merged) to ${read.new.toFixed(3)} ms (${pct(everySliceRead, read.new)})`,
);
if (sink === 0) say('(nothing read)');
if (args.json) {
  process.stdout.write(`${JSON.stringify({ perSignal, perValue, read, windows, rss, everySliceRead })}\n`);
}
