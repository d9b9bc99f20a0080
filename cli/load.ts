import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import {
  Agent as HttpsAgent,
  type RequestOptions as HttpsRequestOptions,
  request as httpsRequest,
} from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { newHistogram, toMicros, valueAtPerMille } from '../src/kaizen/histogram.ts';
import type { Percentiles, RunResult, Tick } from './result.ts';
import { verdict } from './verdict.ts';

export interface LoadOptions {
  /** The service's base URL, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** Named in the result: load, spike, stress, custom. */
  readonly scenario: string;
  readonly signalType: string;
  /** Requests per second, sent at a constant rate whatever the answers do (open loop). */
  readonly rate: number;
  readonly durationSecs: number;
  /** `complete` (default): each request waits for its signal's end; `accept`: for the 202. */
  readonly mode?: 'complete' | 'accept';
  readonly priority?: number;
  /** The signal's payload (default: one that suits the demo types). */
  readonly payload?: Readonly<Record<string, unknown>>;
  /** Bearer token for a service with AUTH_ENABLED. */
  readonly token?: string;
  /** In `complete` mode, how long a request may wait for its signal (Prefer: wait), seconds. */
  readonly waitSecs?: number;
  /**
   * How long a request may go unanswered before it counts as `no_answer` (default: the wait it
   * asked for plus 5 s in `complete` mode, 15 s in `accept` mode).
   */
  readonly answerTimeoutMs?: number;
  /** Requests without an answer at most; past it a send counts as an error (the server stalled). */
  readonly maxInFlight?: number;
  /** Polls /health and /jidoka (queue depth, circuit); off for a server that has neither. */
  readonly observe?: boolean;
  /** How long to wait for the queue to drain after the run, milliseconds. */
  readonly drainTimeoutMs?: number;
  /** Called once a second while sending. */
  readonly onTick?: (tick: Tick, sentSoFar: number, p99SoFar: number) => void;
  /** Called with each accepted signal's id (202 or 200). */
  readonly onAccepted?: (id: string) => void;
  /** Stops sending early. */
  readonly abort?: AbortSignal;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

const DEFAULT_PAYLOADS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  validate: { data: [1, 2, 3] },
  execute: { task: 'load' },
  report: { data: [1, 2, 3] },
  chaos: {},
};

/** A request that got no whole answer in time (its socket is destroyed). */
export class NoAnswerError extends Error {}

