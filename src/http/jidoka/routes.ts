import type { FastifyPluginCallbackJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { TpsSystem } from '../../system.ts';
import { circuit, jidokaReport, lineParams, switchFailures } from './schemas.ts';

export interface JidokaRouteOptions {
  readonly system: TpsSystem;
}

/** Jidoka: the circuits, and the operator's switches to stop and restart a line. */
export const jidokaRoutes: FastifyPluginCallbackJsonSchemaToTs<{ Options: JidokaRouteOptions }> = (
  app,
  { system },
  done,
) => {
  app.get(
    '/jidoka',
    {
      schema: {
        operationId: 'getJidoka',
        tags: ['jidoka'],
        summary: 'Every circuit (one per signal type) in detail, and the trip rules',
        description:
          'A circuit opens on repeated failure and stops its line: new signals of the type get 503.',
        response: { 200: jidokaReport },
      },
    },
    async () => system.jidokaReport(),
  );

  app.post(
    '/jidoka/:type/isolate',
    {
      schema: {
        operationId: 'isolateLine',
        tags: ['jidoka'],
        summary: 'Hold the circuit of a signal type open until reset (stop the line)',
        description: 'New signals of the type get 503; workers hold the queued ones back.',
        params: lineParams,
        response: { 200: circuit, ...switchFailures },
      },
    },
    async (request) => system.isolateLine(request.params.type),
  );

  app.post(
    '/jidoka/:type/reset',
    {
      schema: {
        operationId: 'resetLine',
        tags: ['jidoka'],
        summary: 'Close the circuit of a signal type and forget its failures (restart the line)',
        description: 'Signals of the type are admitted again, and the held-back ones run.',
        params: lineParams,
        response: { 200: circuit, ...switchFailures },
      },
    },
    async (request) => system.resetLine(request.params.type),
  );

  done();
};
