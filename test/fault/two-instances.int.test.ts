import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { deleteNatsNamespace, NATS_URL, uniqueNamespace } from '../brokers.ts';
import { getJson, type Service, startService } from '../process.ts';
import { awaitCompleted, effectsDir, effectsOf, load } from './load.ts';

const namespace = uniqueNamespace('two');
after(() => deleteNatsNamespace(namespace));

test('two service processes on one NATS stream share the work, run each signal once, and both answer', async (t) => {
  const dir = effectsDir();
  const env = {
    TPS_KANBAN_BACKEND: 'nats',
    NATS_URL,
    TPS_BROKER_NAMESPACE: namespace,
    TPS_TEST_EFFECTS_DIR: dir,
    LOG_LEVEL: 'warn',
  };
  const options = { script: 'test/fixtures/effect-service.ts', env };
  const instances: Service[] = [await startService(t, options), await startService(t, options)];
  let next = 0;
  const report = await load(
    // Alternate: the way a load balancer would spread requests.
    () => instances[next++ % 2] as Service,
    (r) => r.accepted.length >= 2_000,
    { concurrency: 16, ms: 10 },
  );
  const ids = report.accepted.map((a) => a.id);
  for (const [i, service] of instances.entries()) {
    const missing = await awaitCompleted(() => service, ids, 60_000);
    assert.deepEqual(missing, [], `instance ${i + 1} sees every signal completed`);
  }
  const processed: number[] = [];
  for (const service of instances) {
    const h = (await getJson(service, '/heijunka')).body as { workers: { processed: number }[] };
    processed.push(h.workers.reduce((n, w) => n + w.processed, 0));
  }
  assert.ok(
    processed.every((n) => n > 0),
    `both instances processed signals: ${processed.join(' and ')}`,
  );
  const { effects, runs } = effectsOf(dir);
  assert.equal(effects.size, ids.length);
  assert.deepEqual(
    ids.filter((id) => runs.get(id) !== 1),
    [],
    'every signal ran exactly once',
  );
  t.diagnostic(`accepted ${ids.length}; processed ${processed.join(' + ')} across the two instances`);
});
