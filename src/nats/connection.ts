import { setTimeout as sleep } from 'node:timers/promises';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.ts';
import { JetStreamPublisher } from './publisher.ts';

export interface NatsConnectionOptions {
  readonly url: string;
  /** Client name shown by the server's monitoring. */
  readonly name: string;
  /** JetStream API request timeout, milliseconds. */
  readonly requestTimeoutMs: number;
  /** How long a publish may wait for JetStream's acknowledgement, milliseconds. */
  readonly publishTimeoutMs: number;
}

/** Something to redo each time the connection (re)establishes: declaring streams, buckets… */
export type OnReady = (js: JetStreamClient, jsm: JetStreamManager, nc: NatsConnection) => Promise<void>;

/**
 * One NATS connection shared by the NATS Kanban driver and the KV status store. It connects in
 * the background (the service starts, unhealthy, when the server is down), reconnects forever
 * with jittered backoff, and reruns every `onReady` after each (re)connection, so streams and
 * buckets lost with a server's store are declared again. `ready` says whether JetStream can be
 * used right now.
 */
export class NatsBroker {
  readonly #options: NatsConnectionOptions;
  readonly #logger: Logger;
  readonly #onReady: OnReady[] = [];
  readonly #listeners = new Set<(ready: boolean) => void>();
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  #publisher: JetStreamPublisher | undefined;
  #ready = false;
  #detail = 'connecting';
  #closed = false;
  #running: Promise<void> | undefined;

  constructor(options: NatsConnectionOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get detail(): string {
    return this.#detail;
  }

  /** The JetStream client, or undefined while not connected. */
  get js(): JetStreamClient | undefined {
    return this.#ready ? this.#js : undefined;
  }

  get jsm(): JetStreamManager | undefined {
    return this.#ready ? this.#jsm : undefined;
  }

  get connection(): NatsConnection | undefined {
    return this.#nc;
  }

  /** The hot-path JetStream publisher, or undefined while not connected. */
  get publisher(): JetStreamPublisher | undefined {
    return this.#ready ? this.#publisher : undefined;
  }

  /** Adds work to run on every (re)connection; runs it now if already connected. */
  async whenReady(fn: OnReady): Promise<void> {
    this.#onReady.push(fn);
    if (this.#ready && this.#js && this.#jsm && this.#nc) await fn(this.#js, this.#jsm, this.#nc);
  }

  /** Tells `listener` each time readiness changes. */
  onReadiness(listener: (ready: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts connecting; resolves at once. */
  start(): void {
    this.#closed = false;
    this.#running ??= this.#run();
  }

  /** Resolves once ready, or rejects after `timeoutMs`. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#ready) {
      if (this.#closed) throw new Error('NATS connection closed');
      if (performance.now() > deadline)
        throw new Error(`NATS not ready after ${timeoutMs} ms: ${this.#detail}`);
      await sleep(20);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#setReady(false, 'closed');
    const nc = this.#nc;
    if (nc !== undefined && !nc.isClosed()) {
      try {
        await nc.drain();
      } catch {
        await nc.close();
      }
    }
    await this.#running;
    this.#running = undefined;
  }

  async #run(): Promise<void> {
    let backoff = 250;
    while (!this.#closed) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: this.#options.url,
          name: this.#options.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          reconnectJitter: 250,
          timeout: 2_000,
          pingInterval: 10_000,
          // Otherwise every request (each publish, each KV write) builds two errors with stack
          // traces in advance, a third of the CPU at load; our logs carry signal and trace ids.
          noAsyncTraces: true,
        });
      } catch (error) {
        this.#setReady(false, `cannot connect to ${this.#options.url}: ${(error as Error).message}`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
        continue;
      }
      backoff = 250;
      this.#nc = nc;
      this.#js = jetstream(nc, { timeout: this.#options.requestTimeoutMs });
      this.#jsm = await jetstreamManager(nc, { timeout: this.#options.requestTimeoutMs, checkAPI: false });
      this.#publisher = new JetStreamPublisher(nc, this.#options.publishTimeoutMs);
      await this.#declare();
      void this.#watch(nc);
      const closed = await nc.closed();
      this.#publisher?.close();
      if (!this.#closed) {
        this.#logger.warn({ err: closed }, 'NATS connection closed; connecting again');
        this.#setReady(false, 'connection closed');
      }
    }
  }

  /** Reruns every declaration; on failure stays not ready and retries shortly. */
  async #declare(): Promise<void> {
    for (;;) {
      const { js, jsm } = { js: this.#js, jsm: this.#jsm };
      const nc = this.#nc;
      if (this.#closed || js === undefined || jsm === undefined || nc === undefined || nc.isClosed()) return;
      try {
        for (const fn of this.#onReady) await fn(js, jsm, nc);
        this.#setReady(true, `connected to ${nc.getServer()}`);
        return;
      } catch (error) {
        this.#setReady(false, `JetStream not usable: ${(error as Error).message}`);
        await sleep(500);
      }
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#setReady(false, `disconnected from ${s.server}`);
      } else if (s.type === 'reconnect') {
        await this.#declare();
      }
    }
  }

  #setReady(ready: boolean, detail: string): void {
    this.#detail = detail;
    if (ready === this.#ready) return;
    this.#ready = ready;
    if (ready) this.#logger.info({ detail }, 'NATS ready');
    else if (!this.#closed) this.#logger.warn({ detail }, 'NATS not ready');
    for (const listener of this.#listeners) listener(ready);
  }
}
