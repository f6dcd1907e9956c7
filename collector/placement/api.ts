// HTTP routes of the capacity table and the placement scheduler. Request bodies are checked by
// schema; a bad one is a 400 whose message names the field (body/count, body/labels/env, …).
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { CAPACITY_LABEL_FILTERS, capacityView, type CapacityQuery } from './capacity-view.js';
import { PLACEMENT_ROLES } from './config.js';
import type { PlacementRequest } from './framework.js';
import type { Answer, Placement } from './service.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;

interface PlacementBody {
  requestId: string;
  role: string;
  count: number;
  memoryMb: number;
  labels?: Record<string, string>;
  spreadBy?: string;
  antiAffinity?: 'none' | 'group';
  groupSize?: number;
  strategy?: string;
}

const MAX_MEMBERS = 1000;

const placementBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['requestId', 'role', 'count', 'memoryMb'],
  properties: {
    requestId: { ...text(128), pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' },
    role: { type: 'string', enum: [...PLACEMENT_ROLES] },
    count: { type: 'integer', minimum: 1, maximum: MAX_MEMBERS },
    memoryMb: { type: 'integer', minimum: 1, maximum: 4 * 1024 * 1024 },
    labels: { type: 'object', maxProperties: 32, propertyNames: text(128), additionalProperties: text(256) },
    spreadBy: text(128),
    antiAffinity: { type: 'string', enum: ['none', 'group'] },
    groupSize: { type: 'integer', minimum: 1, maximum: MAX_MEMBERS },
    strategy: text(64),
  },
} as const;

const requestIdParams = { type: 'object', properties: { requestId: text(128) }, required: ['requestId'] } as const;

/** "body/labels/env must be string", "body/colour is not a known field", "body/role is required". */
function namedFieldError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errors[0]!;
  const at = `${dataVar}${e.instancePath}`;
  const params = e.params as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[] };
  if (e.keyword === 'additionalProperties') return new Error(`${at}/${params.additionalProperty} is not a known field`);
  if (e.keyword === 'required') return new Error(`${at}/${params.missingProperty} is required`);
  if (e.keyword === 'enum') return new Error(`${at} must be one of ${params.allowedValues!.map(String).join(', ')}`);
  return new Error(`${at} ${e.message ?? 'is invalid'}`);
}

function toRequest(b: PlacementBody): PlacementRequest {
  return {
    requestId: b.requestId,
    role: b.role,
    count: b.count,
    memoryMb: b.memoryMb,
    labels: b.labels ?? {},
    spreadBy: b.spreadBy,
    antiAffinity: b.antiAffinity ?? 'none',
    groupSize: b.groupSize ?? b.count,
    strategy: b.strategy,
  };
}

export function registerPlacementRoutes(app: FastifyInstance, placement: Placement): void {
  const send = (reply: { code(n: number): { send(b: unknown): unknown }; header(k: string, v: string): unknown }, a: Answer) => {
    if (a.replay) reply.header('idempotent-replay', 'true');
    return reply.code(a.status).send(a.body);
  };

  app.get<{ Querystring: CapacityQuery }>(
    '/api/v1/capacity',
    {
      schemaErrorFormatter: namedFieldError,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            host: text(253),
            role: text(64),
            fresh: { type: 'boolean' },
            ...Object.fromEntries(CAPACITY_LABEL_FILTERS.map((k) => [k, text(256)])),
          },
        },
      },
    },
    async (req) => capacityView(placement, req.query),
  );

  app.post<{ Body: PlacementBody }>(
    '/api/v1/placements',
    {
      config: {
        access: 'operator',
        audit: (req) => {
          const b = req.body as PlacementBody | undefined;
          return `placement ${b?.requestId} (${b?.count} ${b?.role}, ${b?.memoryMb} MB)`;
        },
      },
      schemaErrorFormatter: namedFieldError,
      schema: { body: placementBodySchema },
    },
    async (req, reply) => {
      const body = req.body;
      if (body.spreadBy !== undefined && body.labels?.[body.spreadBy] !== undefined) {
        return reply.code(400).send({
          error: 'invalid request',
          message: `body/spreadBy: ${body.spreadBy} is pinned by body/labels/${body.spreadBy}, so there is nothing to spread over`,
        });
      }
      return send(reply, await placement.place(toRequest(body)));
    },
  );

  app.get('/api/v1/placements', async () => ({ placements: await placement.active() }));

  app.get<{ Params: { requestId: string } }>(
    '/api/v1/placements/:requestId',
    {
      schemaErrorFormatter: namedFieldError,
      schema: { params: requestIdParams },
    },
    async (req, reply) => send(reply, await placement.get(req.params.requestId)),
  );

  app.post<{ Params: { requestId: string } }>(
    '/api/v1/placements/:requestId/confirm',
    {
      config: { access: 'operator', audit: (req) => `placement ${(req.params as { requestId: string }).requestId}` },
      schemaErrorFormatter: namedFieldError,
      schema: { params: requestIdParams },
    },
    async (req, reply) => send(reply, await placement.confirm(req.params.requestId)),
  );

  app.post<{ Params: { requestId: string } }>(
    '/api/v1/placements/:requestId/release',
    {
      config: { access: 'operator', audit: (req) => `placement ${(req.params as { requestId: string }).requestId}` },
      schemaErrorFormatter: namedFieldError,
      schema: { params: requestIdParams },
    },
    async (req, reply) => send(reply, await placement.release(req.params.requestId)),
  );
}
