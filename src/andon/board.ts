import type { Clock } from '../clock.ts';
import type { TpsConfig } from '../config.ts';

export type Level = 'GREEN' | 'YELLOW' | 'RED';
export const PRINCIPLES = ['jidoka', 'kanban', 'andon', 'kaizen', 'heijunka', 'tracing'] as const;
export type Principle = (typeof PRINCIPLES)[number];

const RANK: Readonly<Record<Level, number>> = { GREEN: 0, YELLOW: 1, RED: 2 };

/** What the board is computed from; the system gathers it from the other principles. */
export interface AndonReadings {
  readonly circuits: Readonly<Record<string, 'Closed' | 'Open' | 'HalfOpen'>>;
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly queueHealthy: boolean;
  readonly dlqDepth: number;
  /** Percent (0–100) over the last minute. */
  readonly errorRatePct: number;
  /** End-to-end p99 over the last minute, milliseconds. */
  readonly p99Ms: number;
  readonly workersTotal: number;
  readonly workersRunning: number;
  readonly tracing: { readonly healthy: boolean; readonly detail: string };
}

export interface AndonThresholds {
  /** Queue depth, percent of capacity, above which Kanban turns YELLOW (RED when full). */
  readonly queueYellowPct: number;
  readonly errorYellowPct: number;
  readonly errorRedPct: number;
  readonly p99YellowMs: number;
  readonly p99RedMs: number;
  /**
   * A light goes up at once but comes down only after its rules have given a lower level for
   * this long, so a reading hovering at a threshold does not flap the board (0: no hold).
   */
  readonly clearMs: number;
}

/** The board's thresholds from the configuration (TPS_ANDON_*). */
export function andonThresholds(c: TpsConfig): AndonThresholds {
  return {
    queueYellowPct: c.andonQueueYellowPct,
    errorYellowPct: c.andonErrorYellowPct,
    errorRedPct: c.andonErrorRedPct,
    p99YellowMs: c.andonP99YellowMs,
    p99RedMs: c.andonP99RedMs,
    clearMs: c.andonClearSecs * 1000,
  };
}

export const DEFAULT_THRESHOLDS: AndonThresholds = {
  queueYellowPct: 80,
  errorYellowPct: 1,
  errorRedPct: 5,
  p99YellowMs: 200,
  p99RedMs: 500,
  clearMs: 5_000,
};

export interface Light {
  readonly level: Level;
  readonly reason: string;
}

export interface AndonChange {
  /** RFC 3339. */
  readonly at: string;
  /** A level change, or an alert (an event worth seeing that changed no level). */
  readonly kind: 'level' | 'alert';
  readonly principle: Principle | 'overall';
  readonly level: Level;
  readonly previous: Level;
  readonly reason: string;
}

export interface AndonBoard {
  readonly overall: Level;
  readonly principles: Readonly<Record<Principle, Light>>;
  readonly history: AndonChange[];
}

function worst(a: Light, b: Light): Light {
  return RANK[b.level] > RANK[a.level] ? b : a;
}

const green = (reason: string): Light => ({ level: 'GREEN', reason });

/** The rules, one function per principle; each returns the worst light its rules give. */
export function computeLights(r: AndonReadings, t: AndonThresholds): Record<Principle, Light> {
  let jidoka = green('all circuits closed');
  for (const [type, state] of Object.entries(r.circuits)) {
    if (state === 'Open') jidoka = worst(jidoka, { level: 'RED', reason: `circuit ${type} open` });
    else if (state === 'HalfOpen') {
      jidoka = worst(jidoka, { level: 'YELLOW', reason: `circuit ${type} half-open (probing)` });
    }
  }

  let kanban = green(`queue ${r.queueDepth}/${r.queueCapacity}`);
  const fill = r.queueCapacity === 0 ? 0 : (r.queueDepth * 100) / r.queueCapacity;
  if (!r.queueHealthy) kanban = { level: 'RED', reason: 'queue unavailable' };
  else if (r.queueDepth >= r.queueCapacity) {
    kanban = { level: 'RED', reason: `queue full (${r.queueDepth}/${r.queueCapacity})` };
  } else if (fill > t.queueYellowPct) {
    kanban = { level: 'YELLOW', reason: `queue ${Math.round(fill)} % full` };
  }
  if (r.dlqDepth > 0) {
    kanban = worst(kanban, { level: 'YELLOW', reason: `${r.dlqDepth} signals dead-lettered` });
  }

  const rate = Math.round(r.errorRatePct * 100) / 100;
  let andon = green(`error rate ${rate} % over the last minute`);
  if (r.errorRatePct > t.errorRedPct)
    andon = { level: 'RED', reason: `error rate ${rate} % > ${t.errorRedPct} %` };
  else if (r.errorRatePct > t.errorYellowPct) {
    andon = { level: 'YELLOW', reason: `error rate ${rate} % > ${t.errorYellowPct} %` };
  }

  const p99 = Math.round(r.p99Ms * 10) / 10;
  let kaizen = green(`p99 ${p99} ms over the last minute`);
  if (r.p99Ms > t.p99RedMs) kaizen = { level: 'RED', reason: `p99 ${p99} ms > ${t.p99RedMs} ms` };
  else if (r.p99Ms > t.p99YellowMs)
    kaizen = { level: 'YELLOW', reason: `p99 ${p99} ms > ${t.p99YellowMs} ms` };

  let heijunka = green(`${r.workersRunning}/${r.workersTotal} workers running`);
  if (r.workersRunning === 0) heijunka = { level: 'RED', reason: 'no worker running' };
  else if (r.workersRunning < r.workersTotal) {
    heijunka = {
      level: 'YELLOW',
      reason: `${r.workersTotal - r.workersRunning} of ${r.workersTotal} workers down`,
    };
  }

  const tracing: Light = r.tracing.healthy
    ? green(r.tracing.detail)
    : { level: 'YELLOW', reason: r.tracing.detail };
  return { jidoka, kanban, andon, kaizen, heijunka, tracing };
}

