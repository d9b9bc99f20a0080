import type { Priority, SignalRecord, SignalState, WorkSignal } from '../signal.ts';

/**
 * Finished signal records packed into typed arrays, oldest first.
 *
 * A status store keeps up to `TPS_STATUS_MAX_ENTRIES` finished records (100,000 by default). As
 * JavaScript objects each one took ~380 bytes of heap that lived long enough to be promoted and
 * then traced by every major collection; here a finished record takes 78 bytes of typed arrays
 * that the collector never looks into (~115 with its share of the hash table and its three
 * references), plus its message and handler data by reference (usually a shared string and a
 * small object). A record goes back to being an object only when it is read.
 *
 * Only records whose id is a lowercase RFC 9562 UUID and whose trace id is 32 lowercase hex digits
 * are packed (every id the service makes); `add` refuses the others, which then stay objects.
 *
 * Slots form a FIFO ring in the order records were added; an open-addressing hash table (linear
 * probing, backward-shift deletion) maps an id's 128 bits to its slot. A slot taken out of the
 * middle (`remove`) becomes a hole that the ring skips; holes are dropped when the ring is laid out
 * again, which happens when it is full.
 */

/** The states a packed record may be in: the terminal ones. Code 0 marks a hole. */
const STATE_CODES: Readonly<Partial<Record<SignalState, number>>> = { completed: 1, dead_lettered: 2 };
const STATES: readonly (SignalState | undefined)[] = [undefined, 'completed', 'dead_lettered'];

/** Float64 fields per slot. */
const F_ACCEPTED = 0;
const F_STARTED = 1;
const F_FINISHED = 2;
const F_DURATION = 3;
const FLOATS = 4;

/** Uint16 fields per slot (a record with a count past 65,535 stays an object). */
const U_EPOCH = 0;
const U_ATTEMPTS = 1;
const U_MAX_ATTEMPTS = 2;
const U_DEFERRALS = 3;
const U_TYPE = 4;
/** Worker name index + 1 (0: no worker). */
const U_WORKER = 5;
const UINTS = 6;

/** Uint8 fields per slot. */
const B_STATE = 0;
const B_PRIORITY = 1;
const BYTES = 2;

/** Rarely set fields, kept as one object per slot only when one of them is. */
interface Extra {
  /** Set on a finished record only when something scheduled it again (a finished one rarely is). */
  readonly nextAttemptAt: number | undefined;
  readonly error: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly signal: WorkSignal | undefined;
}

/** Names (signal types, worker ids) stored once and referred to by index. */
class Names {
  readonly #index = new Map<string, number>();
  readonly #names: string[] = [];

  /** The name's index, or -1 once the table holds `MAX_NAMES` names. */
  intern(name: string): number {
    const known = this.#index.get(name);
    if (known !== undefined) return known;
    if (this.#names.length >= MAX_NAMES) return -1;
    this.#names.push(name);
    this.#index.set(name, this.#names.length - 1);
    return this.#names.length - 1;
  }

  name(i: number): string {
    return this.#names[i] as string;
  }
}

/** Index + 1 of a worker's name must fit a Uint16 field. */
const MAX_NAMES = 65_535;

// ---------------------------------------------------------------------------------------------
// 128-bit ids as four 32-bit words

const words = new Uint32Array(4);

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

/** Parses 32 lowercase hex digits of `s` (dashes skipped where `uuid`) into `words`. */
function parseHex(s: string, uuid: boolean): boolean {
  if (s.length !== (uuid ? 36 : 32)) return false;
  let w = 0;
  let acc = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (uuid && (i === 8 || i === 13 || i === 18 || i === 23)) {
      if (c !== 45) return false; // '-'
      continue;
    }
    const v = nibble(c);
    if (v < 0) return false;
    acc = (acc << 4) | v;
    if (++n === 8) {
      words[w++] = acc >>> 0;
      acc = 0;
      n = 0;
    }
  }
  return true;
}

const HEX = '0123456789abcdef';
const text = Buffer.allocUnsafe(36);

/** Formats four words of `from` at `at` as 32 hex digits, or as a UUID. A flat string. */
function formatHex(from: Uint32Array, at: number, uuid: boolean): string {
  let j = 0;
  for (let w = 0; w < 4; w++) {
    const word = from[at + w] as number;
    for (let shift = 28; shift >= 0; shift -= 4) {
      if (uuid && (j === 8 || j === 13 || j === 18 || j === 23)) text[j++] = 45;
      text[j++] = HEX.charCodeAt((word >>> shift) & 0xf);
    }
  }
  return text.toString('latin1', 0, j);
}

function isCount(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}

function orNaN(n: number | undefined): number {
  return n === undefined ? Number.NaN : n;
}

