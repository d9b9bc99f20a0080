import { levelerOrder } from '../../src/heijunka/leveler.ts';
import { MemoryQueue } from '../../src/kanban/memory.ts';
import { kanbanContract } from './contract.ts';

kanbanContract(
  'memory',
  { durable: false, deduplicates: true, strictPriority: true, retractsDeadLetters: true },
  async (capacity) => {
    const queue = new MemoryQueue({ order: levelerOrder(), capacity });
    await queue.start();
    return { queue, shutdown: () => queue.close() };
  },
);