/**
 * Andon: the GREEN / YELLOW / RED board. `evaluate` recomputes every light from the readings and
 * records each change (bounded history, newest last) and tells listeners. A light rises at once;
 * it falls only once its rules have given a lower level for `clearMs` without a break.
 */
export class Andon {
  readonly #thresholds: AndonThresholds;
  readonly #historySize: number;
  readonly #clock: Clock;
  readonly #history: AndonChange[] = [];
  readonly #listeners = new Set<(change: AndonChange) => void>();
  /** Level changes since start, by principle (or overall) and the level changed to. */
  readonly #alerts = new Map<string, number>();
  #lights: Record<Principle, Light>;
  #overall: Light = green('all principles green');
  /** Since when (monotonic ms) each principle's rules have given a level below its light. */
  readonly #lowerSince = new Map<Principle, number>();

  constructor(historySize: number, clock: Clock, thresholds: AndonThresholds = DEFAULT_THRESHOLDS) {
    this.#historySize = historySize;
    this.#clock = clock;
    this.#thresholds = thresholds;
    this.#lights = Object.fromEntries(PRINCIPLES.map((p) => [p, green('starting')])) as Record<
      Principle,
      Light
    >;
  }

  get overall(): Level {
    return this.#overall.level;
  }

  evaluate(readings: AndonReadings): void {
    const computed = computeLights(readings, this.#thresholds);
    const clearMs = this.#thresholds.clearMs;
    const now = this.#clock.now();
    const next = {} as Record<Principle, Light>;
    let overall = green('all principles green');
    for (const p of PRINCIPLES) {
      const current = this.#lights[p];
      let light = computed[p];
      if (RANK[light.level] < RANK[current.level] && clearMs > 0) {
        const since = this.#lowerSince.get(p) ?? now;
        this.#lowerSince.set(p, since);
        if (now - since < clearMs) {
          const left = Math.ceil((clearMs - (now - since)) / 1000);
          light = { level: current.level, reason: `${light.reason}; clearing (${left} s)` };
        } else this.#lowerSince.delete(p);
      } else this.#lowerSince.delete(p);
      next[p] = light;
      if (light.level !== current.level) this.#change(p, light, current.level);
      if (RANK[light.level] > RANK[overall.level])
        overall = { level: light.level, reason: `${p}: ${light.reason}` };
    }
    this.#lights = next;
    if (overall.level !== this.#overall.level) this.#change('overall', overall, this.#overall.level);
    this.#overall = overall;
  }

  board(): AndonBoard {
    return { overall: this.#overall.level, principles: { ...this.#lights }, history: [...this.#history] };
  }

  /** Level changes since start, as [principle, level, count]. */
  alerts(): [Principle | 'overall', Level, number][] {
    return [...this.#alerts].map(([key, n]) => {
      const [principle, level] = key.split('|') as [Principle | 'overall', Level];
      return [principle, level, n];
    });
  }

  /** Listeners subscribed now (each open live stream holds one). */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  onChange(listener: (change: AndonChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Records an event of a principle in the history and tells listeners, whether or not it changes
   * a level (a second circuit opening while the first is open changes none).
   */
  alert(principle: Principle, level: Level, reason: string): void {
    this.#record('alert', principle, { level, reason }, this.#lights[principle].level);
  }

  #change(principle: Principle | 'overall', light: Light, previous: Level): void {
    this.#record('level', principle, light, previous);
  }

  #record(kind: 'level' | 'alert', principle: Principle | 'overall', light: Light, previous: Level): void {
    const change: AndonChange = {
      at: new Date(this.#clock.wallNow()).toISOString(),
      kind,
      principle,
      level: light.level,
      previous,
      reason: light.reason,
    };
    this.#history.push(change);
    const key = `${principle}|${light.level}`;
    this.#alerts.set(key, (this.#alerts.get(key) ?? 0) + 1);
    if (this.#history.length > this.#historySize) this.#history.shift();
    for (const listener of this.#listeners) listener(change);
  }
}
