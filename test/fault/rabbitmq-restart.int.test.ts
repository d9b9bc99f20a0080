import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { deleteRabbitNamespace, RABBITMQ_URL, uniqueNamespace } from '../brokers.ts';
import { eventually, getJson, startService } from '../process.ts';
import { awaitCompleted, effectsDir, effectsOf, load } from './load.ts';

const run = promisify(execFile);
const namespace = uniqueNamespace('rr');
after(() => deleteRabbitNamespace(namespace));

/**
 * Restarts the shared RabbitMQ node's application (a second node would be heavy here); whatever
 * happens, the node is left running as it was found.
 */
test('rabbitmq: a broker restart under load is survived with nothing accepted lost', async (t) => {
  t.after(async () => {
    await run('rabbitmqctl', ['start_app']).catch(() => undefined);
    await run('rabbitmqctl', ['await_startup']).catch(() => undefined);
  });
  const dir = effectsDir();
  const service = await startService(t, {
    script: 'test/fixtures/effect-service.ts',
    env: {
      TPS_KANBAN_BACKEND: 'rabbitmq',
      RABBITMQ_URL,
      TPS_BROKER_NAMESPACE: namespace,
      TPS_TEST_EFFECTS_DIR: dir,
      LOG_LEVEL: 'warn',
    },
  });
  const healthy = async () => (await getJson(service, '/health')).body.healthy === true;

  let done = false;
  const loading = load(
    () => service,
    () => done,
    { concurrency: 8, ms: 5, ratePerSec: 300 },
  );
  await sleep(2_000);
  const stoppedAt = performance.now();
  await run('rabbitmqctl', ['stop_app']);
  await eventually(
    async () => !(await healthy()),
    () => '/health to report the broker down',
    10_000,
    100,
  );
  await sleep(3_000);
  await run('rabbitmqctl', ['start_app']);
  await run('rabbitmqctl', ['await_startup']);
  const restartedAt = performance.now();
  await eventually(healthy, () => 'the service to reconnect and report healthy', 30_000, 100);
  const reconnectedMs = performance.now() - restartedAt;
  await sleep(2_000);
  done = true;
  const report = await loading;

  const ids = report.accepted.map((a) => a.id);
  assert.ok(
    report.accepted.some((a) => a.at > restartedAt),
    'signals were accepted again after the restart',
  );
  const missing = await awaitCompleted(() => service, ids, 60_000);
  assert.deepEqual(missing, [], 'every accepted signal completed');
  const { effects } = effectsOf(dir);
  assert.deepEqual(
    ids.filter((id) => !effects.has(id)),
    [],
    'every accepted signal had its effect',
  );
  t.diagnostic(
    `accepted ${ids.length}; broker down for ${Math.round(restartedAt - stoppedAt)} ms; healthy again ` +
      `${Math.round(reconnectedMs)} ms after it was back; not accepted meanwhile: ${JSON.stringify(Object.fromEntries(report.refused))}`,
  );
});
