/**
 * Heijunka's leveler: picks per second with 100,000 signals waiting across 50 types and the four
 * priorities, against a plain FIFO (denque) of the same signals (what the queue did before it levelled),
 * side by side in one process; rounds alternate; medians are reported.
 *
 *   node bench/leveler.ts [--waiting 100000] [--types 50] [--rounds 5] [--json]
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import Denque from 'denque';
import { Leveler } from '../src/heijunka/leveler.ts';
import type { Priority } from '../src/signal.ts';

const { values: args } = parseArgs({
  options: {
    waiting: { type: 'string', default: '100000' },
    types: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const waiting = Number(args.waiting);
const typeCount = Number(args.types);
const rounds = Number(args.rounds);

interface Item {
  readonly signal: { readonly type: string; readonly priority: Priority };
}

// Fixed pseudo-random spread (a linear congruential generator), the same in every round.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const types = Array.from({ length: typeCount }, (_, i) => `type-${i}`);
const items: Item[] = Array.from({ length: waiting }, () => ({
  signal: {
    type: types[Math.floor(random() * typeCount)] as string,
    priority: (1 + Math.floor(random() * 4)) as Priority,
  },
}));
const weights = Object.fromEntries(types.slice(0, 10).map((t, i) => [t, 1 + (i % 3)]));

/** Fills, then picks one at a time until empty; returns [pushes/s, picks/s]. */
function leveler(): [number, number] {
  const l = new Leveler<Item>({ weights, agingMs: 1_000 });
  const t0 = performance.now();
  for (const item of items) l.push(item);
  const t1 = performance.now();
  let n = 0;
  while (l.pick() !== undefined) n++;
  const t2 = performance.now();
  if (n !== waiting) throw new Error(`picked ${n} of ${waiting}`);
  return [(waiting * 1000) / (t1 - t0), (waiting * 1000) / (t2 - t1)];
}

function fifo(): [number, number] {
  const r = new Denque<Item>();
  const t0 = performance.now();
  for (const item of items) r.push(item);
  const t1 = performance.now();
  let n = 0;
  while (r.shift() !== undefined) n++;
  const t2 = performance.now();
  if (n !== waiting) throw new Error(`shifted ${n} of ${waiting}`);
  return [(waiting * 1000) / (t1 - t0), (waiting * 1000) / (t2 - t1)];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const say = (line = '') => process.stderr.write(`${line}\n`);

say('TPS Reference System: Heijunka leveler pick rate');
say(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, node ${process.version}`);
say(
  `${fmt(waiting)} signals waiting across ${typeCount} types and 4 priorities (10 types weighted 1–3), picked one at a time until empty; ${rounds} rounds, alternating with a plain FIFO (denque)`,
);
// Warm up both paths so the rounds measure optimised code.
for (let i = 0; i < 2; i++) {
  leveler();
  fifo();
}
const lev: [number, number][] = [];
const base: [number, number][] = [];
for (let round = 1; round <= rounds; round++) {
  const l = leveler();
  const f = fifo();
  lev.push(l);
  base.push(f);
  say(`round ${round}  leveler ${fmt(l[1]).padStart(11)} picks/s   fifo ${fmt(f[1]).padStart(11)} shifts/s`);
}
const picks = median(lev.map((x) => x[1]));
const pushes = median(lev.map((x) => x[0]));
const shifts = median(base.map((x) => x[1]));
say();
say(`leveler: ${fmt(picks)} picks/s (${(1e9 / picks).toFixed(0)} ns a pick), ${fmt(pushes)} pushes/s`);
say(`fifo:    ${fmt(shifts)} shifts/s`);
say(`leveler / fifo: ${(picks / shifts).toFixed(2)}`);
if (args.json)
  process.stdout.write(`${JSON.stringify({ waiting, types: typeCount, picks, pushes, fifo: shifts })}\n`);
