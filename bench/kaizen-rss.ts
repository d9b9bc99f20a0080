/**
 * One process's resident memory after it loads one Kaizen and fills it, for bench/kaizen.ts (which
 * runs it fresh for each). `none` loads no Kaizen: the floor the others are read against.
 *
 *   node --expose-gc bench/kaizen-rss.ts new|old|none full|burst
 *
 * `full`: five minutes at 100 signals/s over four types (every window slice made); `burst`: 100,000
 * signals of one type at 5,000/s, as the service's memory check sends them. Prints `{"rssMb":…}`.
 */
import { readFileSync } from 'node:fs';
import { FakeClock } from '../src/clock.ts';
import { fiveMinutes, type KaizenLike, signal, withTypes } from './kaizen-load.ts';

const [which, scenario] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const clock = new FakeClock();
let kaizen: KaizenLike | undefined;
if (which === 'new') kaizen = new (await import('../src/kaizen/metrics.ts')).Kaizen(clock);
else if (which === 'old') kaizen = new (await import('./kaizen-baseline/metrics.ts')).Kaizen(clock);
else if (which !== 'none') throw new Error(`new, old or none, not ${which}`);

if (kaizen !== undefined) {
  withTypes(kaizen);
  if (scenario === 'full') fiveMinutes(kaizen, clock);
  else if (scenario === 'burst') for (let i = 0; i < 100_000; i++) signal(kaizen, clock, i, 0.2, 'report');
  else throw new Error(`full or burst, not ${scenario}`);
  // A /status read makes the windows' merge histograms too.
  kaizen.snapshot();
  kaizen.window('1m');
}
gc();
gc();
const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
process.stdout.write(`${JSON.stringify({ rssMb: kb / 1024 })}\n`);
