import type { Clock } from '../clock.ts';
import type { HandlerRegistry } from '../handlers/registry.ts';
import type { Jidoka } from '../jidoka/jidoka.ts';
import type { Kaizen } from '../kaizen/metrics.ts';
import type { KanbanQueue } from '../kanban/queue.ts';
import type { Logger } from '../logger.ts';
import type { StatusStore } from '../status/store.ts';
import type { Tracer } from '../tracing/tracer.ts';

/** What every stage of the pipeline works with; the system owns them all. */
export interface PipelineParts {
  readonly registry: HandlerRegistry;
  readonly store: StatusStore;
  readonly queue: KanbanQueue;
  readonly jidoka: Jidoka;
  readonly kaizen: Kaizen;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The tracer in use now (the system replaces the ids-only one at start when spans are exported). */
  readonly tracer: () => Tracer;
}
