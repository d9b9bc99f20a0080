import { publicConfig } from '../../config.ts';
import type { IdleCompactionStatus } from '../../idle-compaction.ts';
import type { HealthReport } from '../../observability/views.ts';
import type { TpsSystem } from '../../system.ts';

/** Domain-to-wire: what the system reports, as the observability routes show it. */

/** GET /health: the report, with the supervision tree's fields in the API's spelling. */
export function healthBody(h: HealthReport) {
  return {
    ...h,
    components: h.components.map((c) => ({
      name: c.name,
      state: c.state,
      restarts: c.restarts,
      last_error: c.lastError,
      detail: c.detail,
    })),
  };
}

function compactionBody(c: IdleCompactionStatus) {
  return {
    enabled: c.enabled,
    malloc_trim: c.mallocTrim,
    compactions: c.compactions,
    due: c.due,
    freed_bytes: c.freedBytes,
    last:
      c.last === undefined
        ? null
        : {
            at: new Date(c.last.at).toISOString(),
            rss_before_bytes: c.last.rssBeforeBytes,
            rss_after_bytes: c.last.rssAfterBytes,
            pause_ms: c.last.pauseMs,
            malloc_trimmed: c.last.mallocTrimmed,
          },
  };
}

/** GET /info: who the service is, how long it has run, what it holds in memory, its settings. */
export function infoBody(system: TpsSystem, version: string) {
  const memory = process.memoryUsage();
  return {
    name: 'TPS Reference System',
    version,
    uptime_secs: Math.round(system.uptimeMs() / 100) / 10,
    environment: system.config.appEnvironment,
    node_version: process.version,
    signal_types: [...system.signalTypes()],
    memory: {
      rss_bytes: memory.rss,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
      heap_used_bytes: memory.heapUsed,
      heap_total_bytes: memory.heapTotal,
      external_bytes: memory.external,
      idle_compaction: compactionBody(system.compaction()),
    },
    config: publicConfig(system.config),
  };
}
