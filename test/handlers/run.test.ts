import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HandlerTimeoutError } from '../../src/errors.ts';
import type { SignalHandler } from '../../src/handlers/registry.ts';
import type { Attempt, RunOutcome } from '../../src/handlers/run.ts';
import { runHandler } from '../../src/handlers/run.ts';
import { testSignal } from '../helpers.ts';

const never: SignalHandler = () => new Promise(() => {});

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

test('a handler past its deadline is aborted and the attempt fails as timed out, once', async () => {
  const running = new Set<Attempt>();
  let aborted: unknown;
  const handler: SignalHandler = (_signal, ctx) =>
    new Promise((resolve) => {
      ctx.abortSignal.addEventListener('abort', () => {
        aborted = ctx.abortSignal.reason;
        resolve({ message: 'too late' }); // a result after the deadline is ignored
      });
    });
  const outcome = await runHandler(handler, testSignal({ timeoutMs: 30 }), 1, 'worker-1', running);
  assert.equal(outcome.ok, false);
  assert.ok(outcome.error instanceof HandlerTimeoutError);
  assert.ok(aborted instanceof HandlerTimeoutError);
  assert.equal(running.size, 0);
});

test('attempts sharing a timeout length end on their own deadlines, the finished ones never', async () => {
  const running = new Set<Attempt>();
  const before = timeouts();
  const outcomes: Promise<RunOutcome>[] = [];
  const order: number[] = [];
  for (let i = 0; i < 50; i++) {
    // Every other one finishes at once; the others hang until their deadline.
    const handler: SignalHandler = i % 2 === 0 ? async () => ({ message: `done ${i}` }) : never;
    const run = runHandler(handler, testSignal({ timeoutMs: 40 }), 1, 'worker-1', running);
    void run.then((o) => {
      if (!o.ok) order.push(i);
    });
    outcomes.push(run);
  }
  const all = await Promise.all(outcomes);
  all.forEach((o, i) => {
    if (i % 2 === 0) assert.deepEqual([o.ok, o.message], [true, `done ${i}`]);
    else assert.ok(!o.ok && o.error instanceof HandlerTimeoutError, `attempt ${i}`);
  });
  assert.deepEqual(
    order,
    all.map((_, i) => i).filter((i) => i % 2 === 1),
    'timed out in the order they started',
  );
  assert.equal(running.size, 0);
  assert.equal(timeouts(), before, 'no timer left behind once every attempt ended');
});

test('a shorter timeout started later still ends first', async () => {
  const running = new Set<Attempt>();
  const ended: string[] = [];
  const long = runHandler(never, testSignal({ timeoutMs: 400 }), 1, 'w', running).then(() =>
    ended.push('400 ms'),
  );
  const short = runHandler(never, testSignal({ timeoutMs: 30 }), 1, 'w', running).then(() =>
    ended.push('30 ms'),
  );
  await Promise.all([long, short]);
  assert.deepEqual(ended, ['30 ms', '400 ms']);
});

test('an attempt that ends before its deadline leaves the others on time', async () => {
  const running = new Set<Attempt>();
  let finish: (() => void) | undefined;
  const first = runHandler(
    () => new Promise<undefined>((resolve) => (finish = () => resolve(undefined))),
    testSignal({ timeoutMs: 60 }),
    1,
    'w',
    running,
  );
  const second = runHandler(never, testSignal({ timeoutMs: 60 }), 1, 'w', running);
  finish?.(); // the first leaves early
  assert.equal((await first).ok, true);
  const late = await second;
  assert.ok(late.error instanceof HandlerTimeoutError);
  assert.equal(running.size, 0);
});