function orUndefined(n: number): number | undefined {
  return Number.isNaN(n) ? undefined : n;
}

// ---------------------------------------------------------------------------------------------

/** Fills a new array of `n` undefined elements, packed (never a dictionary, whatever `n`). */
function refs<T>(n: number): (T | undefined)[] {
  const a: (T | undefined)[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}

export class RecordArchive {
  #cap = 0;
  /** Ring of slots: `#count` slots from `#head`, holes included. */
  #head = 0;
  #count = 0;
  /** Slots holding a record (the ring's slots minus its holes). */
  #size = 0;
  #ids = new Uint32Array(0);
  #traces = new Uint32Array(0);
  #floats = new Float64Array(0);
  #uints = new Uint16Array(0);
  #bytes = new Uint8Array(0);
  #messages: (string | undefined)[] = [];
  #data: unknown[] = [];
  #extras: (Extra | undefined)[] = [];
  /** Slot + 1 per bucket; 0 is empty. A power of two, at least twice `#cap`. */
  #table = new Int32Array(0);
  readonly #types = new Names();
  readonly #workers = new Names();
  /** The type's index and the worker's index + 1 (0: none) of the record `#packable` last passed. */
  #type = 0;
  #worker = 0;

  /** Slots the ring grows to at most while the records it holds fit them (see `#grown`). */
  readonly #maxCapacity: number;

  /**
   * `maxCapacity`: the most records the owner keeps (a status store's `maxEntries`, plus a little
   * room): the ring doubles up to it rather than past it, so 100,000 records take 100,000-odd
   * slots, not 131,072.
   */
  constructor(initialCapacity = 1024, maxCapacity = Number.POSITIVE_INFINITY) {
    this.#maxCapacity = maxCapacity;
    this.#layout(Math.max(16, Math.min(initialCapacity, maxCapacity)));
  }

  /** Slots laid out (records, holes and free room). */
  get capacity(): number {
    return this.#cap;
  }

  /** Records held. */
  get size(): number {
    return this.#size;
  }

  /** The slot of `id`, or -1. */
  find(id: string): number {
    if (this.#size === 0 || !parseHex(id, true)) return -1;
    return this.#lookup();
  }

  has(id: string): boolean {
    return this.find(id) >= 0;
  }

  /** The record of `id` as a new object, or undefined. Changes to it are not seen here. */
  get(id: string): SignalRecord | undefined {
    const slot = this.find(id);
    return slot < 0 ? undefined : this.#read(slot, id);
  }

  /**
   * Packs a finished record (completed or dead-lettered, with its finish time) as the newest. False
   * when it cannot be packed (not finished, an id or trace id in another form, or a name table
   * full): keep the object.
   * The caller makes sure `record.id` is not already held.
   */
  add(record: SignalRecord): boolean {
    if (!this.#packable(record)) return false;
    const t0 = words[0] as number;
    const t1 = words[1] as number;
    const t2 = words[2] as number;
    const t3 = words[3] as number;
    if (!parseHex(record.id, true)) return false;
    if (this.#count === this.#cap) this.#layout(this.#grown());
    const slot = (this.#head + this.#count) % this.#cap;
    this.#count++;
    this.#size++;
    const w = slot * 4;
    this.#ids.set(words, w);
    this.#traces[w] = t0;
    this.#traces[w + 1] = t1;
    this.#traces[w + 2] = t2;
    this.#traces[w + 3] = t3;
    this.#write(slot, record);
    this.#insert(slot);
    return true;
  }

  /**
   * Replaces the record held in `slot` with `record` (same id), keeping its place in the order.
   * False when `record` cannot be packed; the slot is then left as it was.
   */
  replace(slot: number, record: SignalRecord): boolean {
    if (!this.#packable(record)) return false;
    this.#traces.set(words, slot * 4);
    this.#write(slot, record);
    return true;
  }

  /** Takes the record out of `slot`, leaving a hole. Returns its idempotency key. */
  remove(slot: number): string | undefined {
    const key = this.#extras[slot]?.idempotencyKey;
    this.#unlink(slot);
    // Holes at either end of the ring are dropped at once.
    this.#dropLeadingHoles();
    while (this.#count > 0 && this.#bytes[this.#slotAt(this.#count - 1) * BYTES + B_STATE] === 0) {
      this.#count--;
    }
    return key;
  }

  /** The oldest record's finish time (epoch ms), or undefined when empty. */
  oldestFinishedAt(): number | undefined {
    return this.#size === 0
      ? undefined
      : orUndefined(this.#floats[this.#head * FLOATS + F_FINISHED] as number);
  }

  /**
   * Forgets the oldest record. Returns its id and idempotency key when it had one (so the caller
   * can release the key), else undefined.
   */
  evictOldest(): { readonly id: string; readonly idempotencyKey: string } | undefined {
    if (this.#size === 0) return undefined;
    const slot = this.#head;
    const key = this.#extras[slot]?.idempotencyKey;
    const id = key === undefined ? undefined : formatHex(this.#ids, slot * 4, true);
    this.#unlink(slot);
    this.#dropLeadingHoles();
    return key === undefined ? undefined : { id: id as string, idempotencyKey: key };
  }

  // ---- slots

  /**
   * The capacity to lay the ring out again in once it is full: the same when holes are half of
   * it or more (dropping them makes room), else twice as many slots, but no more than
   * `#maxCapacity` unless the records alone fill that.
   */
  #grown(): number {
    if (this.#size * 2 < this.#cap) return this.#cap;
    const doubled = this.#cap * 2;
    return this.#size < this.#maxCapacity && doubled > this.#maxCapacity ? this.#maxCapacity : doubled;
  }

  #slotAt(k: number): number {
    return (this.#head + k) % this.#cap;
  }

  /**
   * True when every field of `record` but its id fits a slot; its trace id is then in `words`.
   * Interns its type and worker names, for `#write`.
   */
  #packable(record: SignalRecord): boolean {
    if (
      STATE_CODES[record.state] === undefined ||
      // The order of expiry is by finish time: a finished record without one stays an object.
      record.finishedAt === undefined ||
      !isCount(record.epoch) ||
      !isCount(record.attempts) ||
      !isCount(record.maxAttempts) ||
      !isCount(record.deferrals)
    ) {
      return false;
    }
    this.#type = this.#types.intern(record.type);
    if (this.#type < 0) return false;
    if (record.workerId === undefined) this.#worker = 0;
    else {
      this.#worker = this.#workers.intern(record.workerId) + 1;
      if (this.#worker === 0) return false;
    }
    return parseHex(record.traceId, false);
  }

  /** Writes every field but the id and trace id; `record` just passed `#packable`. */
  #write(slot: number, record: SignalRecord): void {
    const f = slot * FLOATS;
    this.#floats[f + F_ACCEPTED] = record.acceptedAt;
    this.#floats[f + F_STARTED] = orNaN(record.startedAt);
    this.#floats[f + F_FINISHED] = orNaN(record.finishedAt);
    this.#floats[f + F_DURATION] = orNaN(record.durationMs);
    const u = slot * UINTS;
    this.#uints[u + U_EPOCH] = record.epoch;
    this.#uints[u + U_ATTEMPTS] = record.attempts;
    this.#uints[u + U_MAX_ATTEMPTS] = record.maxAttempts;
    this.#uints[u + U_DEFERRALS] = record.deferrals;
    this.#uints[u + U_TYPE] = this.#type;
    this.#uints[u + U_WORKER] = this.#worker;
    const b = slot * BYTES;
    this.#bytes[b + B_STATE] = STATE_CODES[record.state] as number;
    this.#bytes[b + B_PRIORITY] = record.priority;
    this.#messages[slot] = record.message;
    this.#data[slot] = record.data;
    this.#extras[slot] =
      record.error === undefined &&
      record.idempotencyKey === undefined &&
      record.signal === undefined &&
      record.nextAttemptAt === undefined
        ? undefined
        : {
            nextAttemptAt: record.nextAttemptAt,
            error: record.error,
            idempotencyKey: record.idempotencyKey,
            signal: record.signal,
          };
  }

  #read(slot: number, id: string): SignalRecord {
    const f = slot * FLOATS;
    const u = slot * UINTS;
    const b = slot * BYTES;
    const worker = this.#uints[u + U_WORKER] as number;
    const extra = this.#extras[slot];
    return {
      id,
      type: this.#types.name(this.#uints[u + U_TYPE] as number),
      priority: this.#bytes[b + B_PRIORITY] as Priority,
      traceId: formatHex(this.#traces, slot * 4, false),
      acceptedAt: this.#floats[f + F_ACCEPTED] as number,
      idempotencyKey: extra?.idempotencyKey,
      state: STATES[this.#bytes[b + B_STATE] as number] as SignalState,
      epoch: this.#uints[u + U_EPOCH] as number,
      attempts: this.#uints[u + U_ATTEMPTS] as number,
      maxAttempts: this.#uints[u + U_MAX_ATTEMPTS] as number,
      deferrals: this.#uints[u + U_DEFERRALS] as number,
      startedAt: orUndefined(this.#floats[f + F_STARTED] as number),
      finishedAt: orUndefined(this.#floats[f + F_FINISHED] as number),
      nextAttemptAt: extra?.nextAttemptAt,
      workerId: worker === 0 ? undefined : this.#workers.name(worker - 1),
      durationMs: orUndefined(this.#floats[f + F_DURATION] as number),
      message: this.#messages[slot],
      data: this.#data[slot],
      error: extra?.error,
      signal: extra?.signal,
    };
  }

  /** Empties `slot` (a hole) and takes it out of the table. */
  #unlink(slot: number): void {
    this.#delete(slot);
    this.#bytes[slot * BYTES + B_STATE] = 0;
    this.#messages[slot] = undefined;
    this.#data[slot] = undefined;
    this.#extras[slot] = undefined;
    this.#size--;
  }

  /** Drops the holes at the start of the ring, so that its head always holds a record. */
  #dropLeadingHoles(): void {
    while (this.#count > 0 && this.#bytes[this.#head * BYTES + B_STATE] === 0) {
      this.#head = (this.#head + 1) % this.#cap;
      this.#count--;
    }
  }

  /** Lays the ring out again in `cap` slots, oldest first from slot 0, holes dropped. */
  #layout(cap: number): void {
    const old = {
      cap: this.#cap,
      head: this.#head,
      count: this.#count,
      ids: this.#ids,
      traces: this.#traces,
      floats: this.#floats,
      uints: this.#uints,
      bytes: this.#bytes,
      messages: this.#messages,
      data: this.#data,
      extras: this.#extras,
    };
    this.#cap = cap;
    this.#ids = new Uint32Array(cap * 4);
    this.#traces = new Uint32Array(cap * 4);
    this.#floats = new Float64Array(cap * FLOATS);
    this.#uints = new Uint16Array(cap * UINTS);
    this.#bytes = new Uint8Array(cap * BYTES);
    this.#messages = refs(cap);
    this.#data = refs(cap);
    this.#extras = refs(cap);
    let buckets = 16;
    while (buckets < cap * 2) buckets *= 2;
    this.#table = new Int32Array(buckets);
    let to = 0;
    for (let k = 0; k < old.count; k++) {
      const from = (old.head + k) % old.cap;
      if (old.bytes[from * BYTES + B_STATE] === 0) continue;
      this.#ids.set(old.ids.subarray(from * 4, from * 4 + 4), to * 4);
      this.#traces.set(old.traces.subarray(from * 4, from * 4 + 4), to * 4);
      this.#floats.set(old.floats.subarray(from * FLOATS, from * FLOATS + FLOATS), to * FLOATS);
      this.#uints.set(old.uints.subarray(from * UINTS, from * UINTS + UINTS), to * UINTS);
      this.#bytes.set(old.bytes.subarray(from * BYTES, from * BYTES + BYTES), to * BYTES);
      this.#messages[to] = old.messages[from];
      this.#data[to] = old.data[from];
      this.#extras[to] = old.extras[from];
      this.#insert(to);
      to++;
    }
    this.#head = 0;
    this.#count = to;
  }

  // ---- the hash table

  /** Bucket of the id in slot `slot`'s first word (ids are random: their bits hash themselves). */
  #bucketOf(firstWord: number): number {
    return (firstWord ^ (firstWord >>> 16)) & (this.#table.length - 1);
  }

  /** The slot holding the id in `words`, or -1. */
  #lookup(): number {
    const mask = this.#table.length - 1;
    const ids = this.#ids;
    for (let i = this.#bucketOf(words[0] as number); ; i = (i + 1) & mask) {
      const entry = this.#table[i] as number;
      if (entry === 0) return -1;
      const w = (entry - 1) * 4;
      if (
        ids[w] === words[0] &&
        ids[w + 1] === words[1] &&
        ids[w + 2] === words[2] &&
        ids[w + 3] === words[3]
      ) {
        return entry - 1;
      }
    }
  }

  #insert(slot: number): void {
    const mask = this.#table.length - 1;
    let i = this.#bucketOf(this.#ids[slot * 4] as number);
    while (this.#table[i] !== 0) i = (i + 1) & mask;
    this.#table[i] = slot + 1;
  }

  #delete(slot: number): void {
    const mask = this.#table.length - 1;
    let i = this.#bucketOf(this.#ids[slot * 4] as number);
    while (this.#table[i] !== slot + 1) i = (i + 1) & mask;
    // Backward-shift deletion: move later entries of the run into the gap when their home allows.
    let gap = i;
    for (let j = (gap + 1) & mask; this.#table[j] !== 0; j = (j + 1) & mask) {
      const home = this.#bucketOf(this.#ids[((this.#table[j] as number) - 1) * 4] as number);
      // The entry at j may fill the gap unless its home lies cyclically in (gap, j].
      const between = gap <= j ? home > gap && home <= j : home > gap || home <= j;
      if (!between) {
        this.#table[gap] = this.#table[j] as number;
        gap = j;
      }
    }
    this.#table[gap] = 0;
  }
}
