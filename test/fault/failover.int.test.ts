import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteRabbitNamespace, ownNatsServer, RABBITMQ_URL, uniqueNamespace } from '../brokers.ts';
import { eventually, getJson, startService } from '../process.ts';
import { awaitCompleted, effectsDir, effectsOf, load } from './load.ts';

const namespace = uniqueNamespace('fo');
after(() => deleteRabbitNamespace(namespace));

const OUTAGE_MS = 30_000;

test('failover: NATS down 30 s under load loses nothing, RabbitMQ takes new work within 2 s, NATS takes it back', async (t) => {
  const nats = await ownNatsServer(t);
  const dir = effectsDir();
  const service = await startService(t, {
    script: 'test/fixtures/effect-service.ts',
    env: {
      TPS_KANBAN_BACKEND: 'failover',
      NATS_URL: nats.url,
      RABBITMQ_URL,
      TPS_BROKER_NAMESPACE: namespace,
      TPS_TEST_EFFECTS_DIR: dir,
      TPS_NATS_ACK_WAIT_SECS: '3',
      LOG_LEVEL: 'warn',
    },
  });
  const activePath = async () => String((await getJson(service, '/health')).body.active_path);
  assert.equal(await activePath(), 'nats');

  let done = false;
  let stoppedAt = 0;
  let restartedAt = 0;
  const paths: { at: number; path: string }[] = [];
  const loading = load(
    () => service,
    () => done,
    { concurrency: 8, ms: 5, ratePerSec: 200 },
  );
  const watching = (async () => {
    while (!done) {
      paths.push({ at: performance.now(), path: await activePath() });
      await sleep(200);
    }
  })();

  await sleep(3_000);
  stoppedAt = performance.now();
  await nats.stop();
  await sleep(OUTAGE_MS);
  await nats.start();
  restartedAt = performance.now();
  await eventually(
    async () => (await activePath()) === 'nats',
    () => 'new work back on NATS',
    15_000,
    200,
  );
  const backOnNatsAfterMs = performance.now() - restartedAt;
  await sleep(2_000);
  done = true;
  const report = await loading;
  await watching;

  const ids = report.accepted.map((a) => a.id);
  const firstDuringOutage = report.accepted.find((a) => a.at > stoppedAt);
  assert.ok(firstDuringOutage, 'signals were accepted while NATS was down');
  const takeoverMs = firstDuringOutage.at - stoppedAt;
  assert.ok(takeoverMs <= 2_000, `new work flowed again ${Math.round(takeoverMs)} ms after NATS stopped`);
  const duringOutage = report.accepted.filter((a) => a.at > stoppedAt && a.at < restartedAt).length;
  assert.ok(
    paths.some((p) => p.at > stoppedAt && p.at < restartedAt && p.path === 'rabbitmq'),
    'the active path was RabbitMQ during the outage',
  );

  const missing = await awaitCompleted(() => service, ids, 60_000);
  assert.deepEqual(missing, [], 'every accepted signal completed');
  const { effects } = effectsOf(dir);
  assert.deepEqual(
    ids.filter((id) => !effects.has(id)),
    [],
    'every accepted signal had its effect',
  );
  assert.equal(effects.size, ids.length, 'no effect without an accepted signal');
  t.diagnostic(
    `accepted ${ids.length} (${duringOutage} during the ${OUTAGE_MS / 1000} s outage), first accepted ` +
      `${Math.round(takeoverMs)} ms after NATS stopped, back on NATS ${Math.round(backOnNatsAfterMs)} ms after it ` +
      `returned; not accepted: ${JSON.stringify(Object.fromEntries(report.refused))}`,
  );
});
