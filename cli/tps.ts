/**
 * `tps`: load, spike, stress and chaos runs against a TPS service, with a verdict on each run.
 *
 *   tps load   [--rate 100]  [--duration 60] [--type validate]
 *   tps spike  [--rate 1000] [--duration 10] [--type execute]
 *   tps stress [--rate 500]  [--duration 30] [--type validate]
 *   tps run    [--rate 100]  [--duration 10] [--type validate]
 *   tps chaos  [--rate 100]  [--phase 8] [--backend memory|nats]
 *   common: --url http://127.0.0.1:8080 --mode complete|accept --priority N --token T
 *           --json --report FILE.html --quiet --fail-on yellow|red
 *
 * In a clone: `npx tps …` or `npm run -s tps -- …`; installed: `npx tps …`.
 */
import { writeFileSync } from 'node:fs';
import { type ChaosCommand, type LoadCommand, parseCommand, USAGE, UsageError } from './args.ts';
import { runChaos } from './chaos.ts';
import { runLoad } from './load.ts';
import { unreachable } from './reachable.ts';
import { renderHtmlReport } from './report-html.ts';
import { progressLine, summary } from './summary.ts';

/** Long enough for a busy service to answer one GET, short enough to feel immediate. */
const REACH_TIMEOUT_MS = 3_000;

/** An error that ends the run with its own exit code and a one-line message. */
class Exit extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

async function chaos(c: ChaosCommand): Promise<number> {
  const report = await runChaos({
    rate: c.rate,
    phaseSecs: c.phaseSecs,
    backend: c.backend,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (c.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  if (report.accepted === 0) {
    throw new Exit('chaos: the service accepted no signal, so nothing was tested', 1);
  }
  return report.lost === 0 ? 0 : 1;
}

async function load(c: LoadCommand): Promise<number> {
  const why = await unreachable(c.url, REACH_TIMEOUT_MS, c.token);
  if (why !== undefined) throw new Exit(why, 3);
  const tty = process.stderr.isTTY === true;
  let errors = 0;
  const result = await runLoad({
    url: c.url,
    scenario: c.scenario,
    signalType: c.signalType,
    rate: c.rate,
    durationSecs: c.durationSecs,
    mode: c.mode,
    priority: c.priority,
    token: c.token,
    onTick: (tick, sent, p99) => {
      errors += tick.errors;
      if (c.quiet) return;
      const line = progressLine(tick, Math.ceil(c.durationSecs), sent, p99, errors);
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else if (tick.t % 5 === 0) process.stderr.write(`${line}\n`);
    },
  });
  if (tty && !c.quiet) process.stderr.write('\n');
  // It answered before the run: it went away during it.
  if (result.sent > 0 && (result.statusCodes.error ?? 0) === result.sent) {
    throw new Exit(`no answer from ${c.url} during the run: did the service stop?`, 3);
  }
  process.stderr.write(`${summary(result)}\n`);
  if (c.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  if (c.report !== undefined) {
    writeFileSync(c.report, renderHtmlReport(result));
    process.stderr.write(`report written to ${c.report}\n`);
  }
  const level = result.verdict.level;
  const failed = (c.failOn === 'yellow' && level !== 'GREEN') || (c.failOn === 'red' && level === 'RED');
  return failed ? 1 : 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const command = parseCommand(argv, process.env);
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  return command.kind === 'chaos' ? chaos(command) : load(command);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`tps: ${error.message} (tps --help lists the options)\n`);
    process.exitCode = 2;
  } else if (error instanceof Exit) {
    process.stderr.write(`tps: ${error.message}\n`);
    process.exitCode = error.code;
  } else {
    process.stderr.write(`tps: ${(error as Error).message ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
// Open keep-alive sockets or a stray timer must not hold the verdict back.
process.exit();
