import { after } from 'node:test';
import { FailoverQueue } from '../../src/kanban/failover.ts';
import { silentLogger } from '../../src/logger.ts';
import {
  deleteNatsNamespace,
  deleteRabbitNamespace,
  openNatsQueue,
  openRabbitQueue,
  uniqueNamespace,
} from '../brokers.ts';
import { type DriverUnderTest, kanbanContract } from './contract.ts';

const namespaces: string[] = [];
after(async () => {
  for (const ns of namespaces) {
    await deleteNatsNamespace(ns);
    await deleteRabbitNamespace(ns);
  }
});

async function instance(namespace: string, capacity: number): Promise<DriverUnderTest> {
  const nats = await openNatsQueue(namespace, capacity, { ackWaitMs: 2_000 });
  const rabbit = await openRabbitQueue(namespace, capacity);
  const queue = new FailoverQueue(nats.queue, rabbit, silentLogger());
  return {
    queue,
    shutdown: async () => {
      await queue.close();
      await nats.broker.close();
    },
    reopen: () => instance(namespace, capacity),
  };
}

// With both brokers up, failover behaves as its primary; its outage behaviour is tested apart.
kanbanContract(
  'failover',
  { durable: true, deduplicates: true, strictPriority: false, retractsDeadLetters: true },
  async (capacity) => {
    const namespace = uniqueNamespace();
    namespaces.push(namespace);
    return instance(namespace, capacity);
  },
);
