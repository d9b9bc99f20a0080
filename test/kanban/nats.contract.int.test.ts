import { after } from 'node:test';
import { deleteNatsNamespace, openNatsQueue, uniqueNamespace } from '../brokers.ts';
import { type DriverUnderTest, kanbanContract } from './contract.ts';

const namespaces: string[] = [];
after(async () => {
  for (const ns of namespaces) await deleteNatsNamespace(ns);
});

/** One service instance's view of a namespace: its queue and its own connection. */
async function instance(namespace: string, capacity: number): Promise<DriverUnderTest> {
  // A short ack wait, so a delivery left unsettled by a closed instance comes back quickly.
  const handle = await openNatsQueue(namespace, capacity, { ackWaitMs: 2_000 });
  return {
    queue: handle.queue,
    shutdown: () => handle.close(),
    reopen: () => instance(namespace, capacity),
  };
}

kanbanContract(
  'nats',
  { durable: true, deduplicates: true, strictPriority: false, retractsDeadLetters: true },
  async (capacity) => {
    const namespace = uniqueNamespace();
    namespaces.push(namespace);
    return instance(namespace, capacity);
  },
);
