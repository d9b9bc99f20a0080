import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';

export interface WebhookOptions {
  /** Tries per alert (the first included). */
  readonly attempts?: number;
  /** Wait before the first retry; doubles after each failure. */
  readonly backoffMs?: number;
  readonly backoffMaxMs?: number;
  /** One POST may take this long. */
  readonly timeoutMs?: number;
  /** Alerts waiting to be sent at most; beyond it the oldest is dropped (and counted). */
  readonly maxPending?: number;
}

export interface WebhookStats {
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly pending: number;
}

/**
 * Sends alerts as JSON POSTs to one URL, one at a time in order, each retried with exponential
 * backoff. `send` only enqueues: the caller (the pipeline) never waits on the network. The queue is
 * bounded; an alert that exhausts its tries is logged and given up.
 */
export class AlertWebhook {
  readonly #url: string;
  readonly #logger: Logger;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #backoffMaxMs: number;
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #pending: unknown[] = [];
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #sent = 0;
  #failed = 0;
  #dropped = 0;

  constructor(url: string, logger: Logger, options: WebhookOptions = {}) {
    this.#url = url;
    this.#logger = logger;
    this.#attempts = options.attempts ?? 5;
    this.#backoffMs = options.backoffMs ?? 500;
    this.#backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxPending = options.maxPending ?? 100;
  }

  stats(): WebhookStats {
    return { sent: this.#sent, failed: this.#failed, dropped: this.#dropped, pending: this.#pending.length };
  }

  /** Queues an alert; returns at once. */
  send(alert: unknown): void {
    if (this.#stop.signal.aborted) return;
    if (this.#pending.length >= this.#maxPending) {
      this.#pending.shift();
      this.#dropped++;
      this.#logger.warn(
        { max_pending: this.#maxPending },
        'andon webhook backlog full; oldest alert dropped',
      );
    }
    this.#pending.push(alert);
    this.#kick();
  }

  /** Gives what is queued up to `graceMs` to go out, then stops retrying. */
  async close(graceMs = 2_000): Promise<void> {
    if (this.#running !== undefined) {
      await Promise.race([this.#running, sleep(graceMs, undefined, { ref: false })]);
    }
    this.#stop.abort();
    if (this.#pending.length > 0) {
      this.#logger.warn({ unsent: this.#pending.length }, 'andon webhook stopped with alerts unsent');
    }
  }

  #kick(): void {
    if (this.#running !== undefined) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      // An alert queued while the loop was finishing.
      if (this.#pending.length > 0 && !this.#stop.signal.aborted) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    for (let alert = this.#pending[0]; alert !== undefined; alert = this.#pending[0]) {
      const ok = await this.#deliver(alert);
      if (this.#stop.signal.aborted) return;
      if (this.#pending[0] === alert) this.#pending.shift();
      if (ok) this.#sent++;
      else this.#failed++;
    }
  }

  async #deliver(alert: unknown): Promise<boolean> {
    const body = JSON.stringify(alert);
    let wait = this.#backoffMs;
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      try {
        const response = await fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#timeoutMs)]),
        });
        // The body is not needed; reading it frees the connection.
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return true;
        problem = `HTTP ${response.status}`;
      } catch (error) {
        if (this.#stop.signal.aborted) return false;
        problem = error instanceof Error ? error.message : String(error);
      }
      if (attempt >= this.#attempts) {
        this.#logger.error({ attempts: attempt, problem }, 'andon webhook alert not delivered; giving up');
        return false;
      }
      this.#logger.warn({ attempt, problem, retry_in_ms: wait }, 'andon webhook POST failed; retrying');
      try {
        await sleep(wait, undefined, { signal: this.#stop.signal, ref: false });
      } catch {
        return false;
      }
      wait = Math.min(this.#backoffMaxMs, wait * 2);
    }
  }
}
