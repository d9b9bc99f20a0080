import { randomFillSync } from 'node:crypto';

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
