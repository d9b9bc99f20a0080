import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { deleteNatsNamespace, NATS_URL, uniqueNamespace } from '../brokers.ts';
import { freePorts, type Service, startService } from '../process.ts';
import { awaitCompleted, effectsDir, effectsOf, load } from './load.ts';

const namespace = uniqueNamespace('kill');
after(() => deleteNatsNamespace(namespace));

test('kill -9 under load on NATS loses no accepted signal and applies no effect twice', async (t) => {
  const dir = effectsDir();
  const ports = (await freePorts(2)) as [number, number];
  const env = {
    TPS_KANBAN_BACKEND: 'nats',
    TPS_BROKER_NAMESPACE: namespace,
    NATS_URL,
    TPS_TEST_EFFECTS_DIR: dir,
    // Deliveries the killed process held come back after this long.
    TPS_NATS_ACK_WAIT_SECS: '3',
    TPS_KANBAN_BUFFER: '10000',
    LOG_LEVEL: 'warn',
  };
  const start = () => startService(t, { script: 'test/fixtures/effect-service.ts', env, ports });
  let service: Service = await start();
  let killedAt = -1;
  let restarting: Promise<void> | undefined;

  const report = await load(
    () => service,
    (r) => {
      if (killedAt < 0 && r.accepted.length >= 2_500) {
        killedAt = r.accepted.length;
        service.child.kill('SIGKILL');
        restarting = service.exited.then(async () => {
          service = await start();
        });
      }
      return r.accepted.length >= 5_000;
    },
    { concurrency: 32, ms: 10 },
  );
  await restarting;
  const ids = report.accepted.map((a) => a.id);
  assert.ok(killedAt > 0, 'the service was killed during the load');
  assert.equal(new Set(ids).size, ids.length, 'every 202 named a distinct signal');

  const missing = await awaitCompleted(() => service, ids, 90_000);
  assert.deepEqual(missing, [], 'every signal that got a 202 ends completed');

  const { effects, runs } = effectsOf(dir);
  assert.deepEqual(
    ids.filter((id) => !effects.has(id)),
    [],
    'every accepted signal had its effect',
  );
  assert.equal(effects.size, ids.length, 'no effect without an accepted signal');
  const rerun = ids.filter((id) => (runs.get(id) ?? 0) > 1);
  // Only what the killed process held can run again: at most its 4 workers × 32 cards.
  assert.ok(rerun.length <= 128, `${rerun.length} signals ran twice; at most the 128 held at the kill may`);
  t.diagnostic(
    `accepted ${ids.length}, killed after ${killedAt}, completed all, ran again after the kill: ${rerun.length}, ` +
      `refused while down: ${JSON.stringify(Object.fromEntries(report.refused))}`,
  );
});
