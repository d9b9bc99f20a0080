import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifyContextConfig } from 'fastify';

/** The features, as the OpenAPI document groups the operations. */
const TAGS = [
  { name: 'signals', description: 'Submit work signals, follow them, retry them.' },
  {
    name: 'jidoka',
    description: 'The circuits that stop a line on repeated failure, and the operator’s switches.',
  },
  {
    name: 'observability',
    description: 'Health, Kaizen metrics, the Andon board, Heijunka’s worker load, the service’s identity.',
  },
  { name: 'chaos', description: 'Fault injection, only when TPS_FAULT_INJECTION is on.' },
];

/** The name of the bearer scheme in the document (the door puts it on the routes it guards). */
export const BEARER = 'bearer';

export interface OpenApiOptions {
  readonly version: string;
  /** AUTH_ENABLED: the document then declares the bearer scheme. */
  readonly auth: boolean;
}

type Document = Record<string, unknown> & {
  components?: Record<string, Record<string, unknown>>;
  paths?: Record<string, Record<string, Operation>>;
};
type Header = { schema?: Record<string, unknown>; required?: boolean };
type Response = { headers?: Record<string, Header | { $ref: string }> };
type Operation = { security?: unknown[]; parameters?: unknown[]; responses?: Record<string, Response> };

/**
 * @fastify/swagger copies a response header's declaration into the header's `schema`; `required`
 * (that the answer always carries it) belongs to the header object.
 */
function headerObject(header: Header | { $ref: string }): Header | { $ref: string } {
  if (!('schema' in header) || header.schema?.required !== true) return header;
  const { required: _, ...schema } = header.schema;
  return { ...header, required: true, schema };
}

const REQUEST_ID_PARAMETER = {
  name: 'X-Request-Id',
  in: 'header',
  required: false,
  description: 'Kept as the request id (in the logs, echoed back) when plain; anything else gets a new one.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
};
const REQUEST_ID_HEADER = {
  required: true,
  description: 'The request id: the caller’s `X-Request-Id`, or a new one.',
  schema: { type: 'string' },
};

/**
 * What every operation shares, which the routes do not say one by one: every request may carry an
 * `X-Request-Id` and every answer carries one back (app.ts sets it on all); an operation the door
 * does not guard is open (an explicit empty `security`).
 */
function everyOperation(document: Document): Document {
  const components = { ...document.components };
  components.parameters = { ...components.parameters, requestId: REQUEST_ID_PARAMETER };
  components.headers = { ...components.headers, requestId: REQUEST_ID_HEADER };
  const paths: Record<string, Record<string, Operation>> = {};
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    paths[path] = {};
    for (const [method, operation] of Object.entries(item)) {
      const responses: Record<string, Response> = {};
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const headers: Record<string, Header | { $ref: string }> = {};
        for (const [name, header] of Object.entries(response.headers ?? {}))
          headers[name] = headerObject(header);
        headers['X-Request-Id'] = { $ref: '#/components/headers/requestId' };
        responses[status] = { ...response, headers };
      }
      paths[path][method] = {
        ...operation,
        security: operation.security ?? [],
        parameters: [...(operation.parameters ?? []), { $ref: '#/components/parameters/requestId' }],
        responses,
      };
    }
  }
  return { ...document, components, paths };
}

/** @fastify/swagger's options: the document's frame; the routes fill in the operations. */
export function openApiOptions(options: OpenApiOptions): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TPS Reference System',
        version: options.version,
        description:
          'Work signals through Jidoka, Kanban, Andon, Kaizen, Heijunka and tracing. Every answer carries `X-Request-Id`; every error is JSON with a stable `error` code and a `message` that says what was wrong.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: '/', description: 'This service' }],
      tags: TAGS,
      ...(options.auth
        ? {
            components: {
              securitySchemes: {
                [BEARER]: {
                  type: 'http',
                  scheme: 'bearer',
                  description: 'AUTH_TOKEN; with AUTH_ENABLED on, every POST route requires it.',
                },
              },
            },
          }
        : {}),
    },
    transformObject: (documents) =>
      'openapiObject' in documents
        ? everyOperation(documents.openapiObject as Document)
        : documents.swaggerObject,
  };
}

/**
 * Documents request headers that a handler reads and checks itself. They are not in the route's
 * `schema.headers`, which Fastify would validate first: its message would replace the handler's
 * precise one (a malformed Idempotency-Key names the header), at a cost on every request.
 */
export function readsHeaders(headers: Readonly<Record<string, object>>): FastifyContextConfig {
  return {
    swaggerTransform: ({ schema, url }) => ({
      url,
      schema: { ...schema, headers: { type: 'object', properties: headers } },
    }),
  };
}
