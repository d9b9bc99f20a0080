import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { KanbanFullError } from '../../src/errors.ts';
import { levelerOrder } from '../../src/heijunka/leveler.ts';
import { MemoryQueue } from '../../src/kanban/memory.ts';
import type { Priority, WorkSignal } from '../../src/signal.ts';
import { testSignal } from '../helpers.ts';

let n = 0;
function signal(priority: Priority = 3, id = `s${++n}`): WorkSignal {
  return testSignal({ id, priority, acceptedAt: 0 });
}

const never = new AbortController().signal;

describe('memory queue', () => {
  test("serves waiting pulls once per turn, sharing out what the turn's publishes brought", async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 100 });
    await q.start();
    const pulls = [q.pull(32, never), q.pull(32, never), q.pull(32, never), q.pull(32, never)];
    let served = 0;
    for (const p of pulls) void p.then(() => served++);
    for (let i = 0; i < 20; i++) await q.publish(signal());
    await Promise.resolve();
    assert.equal(served, 0, 'not before the turn ends');
    const batches = await Promise.all(pulls);
    assert.deepEqual(
      batches.map((b) => b.length),
      [5, 5, 5, 5],
    );
    await q.close();
  });

  test('serves at once when what waits covers every waiting pull', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 100 });
    await q.start();
    const pull = q.pull(3, never);
    let got: number | undefined;
    void pull.then((b) => {
      got = b.length;
    });
    for (let i = 0; i < 3; i++) await q.publish(signal());
    // Microtasks only: no event-loop turn has passed.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.equal(got, 3);
    await q.close();
  });

  test('a signal published again while it is held is not enqueued twice; a new epoch is', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    await q.start();
    const s = signal();
    await q.publish(s);
    await q.publish(s);
    assert.equal(q.depth(), 1);
    const [d] = await q.pull(5, never);
    await q.publish(s);
    assert.equal(q.depth(), 0, 'in work: still held');
    await q.publish({ ...s, epoch: 1 });
    assert.equal(q.depth(), 1, 'a manual retry is a new message');
    await q.ack(d as NonNullable<typeof d>);
    await q.publish(s);
    assert.equal(q.depth(), 2, 'acked: no longer held');
    await q.close();
  });

  test('refuses a signal past its capacity', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 2 });
    await q.publish(signal());
    await q.publish(signal());
    const refused = q.publish(signal());
    assert.ok(refused !== undefined, 'a refusal is a rejected promise, not a throw');
    await assert.rejects(refused, KanbanFullError);
    assert.equal(q.depth(), 2);
  });

  test('delivers higher priority first, oldest first within a priority', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    await q.publish(signal(4, 'low'));
    await q.publish(signal(3, 'normal-1'));
    await q.publish(signal(1, 'critical'));
    await q.publish(signal(3, 'normal-2'));
    await q.publish(signal(2, 'high'));
    const got = await q.pull(10, never);
    assert.deepEqual(
      got.map((d) => d.signal.id),
      ['critical', 'high', 'normal-1', 'normal-2', 'low'],
    );
    assert.equal(q.depth(), 0);
  });

  test('a pull takes no more than asked (the free cards)', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    for (let i = 0; i < 5; i++) await q.publish(signal());
    assert.equal((await q.pull(2, never)).length, 2);
    assert.equal(q.depth(), 3);
  });

  test('a waiting pull is handed the next signal', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    const pending = q.pull(5, never);
    await q.publish(signal(3, 'x'));
    const got = await pending;
    assert.deepEqual(
      got.map((d) => [d.signal.id, d.attempt]),
      [['x', 1]],
    );
  });

  test('an aborted pull resolves empty and is skipped afterwards', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    const controller = new AbortController();
    const pending = q.pull(5, controller.signal);
    controller.abort();
    assert.deepEqual(await pending, []);
    await q.publish(signal(3, 'y'));
    assert.equal(q.depth(), 1, 'the signal waits for a live puller');
  });

  test('close resolves waiting pulls empty', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 10 });
    const pending = q.pull(1, never);
    await q.close();
    assert.deepEqual(await pending, []);
    assert.equal(q.health().healthy, false);
  });

  test('nak redelivers after the delay as the next attempt, even past capacity', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 1 });
    await q.publish(signal(3, 'r'));
    const [d] = await q.pull(1, never);
    assert.ok(d);
    await q.publish(signal(3, 'other'));
    await q.nak(d, 500);
    assert.equal(q.depth(), 2, 'the retry is waiting and counted');
    const refused = q.publish(signal());
    assert.ok(refused !== undefined, 'a refusal is a rejected promise, not a throw');
    await assert.rejects(refused, KanbanFullError);
    await q.pull(1, never); // takes 'other'
    t.mock.timers.tick(499);
    assert.equal(q.depth(), 1);
    const pending = q.pull(1, never);
    t.mock.timers.tick(1);
    const [again] = await pending;
    assert.equal(again?.signal.id, 'r');
    assert.equal(again?.attempt, 2);
    mock.timers.reset();
  });

  test('dead letters are counted, bounded and removable', async () => {
    const q = new MemoryQueue({ order: levelerOrder(), capacity: 10, deadLetterCapacity: 2 });
    for (const id of ['a', 'b', 'c']) {
      await q.publish(signal(3, id));
      const [d] = await q.pull(1, never);
      assert.ok(d);
      await q.deadLetter(d, 'boom');
    }
    assert.equal(q.dlqDepth(), 2);
    assert.equal(await q.removeDeadLetter('a'), false, 'the oldest was forgotten');
    assert.equal(await q.removeDeadLetter('c'), true);
    assert.equal(q.dlqDepth(), 1);
  });
});
