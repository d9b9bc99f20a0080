import type { Andon } from './andon/board.ts';
import { AlertWebhook } from './andon/webhook.ts';
import type { TpsConfig } from './config.ts';
import type { WorkerPool } from './heijunka/worker-pool.ts';
import { type Jidoka, transitionText } from './jidoka/jidoka.ts';
import type { Logger } from './logger.ts';
import type { Supervisor } from './supervision.ts';

/** What the event subscriptions connect. */
export interface WiringParts {
  readonly config: TpsConfig;
  readonly logger: Logger;
  readonly jidoka: Jidoka;
  readonly andon: Andon;
  readonly pool: WorkerPool;
  readonly supervisor: Supervisor;
  /** Recomputes the Andon board soon. */
  readonly lookSoon: () => void;
}

/** The Andon level a circuit transition is reported at. */
const CIRCUIT_LEVEL = { Closed: 'GREEN', HalfOpen: 'YELLOW', Open: 'RED' } as const;

/**
 * How the principles hear of each other: a circuit's transitions, the pool's scaling and the
 * supervisor's restarts go to the log and the Andon board; the board's changes go to the log and,
 * when configured, to the alert webhook. Returns what closes the subscriptions (and the webhook).
 */
export function wireEvents(parts: WiringParts): () => Promise<void> {
  const { config, logger, jidoka, andon, pool, supervisor, lookSoon } = parts;
  const unsubscribe = [
    jidoka.onTransition((t) => {
      const line = { signal_type: t.name, from: t.from, to: t.to, reason: t.reason };
      if (t.to === 'Open') logger.warn(line, 'circuit opened: line stopped');
      else logger.info(line, `circuit ${t.to === 'Closed' ? 'closed' : 'half-open'}`);
      andon.alert('jidoka', CIRCUIT_LEVEL[t.to], transitionText(t));
      lookSoon();
    }),
    andon.onChange((c) => {
      // Not `level`: that key is the log line's own severity.
      const line = { principle: c.principle, andon_level: c.level, previous: c.previous, reason: c.reason };
      if (c.level === 'GREEN') logger.info(line, 'andon level changed');
      else logger.warn(line, 'andon level changed');
    }),
    pool.onScale((e) => {
      const text = `pool scaled ${e.direction} ${e.from} → ${e.to} workers: ${e.reason}`;
      logger.info({ from: e.from, to: e.to, reason: e.reason }, 'worker pool scaled');
      andon.alert('heijunka', e.direction === 'up' ? 'YELLOW' : 'GREEN', text);
    }),
    supervisor.onEvent((e) => {
      if (e.kind === 'crashed') {
        logger.error(
          { component: e.component, err: e.error, backoff_ms: e.backoffMs },
          'component crashed; restarting after backoff',
        );
        lookSoon();
      } else if (e.kind === 'restarted') {
        logger.info({ component: e.component, restarts: e.restarts }, 'component restarted');
        lookSoon();
      }
    }),
  ];
  const webhook =
    config.andonWebhookUrl === '' ? undefined : new AlertWebhook(config.andonWebhookUrl, logger);
  if (webhook !== undefined) unsubscribe.push(alertOnRed(parts, webhook));
  return async () => {
    for (const off of unsubscribe) off();
    await webhook?.close();
  };
}

/** A POST when the overall level turns RED, and one when it is GREEN again after that. */
function alertOnRed({ config, andon }: WiringParts, webhook: AlertWebhook): () => void {
  let red = false;
  return andon.onChange((c) => {
    if (c.kind !== 'level' || c.principle !== 'overall') return;
    if (c.level === 'RED') red = true;
    else if (c.level !== 'GREEN' || !red) return;
    else red = false;
    webhook.send({
      event: c.level === 'RED' ? 'andon.red' : 'andon.green',
      service: config.appName,
      environment: config.appEnvironment,
      at: c.at,
      level: c.level,
      previous: c.previous,
      reason: c.reason,
      principles: andon.board().principles,
    });
  });
}
