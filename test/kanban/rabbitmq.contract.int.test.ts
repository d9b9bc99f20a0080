import { after } from 'node:test';
import { deleteRabbitNamespace, openRabbitQueue, uniqueNamespace } from '../brokers.ts';
import { type DriverUnderTest, kanbanContract } from './contract.ts';

const namespaces: string[] = [];
after(async () => {
  for (const ns of namespaces) await deleteRabbitNamespace(ns);
});

async function instance(namespace: string, capacity: number): Promise<DriverUnderTest> {
  const queue = await openRabbitQueue(namespace, capacity);
  return { queue, shutdown: () => queue.close(), reopen: () => instance(namespace, capacity) };
}

kanbanContract(
  'rabbitmq',
  { durable: true, deduplicates: false, strictPriority: false, retractsDeadLetters: false },
  async (capacity) => {
    const namespace = uniqueNamespace();
    namespaces.push(namespace);
    return instance(namespace, capacity);
  },
);
