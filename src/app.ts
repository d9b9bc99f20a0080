import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type preHandlerAsyncHookHandler } from 'fastify';
import { registerAndonStream } from './http/andon-stream.ts';
import { errorHandler, notFoundHandler } from './http/errors.ts';
import { bearerAuth, rateLimit } from './http/guards.ts';
import { parseJsonBody } from './http/json-body.ts';
import { registerRoutes } from './http/routes.ts';
import type { TpsSystem } from './system.ts';
import { VERSION } from './version.ts';

/**
 * Builds the HTTP API around a system without listening, so tests can call `inject()`.
 * The caller owns the system's lifecycle (`start` / `stop`).
 */
export async function buildApp(system: TpsSystem): Promise<FastifyInstance> {
  const config = system.config;
  const onError = errorHandler(system.logger, config.maxBodyBytes);
  const app = Fastify({
    ...(config.sslEnabled
      ? { https: { cert: readFileSync(config.sslCertPath), key: readFileSync(config.sslKeyPath) } }
      : {}),
    bodyLimit: config.maxBodyBytes,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors raised while routing (a malformed URL, an over-long id) get the same JSON shape.
    frameworkErrors: (error, request, reply) => onError(error, request, reply),
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: true },
    },
  }) as unknown as FastifyInstance;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, config.maxPayloadDepth));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.setErrorHandler(onError);
  app.setNotFoundHandler(notFoundHandler);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TPS Reference System',
        version: VERSION,
        description: 'Work signals through Jidoka, Kanban, Andon, Kaizen, Heijunka and tracing.',
      },
    },
  });

  const writeGuards: preHandlerAsyncHookHandler[] = [];
  if (config.authEnabled) writeGuards.push(bearerAuth(config.authToken));
  if (config.rateLimit > 0) writeGuards.push(rateLimit(config.rateLimit));
  registerRoutes(app, system, { version: VERSION, writeGuards });
  registerAndonStream(app, system);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
