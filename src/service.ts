import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { loadConfig, loadDotEnv, type TpsConfig, unknownVariables } from './config.ts';
import { ConfigError } from './errors.ts';
import { demoHandlers } from './handlers/demo.ts';
import type { SignalHandler } from './handlers/registry.ts';
import { startMetricsServer } from './http/metrics-server.ts';
import { exposedCollector, type IdleCompactionHooks } from './idle-compaction.ts';
import { createLogger } from './logger.ts';
import { loadMallocTrim } from './malloc-trim.ts';
import { TpsSystem } from './system.ts';

export interface ServiceOptions {
  /** Handlers to register besides the demo ones (a type given here replaces a demo one). */
  readonly handlers?: Readonly<Record<string, SignalHandler>>;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs the service as this process: configuration from the environment (a bad value prints one
 * line and exits 1), the demo handlers and any others, the HTTP API, and a drain on SIGTERM or
 * SIGINT. Resolves once it listens.
 */
export async function runService(options: ServiceOptions = {}): Promise<void> {
  // The process's own environment comes with ./.env, when there is one (the shell's values win).
  const dotEnv = options.env === undefined && loadDotEnv();
  const env = options.env ?? process.env;
  let config: TpsConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tps: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const logger = createLogger(config);
  if (dotEnv) logger.info({ file: '.env' }, 'read the environment file');
  for (const { name, closest } of unknownVariables(env)) {
    logger.warn({ variable: name, closest }, `unknown variable ${name} ignored; did you mean ${closest}?`);
  }
  const system = new TpsSystem(config, { logger, idleCompaction: idleCompactionHooks() });
  const handlers = { ...demoHandlers(), ...options.handlers };
  for (const [type, handler] of Object.entries(handlers)) system.registerHandler(type, handler);

  let app: FastifyInstance | undefined;
  let metricsServer: Server | undefined;
  let stopping: Promise<void> | undefined;

  /**
   * Stops intake at once (POST answers 503 while draining, reads keep working), lets queued and
   * in-flight signals finish within TPS_SHUTDOWN_TIMEOUT, then closes the server. Exits 0 when every
   * accepted signal settled, 1 otherwise.
   */
  function shutdown(reason: string, failed = false): Promise<void> {
    if (stopping !== undefined) return stopping;
    logger.info({ reason }, 'shutting down');
    stopping = (async () => {
      const report = await system.stop();
      metricsServer?.close();
      await app?.close();
      process.exit(failed || !report.drained ? 1 : 0);
    })();
    return stopping;
  }

  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    void shutdown('unhandledRejection', true);
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    void shutdown('uncaughtException', true);
  });

  try {
    await system.start();
    app = await buildApp(system);
    await app.listen({ host: config.httpHost, port: config.httpPort });
    const bound = app.server.address() as AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    const address = `${config.sslEnabled ? 'https' : 'http'}://${host}:${bound.port}`;
    metricsServer = await startMetricsServer(system.exposition, config.httpHost, config.metricsPort, logger);
    logger.info(
      { address, metrics_port: config.metricsPort, environment: config.appEnvironment },
      'listening',
    );
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    await system.stop(0);
    process.exit(1);
  }
}

/**
 * The service runs idle compaction when the process can: `node --expose-gc` (as `npm start` and the
 * image run it) exposes the collection, and the native addon, when built, the malloc trim.
 */
function idleCompactionHooks(): IdleCompactionHooks | undefined {
  const collect = exposedCollector();
  if (collect === undefined) return undefined;
  const trimMalloc = loadMallocTrim();
  return trimMalloc === undefined ? { collect } : { collect, trimMalloc };
}
