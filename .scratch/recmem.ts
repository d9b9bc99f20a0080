import { LRUCache } from 'lru-cache';
import { newUuid } from '/work/main/src/ids.ts';
import { completed, started } from '/work/main/src/pipeline/transitions.ts';
import { newRecord } from '/work/main/src/signal.ts';

const N = 100_000;
function sig() {
  return {
    id: newUuid(),
    type: 'report',
    priority: 3 as const,
    payload: { data: [1, 2, 3] },
    timeoutMs: 30000,
    acceptedAt: Date.now() + Math.random(),
    traceId: 'a'.repeat(31) + String(Math.floor(Math.random() * 10)),
    parentSpanId: 'b'.repeat(16),
    traceFlags: 1,
    epoch: 0,
  };
}
const mode = process.argv[2];
globalThis.gc!();
globalThis.gc!();
const before = process.memoryUsage().heapUsed;
const keep: unknown[] = [];
const cache = new LRUCache<string, unknown>({ max: N });
for (let i = 0; i < N; i++) {
  const s = sig();
  const r0 = newRecord(s, 3);
  const r1 = started(r0, 1, 'worker-1', Date.now() + 0.5);
  const r2 = completed(r1, { message: 'Report generated', data: undefined }, Date.now() + 0.7, 5.123);
  if (mode === 'lru') cache.set(r2.id, r2);
  else keep.push(r2);
}
globalThis.gc!();
globalThis.gc!();
const after = process.memoryUsage().heapUsed;
console.log(mode, ((after - before) / N).toFixed(0), 'B/record heap', keep.length + cache.size);
