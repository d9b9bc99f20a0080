import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type preHandlerAsyncHookHandler,
} from 'fastify';
import { writeDoor } from './http/door.ts';
import { errorHandler, notFoundHandler } from './http/errors.ts';
import { bearerAuth, rateLimit } from './http/guards.ts';
import { parseJsonBody } from './http/json-body.ts';
import { openApiOptions } from './http/openapi.ts';
import { registerRoutes } from './http/routes.ts';
import { newSpanId } from './ids.ts';
import type { TpsSystem } from './system.ts';
import { VERSION } from './version.ts';

/**
 * Headers on every answer, those OWASP's REST Security Cheat Sheet asks of all API answers: no MIME
 * sniffing, no framing, not cached. The ones that act only on a rendered document go on the page
 * alone (`DOCUMENT_HEADERS`): on each JSON answer they cost ~140 bytes between them and the
 * request id's UUID, and ~5 % of the accept rate (BENCHMARKS.md (p)).
 */
const SECURITY_HEADERS: readonly (readonly [string, string])[] = Object.entries({
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
});
/** With TLS on, browsers are told to keep to HTTPS (one year). */
const HSTS = 'max-age=31536000';
/** A caller's request id is kept when it is short and plain; anything else gets a new one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** New request ids: 8 random hex digits drawn once per process, then a counter in base 36. */
const REQUEST_ID_PREFIX = `${newSpanId().slice(0, 8)}-`;
let requestCount = 0;

function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  requestCount++;
  return REQUEST_ID_PREFIX + requestCount.toString(36);
}

/**
 * Builds the HTTP API around a system without listening, so tests can call `inject()`.
 * The caller owns the system's lifecycle (`start` / `stop`).
 */
export async function buildApp(system: TpsSystem): Promise<FastifyInstance> {
  const config = system.config;
  const onError = errorHandler(system.logger, config.maxBodyBytes);
  const tls = config.sslEnabled;
  /** The headers every answer carries, and its request id. */
  const secure = (request: FastifyRequest, reply: FastifyReply): void => {
    for (const [name, value] of SECURITY_HEADERS) reply.header(name, value);
    reply.header('x-request-id', request.id);
    if (tls) reply.header('strict-transport-security', HSTS);
  };
  const app = Fastify({
    ...(config.sslEnabled
      ? { https: { cert: readFileSync(config.sslCertPath), key: readFileSync(config.sslKeyPath) } }
      : {}),
    bodyLimit: config.maxBodyBytes,
    // The request id: the caller's `x-request-id` when it is sane, else a new one; echoed back.
    requestIdHeader: false,
    genReqId: requestId,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors raised while routing (a malformed URL, an over-long id) get the same JSON shape.
    // (They are answered before any hook runs, so the security headers are set here too.)
    frameworkErrors: (error, request, reply) => {
      secure(request, reply);
      onError(error, request, reply);
    },
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
  app.addHook('onRequest', (request, reply, done) => {
    secure(request, reply);
    done();
  });
  app.setNotFoundHandler(notFoundHandler);

  await app.register(swagger, openApiOptions({ version: VERSION, auth: config.authEnabled }));
  const guards: preHandlerAsyncHookHandler[] = [];
  if (config.authEnabled) guards.push(bearerAuth(config.authToken));
  if (config.rateLimit > 0) guards.push(rateLimit(config.rateLimit, () => system.clock.wallNow()));
  app.addHook('onRoute', writeDoor({ guards, auth: config.authEnabled, rateLimit: config.rateLimit > 0 }));
  await registerRoutes(app, system, { version: VERSION });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
