import Denque from 'denque';
import type { Delivery, NewWaitingOrder } from '../kanban/queue.ts';
import type { Priority } from '../signal.ts';

/** What the leveler needs of a waiting item. */
export interface Levelled {
  readonly signal: { readonly type: string; readonly priority: Priority };
}

export interface LevelerOptions {
  /** Share of picks per type within a priority, relative to the others (default 1). */
  readonly weights?: Readonly<Record<string, number>>;
  /** At most this many signals of a type taken and not yet settled at once (default: no cap). */
  readonly caps?: Readonly<Record<string, number>>;
  /**
   * A priority that has had signals waiting for this long gets one pick in `AGING_EVERY`, even
   * while higher priorities are waiting: low priority work always progresses.
   */
  readonly agingMs?: number;
  /** Monotonic milliseconds (tests pass a fake clock). */
  readonly now?: () => number;
}

/** One pick in this many goes to an aged lower priority. */
export const AGING_EVERY = 8;

/** The signals of one type within one priority, and its place in the round. */
class TypeQueue<T> {
  readonly type: string;
  readonly items = new Denque<T>();
  readonly weight: number;
  /** Picks left in this type's turn (deficit round robin with a cost of 1 a signal). */
  deficit = 0;
  /** In the priority's round (it has items, and is not at its cap). */
  active = false;

  constructor(type: string, weight: number) {
    this.type = type;
    this.weight = weight;
  }
}

/** One priority: its types in deficit round robin. */
class Lane<T> {
  readonly priority: number;
  readonly types = new Map<string, TypeQueue<T>>();
  /** Types with items and room under their cap, in round order; the head has the turn. */
  readonly round = new Denque<TypeQueue<T>>();
  size = 0;
  /** When this lane last became non-empty: it has had signals waiting since. */
  since = 0;

  constructor(priority: number) {
    this.priority = priority;
  }
}

export interface LevelerSnapshot {
  readonly waiting: number;
  readonly aging_ms: number;
  readonly priorities: {
    readonly priority: number;
    readonly waiting: number;
    /** Milliseconds the priority has had signals waiting without a break (0 when empty). */
    readonly waited_ms: number;
    readonly types: Readonly<Record<string, number>>;
  }[];
  readonly weights: Readonly<Record<string, number>>;
  readonly caps: Readonly<Record<string, number>>;
  /** Signals taken and not yet settled, per type (counted only when caps are set). */
  readonly in_flight: Readonly<Record<string, number>>;
}

/**
 * Heijunka's leveler: decides which waiting signal goes next. Priorities are served highest
 * first (1 critical); within a priority, signal types take turns by deficit round robin, each
 * getting picks in proportion to its weight, so a flood of one type never starves another. A
 * lower priority that has had signals waiting for `agingMs` gets one pick in `AGING_EVERY`
 * (the one that has waited longest, if several), so it progresses under any load above. Optional
 * per-type caps skip a type while that many of it are in flight (`settled` gives room back).
 * Every operation is O(1) amortised in the number of waiting signals.
 */
export class Leveler<T extends Levelled> {
  readonly #lanes: Lane<T>[] = [new Lane(1), new Lane(2), new Lane(3), new Lane(4)];
  readonly #weights: Readonly<Record<string, number>>;
  readonly #caps: Readonly<Record<string, number>>;
  readonly #capped: boolean;
  readonly #agingMs: number;
  readonly #now: () => number;
  readonly #inFlight = new Map<string, number>();
  #size = 0;
  #picks = 0;

