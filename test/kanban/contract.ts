import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KanbanFullError } from '../../src/errors.ts';
import type { Delivery, KanbanQueue } from '../../src/kanban/queue.ts';
import type { Priority, WorkSignal } from '../../src/signal.ts';
import { testSignal, waitUntil } from '../helpers.ts';

/** What a driver promises beyond the common contract. */
export interface DriverTraits {
  /** Signals survive the queue object (and the process): a fresh instance sees what was left. */
  readonly durable: boolean;
  /** Publishing the same signal twice enqueues it once. */
  readonly deduplicates: boolean;
  /** Pulls follow priority across the whole backlog, not only within what one fetch brought. */
  readonly strictPriority: boolean;
  /** One dead letter can be taken back out (when its signal is retried). */
  readonly retractsDeadLetters: boolean;
}

export interface DriverUnderTest {
  readonly queue: KanbanQueue;
  /** Closes the queue and whatever connection it rides on. */
  shutdown(): Promise<void>;
  /** Another driver on the same backlog (a second instance, or the same one restarted). */
  reopen?(): Promise<DriverUnderTest>;
}

export type DriverFactory = (capacity: number) => Promise<DriverUnderTest>;

export function signal(priority: Priority = 3, payload: Record<string, unknown> = {}): WorkSignal {
  return testSignal({ type: 'contract', priority, payload, timeoutMs: 5_000 });
}

/** Pulls until `count` deliveries came, or fails after `timeoutMs`. */
export async function pullN(queue: KanbanQueue, count: number, timeoutMs = 10_000): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const abort = AbortSignal.timeout(timeoutMs);
  while (got.length < count) {
    const batch = await queue.pull(count - got.length, abort);
    if (abort.aborted) throw new Error(`pulled ${got.length} of ${count} within ${timeoutMs} ms`);
    got.push(...batch);
  }
  return got;
}

/** Proves nothing more arrives within `ms`. */
async function assertNothingFor(queue: KanbanQueue, ms: number): Promise<void> {
  const extra = await queue.pull(10, AbortSignal.timeout(ms));
  assert.deepEqual(
    extra.map((d) => d.signal.id),
    [],
    'nothing more is delivered',
  );
}

/**
 * The Kanban contract every driver passes: the same tests, run against the embedded queue and
 * against each broker driver, so none can drift from the others.
 */
