import { parseArgs } from 'node:util';

/** The scenarios: rate per second, length in seconds, and signal type. */
export const SCENARIOS: Readonly<Record<string, { rate: number; duration: number; type: string }>> = {
  load: { rate: 100, duration: 60, type: 'validate' },
  spike: { rate: 1000, duration: 10, type: 'execute' },
  stress: { rate: 500, duration: 30, type: 'validate' },
  run: { rate: 100, duration: 10, type: 'validate' },
};

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export const USAGE = `usage: tps <load|spike|stress|run|chaos> [options]
  --url URL          the service (default ${DEFAULT_URL}, or TPS_URL)
  --rate N           requests per second (load 100, spike 1000, stress 500)
  --duration SECS    length (load 60, spike 10, stress 30)
  --type TYPE        signal type (load/stress validate, spike execute)
  --mode MODE        complete (each request waits for its signal: Prefer: wait) or accept (202 only)
  --priority N       1 (critical) to 4 (low); default 3
  --token TOKEN      bearer token when the service has AUTH_ENABLED (or TPS_TOKEN)
  --json             print the result as JSON on stdout
  --report FILE      write a self-contained HTML report
  --quiet            no progress line
  --fail-on LEVEL    exit 1 when the verdict is this level or worse (yellow, red)
  -h, --help         this text
run: 10 s of 100/s validate unless told otherwise (for your own rates and types)
chaos (starts its own service; the options above do not apply, except --rate, --json, --quiet):
  --phase SECS       length of each fault phase (default 8)
  --backend NAME     memory or nats: the service chaos starts and restarts (default memory)
exit codes: 0 done (and the verdict passed --fail-on), 1 the verdict failed --fail-on, chaos lost
  signals or the run broke off, 2 a usage error, 3 no service answers at the URL`;

/** A mistake in the command line: reported in one line with exit code 2, never a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface LoadCommand {
  readonly kind: 'load';
  /** load, spike, stress or run. */
  readonly scenario: string;
  readonly url: string;
  readonly rate: number;
  readonly durationSecs: number;
  readonly signalType: string;
  readonly mode: 'complete' | 'accept';
  readonly priority: number;
  readonly token: string | undefined;
  readonly json: boolean;
  readonly report: string | undefined;
  readonly quiet: boolean;
  readonly failOn: 'yellow' | 'red' | undefined;
}

export interface ChaosCommand {
  readonly kind: 'chaos';
  readonly rate: number;
  readonly phaseSecs: number;
  readonly backend: 'memory' | 'nats';
  readonly json: boolean;
  readonly quiet: boolean;
}

export type Command = { readonly kind: 'help' } | LoadCommand | ChaosCommand;

/** The variables the command line falls back on. */
export interface CliEnv {
  readonly TPS_URL?: string | undefined;
  readonly TPS_TOKEN?: string | undefined;
}

const OPTIONS = {
  url: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  type: { type: 'string' },
  mode: { type: 'string' },
  priority: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  report: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'fail-on': { type: 'string' },
  phase: { type: 'string' },
  backend: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

// Options that do not apply to the scenario are refused rather than silently ignored.
const CHAOS_ONLY = ['phase', 'backend'] as const;
const LOAD_ONLY = ['url', 'duration', 'type', 'mode', 'priority', 'token', 'report', 'fail-on'] as const;

function positive(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${name} must be a positive number, got "${raw}"`);
  }
  return n;
}

function oneOf<T extends string>(
  raw: string | undefined,
  name: string,
  accepted: readonly T[],
): T | undefined {
  if (raw === undefined || (accepted as readonly string[]).includes(raw)) return raw as T | undefined;
  throw new UsageError(`--${name} must be ${accepted.join(' or ')}, got "${raw}"`);
}

/** Node's parseArgs messages run on with advice about `--`; the first clause is what went wrong. */
function parseError(error: unknown): UsageError {
  const e = error as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(e.message ?? '')?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) {
    return new UsageError(`unknown option ${quoted}`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted !== undefined) {
    const name = quoted.split(' ')[0] as string;
    return new UsageError(quoted.includes('<value>') ? `${name} needs a value` : `${name} takes no value`);
  }
  return new UsageError(e.message?.split('. ')[0] ?? String(error));
}

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
}

/**
 * Reads a `tps` command line (without the node and script arguments). Throws `UsageError` for
 * an unknown option, an unknown scenario, a stray argument or a value out of range.
 */
export function parseCommand(argv: readonly string[], env: CliEnv = {}): Command {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    // Asking for help is never a mistake, whatever else is on the line.
    if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help' };
    throw parseError(error);
  }
  const { values: args, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (args.help || command === 'help') return { kind: 'help' };
  if (command === undefined) throw new UsageError('name a scenario: load, spike, stress, run or chaos');
  if (command !== 'chaos' && SCENARIOS[command] === undefined) {
    throw new UsageError(`unknown scenario "${command}": expected load, spike, stress, run or chaos`);
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  for (const name of command === 'chaos' ? LOAD_ONLY : CHAOS_ONLY) {
    if (args[name] !== undefined) throw new UsageError(`--${name} does not apply to ${command}`);
  }

  if (command === 'chaos') {
    return {
      kind: 'chaos',
      rate: positive(args.rate, 'rate', 100),
      phaseSecs: positive(args.phase, 'phase', 8),
      backend: oneOf(args.backend, 'backend', ['memory', 'nats'] as const) ?? 'memory',
      json: args.json,
      quiet: args.quiet,
    };
  }

  const scenario = SCENARIOS[command] as { rate: number; duration: number; type: string };
  const url = args.url ?? env.TPS_URL ?? DEFAULT_URL;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new UsageError(`--url is not a URL: "${url}"`);
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new UsageError(`--url must be an http or https URL, got "${url}"`);
  }
  const priority = positive(args.priority, 'priority', 3);
  if (!Number.isInteger(priority) || priority > 4) {
    throw new UsageError(`--priority must be 1 to 4, got "${args.priority}"`);
  }
  if (args.type === '') throw new UsageError('--type must name a signal type');
  return {
    kind: 'load',
    scenario: command,
    url,
    rate: positive(args.rate, 'rate', scenario.rate),
    durationSecs: positive(args.duration, 'duration', scenario.duration),
    signalType: args.type ?? scenario.type,
    mode: oneOf(args.mode, 'mode', ['complete', 'accept'] as const) ?? 'complete',
    priority,
    token: args.token ?? env.TPS_TOKEN,
    json: args.json,
    report: args.report,
    quiet: args.quiet,
    failOn: oneOf(args['fail-on'], 'fail-on', ['yellow', 'red'] as const),
  };
}
