import type { onRouteHookHandler, preHandlerAsyncHookHandler, RouteOptions } from 'fastify';
import { BEARER } from './openapi.ts';
import { failure, rateLimited, unauthorized } from './schemas.ts';

export interface DoorOptions {
  /** Run before every write route's handler: authentication, rate limit. */
  readonly guards: readonly preHandlerAsyncHookHandler[];
  /** AUTH_ENABLED: one of the guards asks for the bearer token. */
  readonly auth: boolean;
  /** RATE_LIMIT > 0: one of the guards counts requests. */
  readonly rateLimit: boolean;
}

/** What Fastify answers for any route with a body, before the handler runs. */
const BODY_FAILURES = {
  413: failure('The request body is larger than TPS_MAX_BODY_BYTES (`payload_too_large`).'),
  415: failure('A request body that is not declared as `application/json` (`unsupported_media_type`).'),
};

type Responses = Record<string, { description?: string }>;

/**
 * The door of the write routes: every POST route gets the guards, and its OpenAPI operation the
 * bearer scheme and the answers the guards and the body parser give (401, 429, 413, 415). Done
 * here, once, when a route is added, so a new write route can neither forget a guard nor leave
 * it undocumented.
 */
export function writeDoor(options: DoorOptions): onRouteHookHandler {
  return (route: RouteOptions) => {
    if (route.method !== 'POST') return;
    // No hook array at all when there are no guards: Fastify runs even an empty one per request.
    if (options.guards.length > 0) {
      const own = route.preHandler === undefined ? [] : [route.preHandler].flat();
      route.preHandler = [...options.guards, ...own];
    }
    const schema = route.schema ?? {};
    const responses: Responses = { ...(schema.response as Responses | undefined), ...BODY_FAILURES };
    if (options.auth) responses[401] = unauthorized;
    if (options.rateLimit) {
      const own = responses[429];
      responses[429] =
        own === undefined
          ? rateLimited
          : { ...own, description: `${own.description ?? ''} Or: ${rateLimited.description}` };
    }
    route.schema = {
      ...schema,
      response: responses,
      ...(options.auth ? { security: [{ [BEARER]: [] }] } : {}),
    };
  };
}
