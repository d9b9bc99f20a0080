import { randomFillSync } from 'node:crypto';

// Random bytes are drawn from the OS in 4 KiB batches: one system call per ~200 ids.
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

function take(bytes: number): number {
  if (offset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += bytes;
  return at;
}

function randomHex(bytes: number): string {
  for (;;) {
    const at = take(bytes);
    // An all-zero id is invalid in W3C trace context; draw again (probability 2^-64 or less).
    for (let i = at; i < at + bytes; i++) {
      if (pool[i] !== 0) return pool.toString('hex', at, at + bytes);
    }
  }
}

/** A random W3C trace id: 32 lowercase hex digits, never all zeros. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A random W3C span id: 16 lowercase hex digits, never all zeros. */
export function newSpanId(): string {
  return randomHex(8);
}

const HEX = '0123456789abcdef';
const scratch = Buffer.allocUnsafe(36);

/**
 * A random RFC 9562 version 4 UUID, lowercase. Unlike `crypto.randomUUID()`, whose result is a
 * rope of a dozen concatenated pieces (~450 bytes once kept), this is one flat 36-byte string:
 * signal ids are kept for every remembered signal, so their size is most of a record's.
 */
export function newUuid(): string {
  const at = take(16);
  let j = 0;
  for (let i = 0; i < 16; i++) {
    let byte = pool[at + i] as number;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
    if (i === 4 || i === 6 || i === 8 || i === 10) scratch[j++] = 0x2d; // '-'
    scratch[j++] = HEX.charCodeAt(byte >> 4);
    scratch[j++] = HEX.charCodeAt(byte & 0x0f);
  }
  return scratch.toString('latin1', 0, 36);
}
