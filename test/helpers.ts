import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { type Clock, systemClock } from '../src/clock.ts';
import { resolveConfig, type TpsConfig } from '../src/config.ts';
import { demoHandlers } from '../src/handlers/demo.ts';
import type { SignalHandler } from '../src/handlers/registry.ts';
import { newUuid } from '../src/ids.ts';
import { silentLogger } from '../src/logger.ts';
import type { SignalState, WorkSignal } from '../src/signal.ts';
import { MemoryStatusStore } from '../src/status/memory.ts';
import { TpsSystem, type TpsSystemOptions } from '../src/system.ts';

/** A valid configuration for tests: defaults, quiet logs, the given overrides. */
export function testConfig(overrides: Partial<TpsConfig> = {}): TpsConfig {
  return resolveConfig({ logLevel: 'silent', ...overrides });
}

export interface TestSystemOptions extends TpsSystemOptions {
  /** Handlers by signal type; the demo handlers when left out. */
  readonly handlers?: Record<string, SignalHandler>;
}

/** A started system, stopped (without waiting for a drain) when the test ends. */
export async function startSystem(
  t: TestContext,
  overrides: Partial<TpsConfig> = {},
  options: TestSystemOptions = {},
): Promise<TpsSystem> {
  const system = new TpsSystem(testConfig(overrides), { logger: silentLogger(), ...options });
  for (const [type, handler] of Object.entries(options.handlers ?? demoHandlers())) {
    system.registerHandler(type, handler);
  }
  await system.start();
  t.after(async () => {
    if (system.state === 'running') await system.stop(0);
  });
  return system;
}

/** A started system and its HTTP app (not listening; use `app.inject`). */
export async function startApp(
  t: TestContext,
  overrides: Partial<TpsConfig> = {},
  options: TestSystemOptions = {},
): Promise<{ system: TpsSystem; app: FastifyInstance }> {
  const system = await startSystem(t, overrides, options);
  const app = await buildApp(system);
  t.after(() => app.close());
  return { system, app };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
) {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** A promise with its resolve function, for handlers that tests release by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A valid signal, as the system would have accepted it, with any field overridden. */
export function testSignal(overrides: Partial<WorkSignal> = {}): WorkSignal {
  return {
    id: newUuid(),
    type: 'validate',
    priority: 3,
    payload: {},
    timeoutMs: 1_000,
    acceptedAt: Date.now(),
    traceId: 'a'.repeat(32),
    parentSpanId: 'b'.repeat(16),
    traceFlags: 1,
    epoch: 0,
    ...overrides,
  };
}

/** An embedded status store a test can hand to a system and read itself (defaults of the service). */
export function memoryStore(clock: Clock = systemClock): MemoryStatusStore {
  return new MemoryStatusStore({ maxEntries: 100_000, ttlMs: 3_600_000 }, clock);
}

/** The status of `id` as the system reports it now. */
export async function statusOf(system: TpsSystem, id: string): Promise<SignalState> {
  return (await system.status(id)).status;
}

export const JSON_HEADERS = { 'content-type': 'application/json' };

/** An `app.inject` request for POST /signal with `payload` as its JSON body. */
export function postRequest(payload: unknown, headers: Record<string, string> = {}) {
  return {
    method: 'POST' as const,
    url: '/signal',
    headers: { ...JSON_HEADERS, ...headers },
    payload: JSON.stringify(payload),
  };
}
