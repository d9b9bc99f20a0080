import { newTraceId, newUuid } from '/work/main/src/ids.ts';
import { completed, started } from '/work/main/src/pipeline/transitions.ts';
import { newRecord } from '/work/main/src/signal.ts';

const N = 100_000;
const mode = process.argv[2];
const ID = newUuid(),
  TR = newTraceId();
function sig(i: number) {
  const id = mode === 'sharedIds' ? ID : newUuid();
  const traceId = mode === 'sharedIds' ? TR : newTraceId();
  return {
    id,
    type: 'report',
    priority: 3 as const,
    payload: { data: [1, 2, 3] },
    timeoutMs: 30000,
    acceptedAt: Date.now() + 0.25,
    traceId,
    parentSpanId: 'b'.repeat(16),
    traceFlags: 1,
    epoch: 0,
  };
}
globalThis.gc!();
globalThis.gc!();
const before = process.memoryUsage().heapUsed;
const keep: unknown[] = [];
for (let i = 0; i < N; i++) {
  const s = sig(i);
  if (mode === 'idsOnly') {
    keep.push(s.id, s.traceId);
    continue;
  }
  const r0 = newRecord(s, 3);
  if (mode === 'new') {
    keep.push(r0);
    continue;
  }
  const r1 = started(r0, 1, 'worker-1', Date.now() + 0.5);
  const r2 = completed(r1, { message: 'Report generated', data: undefined }, Date.now() + 0.7, 5.123);
  keep.push(r2);
}
globalThis.gc!();
globalThis.gc!();
const after = process.memoryUsage().heapUsed;
console.log(mode, ((after - before) / N).toFixed(0), 'B/record heap', keep.length);
