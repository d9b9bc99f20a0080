import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Andon, type AndonReadings, computeLights, DEFAULT_THRESHOLDS } from '../../src/andon/board.ts';
import { FakeClock } from '../../src/clock.ts';

const calm: AndonReadings = {
  circuits: { validate: 'Closed', execute: 'Closed' },
  queueDepth: 0,
  queueCapacity: 1000,
  queueHealthy: true,
  dlqDepth: 0,
  errorRatePct: 0,
  p99Ms: 20,
  workersTotal: 4,
  workersRunning: 4,
  tracing: { healthy: true, detail: 'ok' },
};

function lights(change: Partial<AndonReadings>) {
  return computeLights({ ...calm, ...change }, DEFAULT_THRESHOLDS);
}

describe('andon rules', () => {
  test('all calm is all green', () => {
    for (const light of Object.values(lights({}))) assert.equal(light.level, 'GREEN');
  });

  test('an open circuit is RED, a half-open one YELLOW', () => {
    assert.equal(lights({ circuits: { execute: 'Open', validate: 'HalfOpen' } }).jidoka.level, 'RED');
    assert.equal(lights({ circuits: { validate: 'HalfOpen' } }).jidoka.level, 'YELLOW');
  });

  test('queue over 80 % is YELLOW, full is RED, a dead letter is YELLOW', () => {
    assert.equal(lights({ queueDepth: 800 }).kanban.level, 'GREEN');
    assert.equal(lights({ queueDepth: 801 }).kanban.level, 'YELLOW');
    assert.equal(lights({ queueDepth: 1000 }).kanban.level, 'RED');
    assert.equal(lights({ dlqDepth: 1 }).kanban.level, 'YELLOW');
    assert.equal(lights({ queueHealthy: false }).kanban.level, 'RED');
  });

  test('error rate over 1 % is YELLOW, over 5 % RED', () => {
    assert.equal(lights({ errorRatePct: 1 }).andon.level, 'GREEN');
    assert.equal(lights({ errorRatePct: 1.5 }).andon.level, 'YELLOW');
    assert.equal(lights({ errorRatePct: 5.1 }).andon.level, 'RED');
  });

  test('p99 over 200 ms is YELLOW, over 500 ms RED', () => {
    assert.equal(lights({ p99Ms: 201 }).kaizen.level, 'YELLOW');
    assert.equal(lights({ p99Ms: 501 }).kaizen.level, 'RED');
  });

  test('a failing trace exporter is YELLOW', () => {
    assert.equal(lights({ tracing: { healthy: false, detail: 'export fails' } }).tracing.level, 'YELLOW');
  });

  test('a worker down is YELLOW, none running RED', () => {
    assert.equal(lights({ workersRunning: 3 }).heijunka.level, 'YELLOW');
    assert.equal(lights({ workersRunning: 0 }).heijunka.level, 'RED');
  });
});

describe('andon board', () => {
  test('records level changes with reasons, overall is the worst', () => {
    const clock = new FakeClock();
    const andon = new Andon(100, clock);
    const heard: string[] = [];
    andon.onChange((c) => heard.push(`${c.principle}:${c.level}`));
    andon.evaluate(calm);
    assert.equal(andon.overall, 'GREEN');
    assert.equal(andon.board().history.length, 0);
    andon.evaluate({ ...calm, circuits: { execute: 'Open' } });
    assert.equal(andon.overall, 'RED');
    assert.deepEqual(heard, ['jidoka:RED', 'overall:RED']);
    const last = andon.board().history.at(-1);
    assert.equal(last?.previous, 'GREEN');
    assert.match(last?.reason ?? '', /circuit execute open/);
    assert.match(last?.at ?? '', /^\d{4}-\d\d-\d\dT/);
    // Back to calm: the light comes down once the rules have said so for the hold time.
    andon.evaluate(calm);
    assert.equal(andon.overall, 'RED', 'held');
    clock.advance(DEFAULT_THRESHOLDS.clearMs);
    andon.evaluate(calm);
    assert.equal(andon.overall, 'GREEN');
    assert.deepEqual(heard, ['jidoka:RED', 'overall:RED', 'jidoka:GREEN', 'overall:GREEN']);
  });

  test('the history is bounded', () => {
    const andon = new Andon(5, new FakeClock(), { ...DEFAULT_THRESHOLDS, clearMs: 0 });
    for (let i = 0; i < 20; i++) andon.evaluate({ ...calm, dlqDepth: i % 2 });
    assert.equal(andon.board().history.length, 5);
  });

  test('a light rises at once and falls only after the lower level held for clearMs', () => {
    const clock = new FakeClock();
    const andon = new Andon(100, clock, { ...DEFAULT_THRESHOLDS, clearMs: 5_000 });
    const hovering = (errorRatePct: number) => andon.evaluate({ ...calm, errorRatePct });
    hovering(0.5);
    hovering(1.5);
    assert.equal(andon.board().principles.andon.level, 'YELLOW', 'up at once');
    // Hovering at the 1 % threshold for 20 s, a reading every 500 ms: no flapping.
    for (let i = 0; i < 40; i++) {
      clock.advance(500);
      hovering(i % 2 === 0 ? 0.9 : 1.1);
    }
    assert.equal(andon.board().principles.andon.level, 'YELLOW');
    const changes = () => andon.board().history.filter((c) => c.principle === 'andon').length;
    assert.equal(changes(), 1, 'one change: GREEN to YELLOW');
    // Under the threshold without a break: still held for a while, with the reason saying so.
    hovering(0.5);
    clock.advance(4_000);
    hovering(0.5);
    assert.equal(andon.board().principles.andon.level, 'YELLOW');
    assert.match(andon.board().principles.andon.reason, /clearing \(1 s\)/);
    // Going up to RED meanwhile is immediate, and restarts the hold.
    hovering(6);
    assert.equal(andon.board().principles.andon.level, 'RED');
    clock.advance(1_000);
    hovering(0.5);
    clock.advance(4_999);
    hovering(0.5);
    assert.equal(andon.board().principles.andon.level, 'RED');
    clock.advance(1);
    hovering(0.5);
    assert.equal(andon.board().principles.andon.level, 'GREEN', 'down after 5 s without a break');
    assert.equal(andon.overall, 'GREEN');
    assert.deepEqual(
      andon
        .board()
        .history.filter((c) => c.principle === 'andon')
        .map((c) => c.level),
      ['YELLOW', 'RED', 'GREEN'],
    );
  });
});
