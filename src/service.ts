import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { loadConfig, type TpsConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { demoHandlers } from './handlers/demo.ts';
import type { SignalHandler } from './handlers/registry.ts';
import { startMetricsServer } from './http/metrics-server.ts';
import { createLogger } from './logger.ts';
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
  let config: TpsConfig;
  try {
    config = loadConfig(options.env ?? process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tps: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const logger = createLogger(config);
  const system = new TpsSystem(config, { logger });
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
    const address = await app.listen({ host: config.httpHost, port: config.httpPort });
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