export function kanbanContract(name: string, traits: DriverTraits, open: DriverFactory): void {
  describe(`Kanban contract: ${name}`, () => {
    test('a published signal is pulled once, as attempt 1, and gone once acked', async () => {
      const driver = await open(10);
      const queue = driver.queue;
      try {
        const s = signal(2, { n: 1 });
        await queue.publish(s);
        const [d] = await pullN(queue, 1);
        assert.equal(d?.signal.id, s.id);
        assert.deepEqual(d?.signal.payload, { n: 1 });
        assert.equal(d?.attempt, 1);
        await queue.ack(d as Delivery);
        await assertNothingFor(queue, 300);
        await waitUntil(() => queue.depth() === 0, 'depth 0 after the ack', 5_000);
      } finally {
        await driver.shutdown();
      }
    });

    test('a waiting pull is served when a signal arrives', async () => {
      const driver = await open(10);
      const queue = driver.queue;
      try {
        const pending = queue.pull(5, AbortSignal.timeout(10_000));
        await sleep(50);
        const s = signal();
        await queue.publish(s);
        const got = await pending;
        assert.equal(got[0]?.signal.id, s.id);
        for (const d of got) await queue.ack(d);
      } finally {
        await driver.shutdown();
      }
    });

    test('a pull takes no more than its free cards', async () => {
      const driver = await open(20);
      const queue = driver.queue;
      try {
        for (let i = 0; i < 6; i++) await queue.publish(signal());
        const first = await queue.pull(2, AbortSignal.timeout(10_000));
        assert.ok(first.length >= 1 && first.length <= 2, `got ${first.length}`);
        const rest = await pullN(queue, 6 - first.length);
        for (const d of [...first, ...rest]) await queue.ack(d);
      } finally {
        await driver.shutdown();
      }
    });

    test('a full buffer refuses the next signal with KanbanFullError', async () => {
      const driver = await open(3);
      const queue = driver.queue;
      try {
        for (let i = 0; i < 3; i++) await queue.publish(signal());
        const refused = queue.publish(signal());
        assert.ok(refused !== undefined, 'a refusal is a rejected promise, not a throw');
        await assert.rejects(refused, KanbanFullError);
        for (const d of await pullN(queue, 3)) await queue.ack(d);
      } finally {
        await driver.shutdown();
      }
    });

    test('within one pull, higher priority comes first', async () => {
      const driver = await open(10);
      const queue = driver.queue;
      try {
        for (const p of [4, 1, 3] as const) await queue.publish(signal(p));
        const batches: number[][] = [];
        const abort = AbortSignal.timeout(10_000);
        while (batches.flat().length < 3) {
          const batch = await queue.pull(3, abort);
          batches.push(batch.map((d) => d.signal.priority));
          for (const d of batch) await queue.ack(d);
        }
        for (const b of batches)
          assert.deepEqual(
            b,
            [...b].sort((x, y) => x - y),
            `batch ${b} in priority order`,
          );
        if (traits.strictPriority) assert.deepEqual(batches.flat(), [1, 3, 4]);
      } finally {
        await driver.shutdown();
      }
    });

    test('nak redelivers after its delay as the next attempt', async () => {
      const driver = await open(10);
      const queue = driver.queue;
      try {
        const s = signal();
        await queue.publish(s);
        const [d] = await pullN(queue, 1);
        const t0 = performance.now();
        await queue.nak(d as Delivery, 300);
        const [again] = await pullN(queue, 1);
        assert.ok(performance.now() - t0 >= 250, 'not redelivered before its delay');
        assert.equal(again?.signal.id, s.id);
        assert.equal(again?.attempt, 2);
        await queue.ack(again as Delivery);
      } finally {
        await driver.shutdown();
      }
    });

    test('a dead letter is counted, and taken back for a retry where the broker can', async () => {
      const driver = await open(10);
      const queue = driver.queue;
      try {
        const s = signal();
        await queue.publish(s);
        const [d] = await pullN(queue, 1);
        await queue.deadLetter(d as Delivery, 'broken beyond repair');
        await assertNothingFor(queue, 200);
        await waitUntil(() => queue.dlqDepth() === 1, 'dlq depth 1', 5_000);
        assert.equal(await queue.removeDeadLetter(s.id), traits.retractsDeadLetters);
        if (traits.retractsDeadLetters) await waitUntil(() => queue.dlqDepth() === 0, 'dlq depth 0', 5_000);
      } finally {
        await driver.shutdown();
      }
    });

    test('an aborted pull resolves empty, and close ends waiting pulls', async () => {
      const driver = await open(10);
      const queue = driver.queue;
      const controller = new AbortController();
      const aborted = queue.pull(1, controller.signal);
      controller.abort();
      assert.deepEqual(await aborted, []);
      const waiting = queue.pull(1, AbortSignal.timeout(10_000));
      await queue.close();
      assert.deepEqual(await waiting, []);
      await driver.shutdown();
    });

    if (traits.deduplicates) {
      test('the same signal published twice is delivered once', async () => {
        const driver = await open(10);
        const queue = driver.queue;
        try {
          const s = signal();
          await queue.publish(s);
          await queue.publish(s);
          const [d] = await pullN(queue, 1);
          await queue.ack(d as Delivery);
          await assertNothingFor(queue, 300);
        } finally {
          await driver.shutdown();
        }
      });
    }

    if (traits.durable) {
      test('a signal pulled but never settled comes back to the next instance', async () => {
        const driver = await open(10);
        const s = signal();
        await driver.queue.publish(s);
        await pullN(driver.queue, 1);
        await driver.shutdown();
        const next = await (driver.reopen as () => Promise<DriverUnderTest>)();
        try {
          const [again] = await pullN(next.queue, 1, 20_000);
          assert.equal(again?.signal.id, s.id);
          assert.ok((again?.attempt ?? 0) >= 2, 'counted as a further attempt');
          await next.queue.ack(again as Delivery);
        } finally {
          await next.shutdown();
        }
      });
    }
  });
}