/** A small HTTP client on keep-alive connections, for the generator and the service's figures. */
export class Client {
  readonly base: URL;
  readonly #agent: HttpAgent;
  readonly #request: (
    options: HttpsRequestOptions,
    callback: (res: IncomingMessage) => void,
  ) => ReturnType<typeof httpRequest>;
  readonly #auth: string | undefined;

  constructor(url: string, token?: string) {
    this.base = new URL(url);
    const https = this.base.protocol === 'https:';
    this.#agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 512 })
      : new HttpAgent({ keepAlive: true, maxSockets: 512 });
    this.#request = https
      ? (options, callback) => httpsRequest(options, callback)
      : (options, callback) => httpRequest(options as RequestOptions, callback);
    this.#auth = token === undefined ? undefined : `Bearer ${token}`;
  }

  /**
   * One request; rejects when no whole answer came within `timeoutMs` (the socket is then
   * destroyed), so a stalled service cannot hang a poll or a run.
   */
  send(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    headers: Record<string, string> = {},
    timeoutMs = 10_000,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const h: Record<string, string> = { ...headers };
      if (this.#auth !== undefined) h.authorization = this.#auth;
      if (body !== undefined) {
        h['content-type'] = 'application/json';
        h['content-length'] = String(Buffer.byteLength(body));
      }
      const req = this.#request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          path,
          method,
          headers: h,
          agent: this.#agent,
          // Self-signed certificates are the norm on a test bench.
          rejectUnauthorized: false,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new NoAnswerError(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** GET `path` as JSON; undefined unless it answers one of `statuses` with JSON. */
  async json<T>(path: string, statuses: readonly number[] = [200]): Promise<T | undefined> {
    try {
      const a = await this.send('GET', path, undefined, {}, 5_000);
      return statuses.includes(a.status) ? (JSON.parse(a.body) as T) : undefined;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.#agent.destroy();
  }
}

interface HealthBody {
  readonly queue_depth?: number;
  readonly in_flight?: number;
  readonly circuit_state?: string;
}

/** /health answers 503 with the same body while the service is unhealthy. */
const HEALTH_ANSWERS = [200, 503];

/**
 * The service's queue depth and worst circuit, or nulls when it cannot say. Read from /health:
 * a tenth of /status's size, and it computes no percentiles, so polling it each second does not
 * stall the service (nor this process) at the moment a signal arrives.
 */
export async function observe(
  client: Client,
): Promise<{ depth: number | null; inFlight: number | null; circuit: string | null }> {
  const h = await client.json<HealthBody>('/health', HEALTH_ANSWERS);
  return {
    depth: h?.queue_depth ?? null,
    inFlight: h?.in_flight ?? null,
    circuit: h?.circuit_state ?? null,
  };
}

interface InfoBody {
  readonly memory?: {
    readonly rss_bytes?: number;
    readonly peak_rss_bytes?: number;
    readonly idle_compaction?: {
      readonly enabled?: boolean;
      readonly compactions?: number;
      readonly due?: boolean;
    };
  };
  readonly config?: { readonly idle_compact_secs?: number };
}

function mbOf(bytes: number | undefined): number | null {
  return bytes === undefined ? null : bytes / 2 ** 20;
}

/**
 * /info once the service has settled: after the idle compaction that follows the run when one is
 * due, or, when none is due or none came within its quiet period and 3 s more, as it is now.
 */
async function settledInfo(
  client: Client,
  atEnd: InfoBody | undefined,
  compaction: { readonly compactions?: number; readonly due?: boolean },
): Promise<InfoBody | undefined> {
  if (compaction.due !== true) return atEnd;
  const before = compaction.compactions ?? 0;
  const deadline = performance.now() + ((atEnd?.config?.idle_compact_secs ?? 5) + 3) * 1000;
  while (performance.now() < deadline) {
    await sleep(250);
    const info = await client.json<InfoBody>('/info');
    if ((info?.memory?.idle_compaction?.compactions ?? 0) > before) return info;
  }
  return client.json<InfoBody>('/info');
}

async function circuitOpenings(client: Client): Promise<number | null> {
  const j = await client.json<{ circuits?: Record<string, { openings?: number }> }>('/jidoka');
  if (j?.circuits === undefined) return null;
  let n = 0;
  for (const c of Object.values(j.circuits)) n += c.openings ?? 0;
  return n;
}

function percentiles(h: ReturnType<typeof newHistogram>): Percentiles {
  // Each figure, the max too, is the top of its bucket (within 0.1 % of the values seen).
  const at = (perMille: number) => valueAtPerMille(h, perMille) / 1000;
  return {
    p50: at(500),
    p95: at(950),
    p99: at(990),
    p999: at(999),
    max: h.count === 0 ? 0 : h.max / 1000,
    mean: h.count === 0 ? 0 : h.mean / 1000,
  };
}

function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/**
 * Runs one open-loop load: request i is due at start + i / rate and is sent then, whether or not
 * earlier ones were answered, and its latency runs from that due time (so a server that stalls
 * shows the stall in every request it delays: no coordinated omission). Latencies go into an HDR
 * histogram (three significant digits). Afterwards it waits for the queue to drain and judges
 * the run (see verdict.ts).
 */
export async function runLoad(o: LoadOptions): Promise<RunResult> {
  const client = new Client(o.url, o.token);
  const mode = o.mode ?? 'complete';
  const waitSecs = o.waitSecs ?? 30;
  const maxInFlight = o.maxInFlight ?? 20_000;
  const client0 = new Client(o.url, o.token);
  // A server without /health (not a TPS service) cannot be watched: say so rather than wait.
  const watch = (o.observe ?? true) && (await observe(client0)).depth !== null;
  client0.close();
  const total = Math.max(0, Math.round(o.rate * o.durationSecs));
  const interval = 1000 / o.rate;
  const body = JSON.stringify({
    signal_type: o.signalType,
    priority: o.priority ?? 3,
    payload: o.payload ?? DEFAULT_PAYLOADS[o.signalType] ?? {},
  });
  const headers: Record<string, string> = mode === 'complete' ? { prefer: `wait=${waitSecs}` } : {};

  const histogram = newHistogram(3);
  const statusCodes: Record<string, number> = {};
  const timeline: Tick[] = [];
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let inFlight = 0;
  let lastAnswerAt = 0;
  // The current second's figures.
  let tickSent = 0;
  let tickAnswered = 0;
  let tickErrors = 0;
  let tickLatencies: number[] = [];
  let openSeconds = 0;
  let observedSeconds = 0;

  const openingsBefore = watch ? await circuitOpenings(client) : null;
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  let allAnswered: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  let sending = true;

  const count = (key: string, error: boolean, latencyMs: number) => {
    statusCodes[key] = (statusCodes[key] ?? 0) + 1;
    answered++;
    tickAnswered++;
    if (error) {
      errors++;
      tickErrors++;
    }
    histogram.record(toMicros(latencyMs));
    tickLatencies.push(latencyMs);
    lastAnswerAt = performance.now();
    if (--inFlight === 0 && !sending) allAnswered();
  };

  // Requests sent and not answered yet; past the final wait each is counted once as `no_answer`.
  const pending = new Set<{ readonly dueAt: number }>();
  const requestTimeoutMs = o.answerTimeoutMs ?? (mode === 'complete' ? waitSecs : 10) * 1000 + 5_000;
  const fire = (dueAt: number) => {
    sent++;
    tickSent++;
    if (inFlight >= maxInFlight) {
      // Too many unanswered: the server has stalled. Not sent, and counted as an error.
      inFlight++;
      count('not_sent', true, performance.now() - dueAt);
      return;
    }
    inFlight++;
    const request = { dueAt };
    pending.add(request);
    client.send('POST', '/signal', body, headers, requestTimeoutMs).then(
      (a) => {
        if (!pending.delete(request)) return; // already counted as no_answer
        const latency = performance.now() - dueAt;
        let failed = a.status < 200 || a.status >= 300;
        if (!failed && (o.onAccepted !== undefined || mode === 'complete')) {
          try {
            const parsed = JSON.parse(a.body) as { signal_id?: string; success?: boolean };
            if (parsed.signal_id !== undefined) o.onAccepted?.(parsed.signal_id);
            // In complete mode a 200 says how the signal ended: a dead-lettered one is an error.
            if (a.status === 200 && parsed.success === false) failed = true;
          } catch {
            failed = true;
          }
        }
        count(String(a.status), failed, latency);
      },
      (error: unknown) => {
        if (!pending.delete(request)) return;
        count(error instanceof NoAnswerError ? 'no_answer' : 'error', true, performance.now() - dueAt);
      },
    );
  };

  // Once a second: close the tick, poll the service.
  let second = 0;
  const closeTick = async () => {
    // Take this second's figures first: answers arriving during the poll belong to the next one.
    second++;
    const t = second;
    const sorted = tickLatencies.sort((a, b) => a - b);
    const counts = { sent: tickSent, answered: tickAnswered, errors: tickErrors };
    tickSent = 0;
    tickAnswered = 0;
    tickErrors = 0;
    tickLatencies = [];
    const seen = watch ? await observe(client) : { depth: null, circuit: null };
    if (seen.circuit !== null) {
      observedSeconds++;
      if (seen.circuit === 'Open') openSeconds++;
    }
    const tick: Tick = {
      t,
      ...counts,
      p50: quantile(sorted, 50),
      p99: quantile(sorted, 99),
      max: sorted.at(-1) ?? 0,
      queueDepth: seen.depth,
      circuit: seen.circuit,
    };
    timeline.push(tick);
    o.onTick?.(tick, sent, valueAtPerMille(histogram, 990) / 1000);
  };
  const ticker = setInterval(() => void closeTick(), 1000);

  let i = 0;
  while (i < total && o.abort?.aborted !== true) {
    const now = performance.now();
    while (i < total && t0 + i * interval <= now) fire(t0 + i++ * interval);
    if (i < total) await sleep(Math.max(0, Math.min(5, t0 + i * interval - performance.now())));
  }
  const sendSecs = (performance.now() - t0) / 1000;
  sending = false;
  if (inFlight === 0) allAnswered();
  // Answers still due get the wait they asked for, and a little more (each request's own timeout).
  const giveUp = new AbortController();
  await Promise.race([
    settled,
    sleep(requestTimeoutMs + 1_000, undefined, { signal: giveUp.signal }).catch(() => {}),
  ]);
  giveUp.abort();
  for (const request of pending) count('no_answer', true, performance.now() - request.dueAt);
  pending.clear();
  clearInterval(ticker);
  await closeTick();

  // Drain: until the service's queue is empty and nothing is in flight.
  let drainMs: number | null = null;
  let rssMb: number | null = null;
  let peakRssMb: number | null = null;
  let idleRssMb: number | null = null;
  let openings = 0;
  if (watch) {
    const from = lastAnswerAt || performance.now();
    const deadline = performance.now() + (o.drainTimeoutMs ?? 120_000);
    while (performance.now() < deadline) {
      const s = await observe(client);
      if (s.depth === 0 && s.inFlight === 0) {
        drainMs = Math.max(0, performance.now() - from);
        break;
      }
      await sleep(100);
    }
    const after = await circuitOpenings(client);
    openings = after !== null && openingsBefore !== null ? after - openingsBefore : 0;
    const info = await client.json<InfoBody>('/info');
    rssMb = mbOf(info?.memory?.rss_bytes);
    peakRssMb = mbOf(info?.memory?.peak_rss_bytes);
    const compaction = info?.memory?.idle_compaction;
    if (compaction?.enabled === true)
      idleRssMb = mbOf((await settledInfo(client, info, compaction))?.memory?.rss_bytes);
  }
  client.close();
  timeline.sort((a, b) => a.t - b.t);

  const latencyMs = percentiles(histogram);
  const errorRatePct = answered === 0 ? 0 : (errors * 100) / answered;
  const circuitOpenSharePct = observedSeconds === 0 ? 0 : (openSeconds * 100) / observedSeconds;
  return {
    scenario: o.scenario,
    url: o.url,
    signalType: o.signalType,
    mode,
    rate: o.rate,
    durationSecs: o.durationSecs,
    startedAt,
    sent,
    answered,
    achievedRate: sendSecs === 0 ? 0 : sent / sendSecs,
    latencyMs,
    statusCodes,
    errors,
    errorRatePct,
    drainMs,
    circuitOpenings: openings,
    circuitOpenSharePct,
    serviceRssMb: rssMb,
    servicePeakRssMb: peakRssMb,
    serviceIdleRssMb: idleRssMb,
    timeline,
    verdict: verdict({
      errorRatePct,
      p99Ms: latencyMs.p99,
      circuitOpenings: openings,
      circuitOpenSharePct,
      drainMs,
      observed: watch,
    }),
  };
}
