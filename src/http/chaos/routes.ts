import type { FastifyPluginCallbackJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { TpsSystem } from '../../system.ts';
import { failure } from '../schemas.ts';

const crashQuery = {
  type: 'object',
  properties: {
    worker: {
      type: 'string',
      maxLength: 64,
      description: 'The worker to crash (e.g. worker-3); any running one when left out.',
    },
  },
} as const;

const crashed = {
  type: 'object',
  required: ['crashed'],
  additionalProperties: false,
  description: 'The worker loop crashed; its supervisor restarts it.',
  properties: { crashed: { type: 'string', description: 'The worker that crashed.' } },
} as const;

const crashFailures = {
  400: failure('The worker name is longer than 64 characters, or the body is not valid JSON.'),
  404: failure('No such running worker (`worker_not_found`).'),
} as const;

export interface ChaosRouteOptions {
  readonly system: TpsSystem;
}

/** Fault injection (TPS_FAULT_INJECTION): what `make chaos` and the supervision tests break. */
export const chaosRoutes: FastifyPluginCallbackJsonSchemaToTs<{ Options: ChaosRouteOptions }> = (
  app,
  { system },
  done,
) => {
  app.post(
    '/chaos/workers/crash',
    {
      schema: {
        operationId: 'crashWorker',
        tags: ['chaos'],
        summary: 'Fault injection (TPS_FAULT_INJECTION): crash one worker loop; the supervisor restarts it',
        description: 'The worker notices at its next step (give it work); its signals go on elsewhere.',
        querystring: crashQuery,
        response: { 200: crashed, ...crashFailures },
      },
    },
    async (request, reply) => {
      const crashed = system.crashWorker(request.query.worker);
      if (crashed === undefined) {
        return reply
          .code(404)
          .send({ success: false, error: 'worker_not_found', message: 'no such running worker' });
      }
      return { crashed };
    },
  );

  done();
};
