import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AGING_EVERY, Leveler, type LevelerOptions } from '../../src/heijunka/leveler.ts';
import type { Priority } from '../../src/signal.ts';

interface Item {
  readonly signal: { readonly type: string; readonly priority: Priority };
  readonly n: number;
}

let serial = 0;
const item = (type: string, priority: Priority = 3): Item => ({ signal: { type, priority }, n: serial++ });

function leveler(options: LevelerOptions = {}) {
  let now = 0;
  const l = new Leveler<Item>({ now: () => now, ...options });
  return { l, advance: (ms: number) => (now += ms) };
}

const types = (items: Item[]) => items.map((i) => i.signal.type[0]).join('');

describe('leveler', () => {
  test('higher priority first; FIFO within one type', () => {
    const { l } = leveler();
    const low = item('a', 4);
    const normal1 = item('a', 3);
    const normal2 = item('a', 3);
    const critical = item('a', 1);
    for (const i of [low, normal1, normal2, critical]) l.push(i);
    assert.deepEqual(l.take(10), [critical, normal1, normal2, low]);
    assert.equal(l.size, 0);
    assert.equal(l.pick(), undefined);
  });

  test('types take turns within a priority: a flood of one does not starve another', () => {
    const { l } = leveler();
    for (let i = 0; i < 100; i++) l.push(item('a'));
    for (let i = 0; i < 3; i++) l.push(item('b'));
    assert.equal(types(l.take(8)), 'ababab' + 'aa');
  });

  test('weights give picks in proportion', () => {
    const { l } = leveler({ weights: { a: 3 } });
    for (let i = 0; i < 300; i++) l.push(item('a'));
    for (let i = 0; i < 300; i++) l.push(item('b'));
    const first = l.take(400);
    const a = first.filter((i) => i.signal.type === 'a').length;
    assert.equal(a, 300, '3 of every 4 picks while both wait');
    assert.equal(types(first.slice(0, 8)), 'aaabaaab');
  });

  test('a priority that has waited the aging time gets one pick in eight', () => {
    const { l, advance } = leveler({ agingMs: 1_000 });
    for (let i = 0; i < 50; i++) l.push(item('low', 4));
    for (let i = 0; i < 100; i++) l.push(item('hot', 1));
    assert.ok(
      l.take(AGING_EVERY * 2).every((i) => i.signal.priority === 1),
      'not aged yet',
    );
    advance(1_000);
    const picks = l.take(AGING_EVERY * 4);
    assert.equal(picks.filter((i) => i.signal.priority === 4).length, 4);
    assert.equal(picks[AGING_EVERY - 1]?.signal.priority, 4);
  });

  test('aging serves the priority that has waited longest', () => {
    const { l, advance } = leveler({ agingMs: 100 });
    for (let i = 0; i < 20; i++) l.push(item('x', 4));
    advance(50);
    for (let i = 0; i < 20; i++) l.push(item('y', 3));
    for (let i = 0; i < 50; i++) l.push(item('z', 1));
    advance(100);
    const aged = l.take(AGING_EVERY * 2).filter((i) => i.signal.priority !== 1);
    assert.deepEqual(
      aged.map((i) => i.signal.priority),
      [4, 4],
    );
  });

  test('a type at its cap is skipped until one of it settles', () => {
    const { l } = leveler({ caps: { slow: 2 } });
    for (let i = 0; i < 5; i++) l.push(item('slow'));
    l.push(item('fast'));
    assert.equal(types(l.take(10)), 'sfs', 'two slow, then only fast');
    assert.equal(l.ready, false, 'the slow ones wait');
    assert.equal(l.size, 3);
    assert.equal(l.settled('slow'), true);
    assert.equal(types(l.take(10)), 's');
    assert.deepEqual(l.snapshot().in_flight, { slow: 2, fast: 1 });
  });

  test('the snapshot names what waits where', () => {
    const { l, advance } = leveler({ weights: { a: 2 } });
    l.push(item('a', 2));
    l.push(item('b', 2));
    l.push(item('a', 4));
    advance(30);
    const snap = l.snapshot();
    assert.equal(snap.waiting, 3);
    assert.deepEqual(snap.priorities[1], { priority: 2, waiting: 2, waited_ms: 30, types: { a: 1, b: 1 } });
    assert.deepEqual(snap.priorities[3]?.types, { a: 1 });
    assert.deepEqual(snap.weights, { a: 2 });
  });

  test('drain empties everything; types seen once are forgotten', () => {
    const { l } = leveler();
    for (let i = 0; i < 10; i++) l.push(item(`t${i}`, ((i % 4) + 1) as Priority));
    assert.equal(l.drain().length, 10);
    assert.equal(l.size, 0);
    l.push(item('again'));
    l.take(1);
    assert.deepEqual(
      l.snapshot().priorities.map((p) => p.types),
      [{}, {}, {}, {}],
    );
  });
});
