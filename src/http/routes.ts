import type { FastifyInstance } from 'fastify';
import type { TpsSystem } from '../system.ts';
import { chaosRoutes } from './chaos/routes.ts';
import { jidokaRoutes } from './jidoka/routes.ts';
import { observabilityRoutes } from './observability/routes.ts';
import { signalRoutes } from './signals/routes.ts';

export interface RouteOptions {
  readonly version: string;
}

/**
 * The API, one plugin per feature, each with its schemas and views beside it. The door (guards,
 * body limits) is the app's, applied to every write route as it is added.
 */
export async function registerRoutes(app: FastifyInstance, system: TpsSystem, options: RouteOptions) {
  await app.register(signalRoutes, { system });
  await app.register(jidokaRoutes, { system });
  await app.register(observabilityRoutes, { system, version: options.version });
  if (system.config.faultInjection) await app.register(chaosRoutes, { system });
}