  constructor(options: LevelerOptions = {}) {
    this.#weights = options.weights ?? {};
    this.#caps = options.caps ?? {};
    this.#capped = Object.keys(this.#caps).length > 0;
    this.#agingMs = options.agingMs ?? 1_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Signals waiting. */
  get size(): number {
    return this.#size;
  }

  /** True when a signal can be picked now (one is waiting whose type is under its cap). */
  get ready(): boolean {
    if (this.#size === 0) return false;
    if (!this.#capped) return true;
    for (const lane of this.#lanes) if (lane.round.length > 0) return true;
    return false;
  }

  push(item: T): void {
    const lane = this.#lanes[item.signal.priority - 1] as Lane<T>;
    const type = item.signal.type;
    let q = lane.types.get(type);
    if (q === undefined) {
      q = new TypeQueue<T>(type, this.#weights[type] ?? 1);
      lane.types.set(type, q);
    }
    q.items.push(item);
    if (lane.size === 0) lane.since = this.#now();
    lane.size++;
    this.#size++;
    if (!q.active && this.#hasRoom(type)) this.#activate(lane, q);
  }

  /** The next signal by priority, aging and each type's turn; undefined when none can go now. */
  pick(): T | undefined {
    if (this.#size === 0) return undefined;
    let lane: Lane<T> | undefined;
    for (const l of this.#lanes) {
      if (l.round.length > 0) {
        lane = l;
        break;
      }
    }
    if (lane === undefined) return undefined; // every waiting type is at its cap
    if (++this.#picks % AGING_EVERY === 0) lane = this.#agedBelow(lane) ?? lane;
    return this.#serve(lane);
  }

  /** Up to `max` signals, as `pick` chooses them. */
  take(max: number): T[] {
    const out: T[] = [];
    while (out.length < max) {
      const item = this.pick();
      if (item === undefined) break;
      out.push(item);
    }
    return out;
  }

  /** Every waiting signal, taken out in no particular order (close, hand back to a broker). */
  drain(): T[] {
    const out: T[] = [];
    for (const lane of this.#lanes) {
      for (const q of lane.types.values()) {
        for (let item = q.items.shift(); item !== undefined; item = q.items.shift()) out.push(item);
        q.active = false;
        q.deficit = 0;
      }
      lane.types.clear();
      lane.round.clear();
      lane.size = 0;
    }
    this.#size = 0;
    return out;
  }

  /**
   * A signal taken earlier is settled (acknowledged, retried or dead-lettered): its type has room
   * again under its cap. Returns true when that made a waiting signal pickable.
   */
  settled(type: string): boolean {
    if (!this.#capped) return false;
    const n = (this.#inFlight.get(type) ?? 1) - 1;
    if (n <= 0) this.#inFlight.delete(type);
    else this.#inFlight.set(type, n);
    let woke = false;
    for (const lane of this.#lanes) {
      const q = lane.types.get(type);
      if (q !== undefined && !q.active && q.items.length > 0 && this.#hasRoom(type)) {
        this.#activate(lane, q);
        woke = true;
      }
    }
    return woke;
  }

  snapshot(): LevelerSnapshot {
    const now = this.#now();
    return {
      waiting: this.#size,
      aging_ms: this.#agingMs,
      priorities: this.#lanes.map((lane) => ({
        priority: lane.priority,
        waiting: lane.size,
        waited_ms: lane.size === 0 ? 0 : Math.round(now - lane.since),
        types: Object.fromEntries([...lane.types].map(([type, q]) => [type, q.items.length])),
      })),
      weights: { ...this.#weights },
      caps: { ...this.#caps },
      in_flight: Object.fromEntries(this.#inFlight),
    };
  }

  /** The priority below `top` that has waited longest, if that is `agingMs` or more. */
  #agedBelow(top: Lane<T>): Lane<T> | undefined {
    const cutoff = this.#now() - this.#agingMs;
    let aged: Lane<T> | undefined;
    for (let p = top.priority; p < 4; p++) {
      const lane = this.#lanes[p] as Lane<T>;
      if (lane.round.length > 0 && lane.since <= cutoff && (aged === undefined || lane.since < aged.since)) {
        aged = lane;
      }
    }
    return aged;
  }

  #serve(lane: Lane<T>): T {
    // The head of the round has the turn; a turn is `weight` picks (deficit round robin).
    const q = lane.round.peekFront() as TypeQueue<T>;
    if (q.deficit <= 0) q.deficit += q.weight;
    const item = q.items.shift() as T;
    q.deficit--;
    lane.size--;
    this.#size--;
    if (this.#capped) this.#inFlight.set(q.type, (this.#inFlight.get(q.type) ?? 0) + 1);
    if (q.items.length === 0) {
      lane.round.shift();
      q.active = false;
      q.deficit = 0;
      // Forget an empty type, so types seen once do not accumulate.
      lane.types.delete(q.type);
    } else if (!this.#hasRoom(q.type)) {
      lane.round.shift();
      q.active = false;
    } else if (q.deficit <= 0) {
      lane.round.shift();
      lane.round.push(q);
    }
    return item;
  }

  #hasRoom(type: string): boolean {
    if (!this.#capped) return true;
    const cap = this.#caps[type];
    return cap === undefined || (this.#inFlight.get(type) ?? 0) < cap;
  }

  #activate(lane: Lane<T>, q: TypeQueue<T>): void {
    q.active = true;
    lane.round.push(q);
  }
}

/** Two snapshots as one (the failover queue's two brokers). */
export function mergeLeveling(a: LevelerSnapshot, b: LevelerSnapshot): LevelerSnapshot {
  const sum = (x: Readonly<Record<string, number>>, y: Readonly<Record<string, number>>) => {
    const out: Record<string, number> = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    ...a,
    waiting: a.waiting + b.waiting,
    priorities: a.priorities.map((p, i) => {
      const q = b.priorities[i] ?? p;
      return {
        priority: p.priority,
        waiting: p.waiting + q.waiting,
        waited_ms: Math.max(p.waited_ms, q.waited_ms),
        types: sum(p.types, q.types),
      };
    }),
    in_flight: sum(a.in_flight, b.in_flight),
  };
}

/** The waiting order the Kanban drivers take: each call makes a leveler with `options`. */
export function levelerOrder(
  options: LevelerOptions = {},
  made?: (leveler: Leveler<Delivery>) => void,
): NewWaitingOrder {
  return <D extends Delivery>() => {
    const leveler = new Leveler<D>(options);
    made?.(leveler as unknown as Leveler<Delivery>);
    return leveler;
  };
}
