// The collector's HTTP API (fastify): health, hosts, instances. JSON errors with
// the right status, never a stack trace; request params/query checked by schema.
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from '../common/index.js';
import { registerAlertingRoutes, registerAlertmanagerV2Routes, type Alerting } from './alerting/index.js';
import type { ListenAddress } from './config.js';
import { MEASUREMENTS } from '../proto/index.js';
import type { MetricSink, PointQuery } from './sink.js';
import type { FleetState } from './state.js';
import { registerPersistenceRoutes, type PersistenceViews } from './persistence-view.js';
import { registerGuardRoutes, type GuardViews } from './guard-view.js';
import { registerFailoverRoutes, type FailoverTracker } from './failover/index.js';
import { registerPlacementRoutes, type Placement } from './placement/index.js';
import { registerProxyRoutes, type ProxyViews } from './proxy-view.js';
import { registerCodisRoutes, type CodisViews } from './codis-view.js';
import { registerConsoleRoutes } from './console/index.js';
import { registerAccess, type ApiTokens, type AuditStore } from './access/index.js';
import { hostView, instanceStatus, instanceView } from './views.js';
import type { StorageWatch } from './storage-watch.js';
import { registerMetricsRoute } from './metrics.js';
import type { Registry } from 'prom-client';

export interface ApiDeps {
  state: FleetState;
  sink: MetricSink;
  logger: Logger;
  persistence: PersistenceViews;
  proxies: ProxyViews;
  guard: GuardViews;
  alerting?: Alerting;
  placement?: Placement;
  access: { tokens: ApiTokens; audit: AuditStore };
  codis?: CodisViews;
  storage?: StorageWatch;
  failovers?: FailoverTracker;
  /** A cluster member (collector/cluster/): its view on /healthz and /api/v1/cluster. */
  cluster?: { view(): { leader: boolean } };
  /** The collector's own health for Prometheus (GET /metrics, collector/metrics.ts). */
  metrics?: Registry;
}

const text = { type: 'string', minLength: 1, maxLength: 512 } as const;

interface InstancesQuery {
  host?: string;
  cluster?: string;
  role?: string;
  status?: 'up' | 'down' | 'host_down';
}

export function buildApi(
  { state, sink, logger, persistence, proxies, guard, alerting, placement, access, codis, storage, failovers, cluster, metrics }: ApiDeps,
  server: { https?: SecureContextOptions } = {},
): FastifyInstance {
  const app = (Fastify as unknown as (o: object) => FastifyInstance)({
    // HTTPS (http.tls): the certificate is swapped in place on rotation (see api-tls.ts).
    ...(server.https ? { https: server.https } : {}),
    // warn and above only: request/response lines are info and not wanted here.
    loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as unknown as FastifyBaseLogger,
    // Unknown query parameters are errors (a typo in a filter must not silently match everything).
    ajv: { customOptions: { removeAdditional: false } },
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      return reply.code(400).send({
        error: 'invalid request',
        message: `${err.validationContext ?? 'request'}${err.message.replace(/^(querystring|params|body)/, '')}`,
      });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ error: err.message, url: req.url }, 'request failed');
    return reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not found', method: req.method, path: req.url.split('?')[0] }));
  // Before any route: every /api route needs a token (collector/access/hook.ts).
  registerAccess(app, { ...access, logger });

  app.get('/healthz', async () => ({
    status: 'ok',
    // degraded (still HTTP 200): spooling, no room (agents buffer), or points dropped lately.
    ...storage?.health(),
    sink: sink.kind,
    sinkQueue: sink.queueLength(),
    sinkStats: sink.stats(),
    hosts: state.hostCount,
    ...(cluster ? { leader: cluster.view().leader, cluster: cluster.view() } : {}),
  }));

  app.get('/api/v1/cluster', async (_req, reply) =>
    cluster ? cluster.view() : reply.code(404).send({ error: 'not a cluster member', message: 'this collector has no cluster section' }),
  );

  app.get('/api/v1/hosts', async () => {
    const now = Date.now();
    return {
      hosts: state
        .allHosts()
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((h) => hostView(state, h, now)),
    };
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/hosts/:id',
    {
      schema: { params: { type: 'object', properties: { id: text }, required: ['id'] } },
    },
    async (req, reply) => {
      const h = state.host(req.params.id);
      if (!h) return reply.code(404).send({ error: 'host not found', id: req.params.id });
      return {
        ...hostView(state, h),
        persistence: persistence.hostBlock(h.id),
        guard: guard.hostBlock(h.id),
        codis: codis?.hostBlock(h.id) ?? null,
      };
    },
  );

  app.get<{ Querystring: InstancesQuery }>(
    '/api/v1/instances',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { host: text, cluster: text, role: text, status: { type: 'string', enum: ['up', 'down', 'host_down'] } },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const now = Date.now();
      const out = [];
      for (const i of state.allInstances()) {
        if (q.host !== undefined && i.host !== q.host) continue;
        if (q.cluster !== undefined && i.sample.cluster !== q.cluster) continue;
        if (q.role !== undefined && (!i.sample.up || i.sample.role !== q.role)) continue;
        if (q.status !== undefined && instanceStatus(state, i, now) !== q.status) continue;
        out.push(instanceView(state, i, now));
      }
      out.sort((a, b) => a.id.localeCompare(b.id));
      return { instances: out };
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/query',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['measurement'],
          properties: { measurement: text, from: text, to: text, limit: { type: 'integer', minimum: 1, maximum: MAX_QUERY_POINTS } },
          additionalProperties: text,
        },
      },
    },
    async (req, reply) => {
      const parsed = parsePointQuery(req.query);
      if (typeof parsed === 'string') return reply.code(400).send({ error: 'invalid request', message: parsed });
      try {
        return { measurement: parsed.measurement, sink: sink.kind, points: await sink.query(parsed) };
      } catch (err) {
        req.log.warn({ error: (err as Error).message }, 'history query failed');
        return reply.code(502).send({ error: 'history store unavailable', message: (err as Error).message });
      }
    },
  );

  registerPersistenceRoutes(app, { state, views: persistence });
  registerProxyRoutes(app, { state, views: proxies });
  registerGuardRoutes(app, { state, views: guard });
  if (codis) registerCodisRoutes(app, { state, views: codis });
  if (alerting) registerAlertingRoutes(app, alerting);
  if (alerting) registerAlertmanagerV2Routes(app, alerting);
  if (placement) registerPlacementRoutes(app, placement);
  if (failovers) registerFailoverRoutes(app, failovers);
  if (metrics) registerMetricsRoute(app, metrics);
  registerConsoleRoutes(app);

  return app;
}

const MAX_QUERY_POINTS = 100_000;

/** The query string of /api/v1/query as a PointQuery, or the message saying what is wrong. */
function parsePointQuery(q: Record<string, string | number>): PointQuery | string {
  const { measurement, from, to, limit, ...tags } = q;
  const def = MEASUREMENTS[String(measurement)];
  if (!def) return `measurement: unknown measurement ${JSON.stringify(measurement)} (known: ${Object.keys(MEASUREMENTS).join(', ')})`;
  for (const k of Object.keys(tags)) {
    if (!def.tags.includes(k)) return `${k}: not a tag of ${def.name} (tags: ${def.tags.join(', ')})`;
  }
  const out: PointQuery = {
    measurement: def.name,
    tags: tags as Record<string, string>,
    limit: limit === undefined ? 1000 : Number(limit),
  };
  for (const [key, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (value === undefined) continue;
    const ms = /^\d+$/.test(String(value)) ? Number(value) : Date.parse(String(value));
    if (!Number.isFinite(ms)) return `${key}: must be unix milliseconds or an ISO 8601 time (got ${JSON.stringify(value)})`;
    out[key] = ms;
  }
  if (out.from !== undefined && out.to !== undefined && out.from > out.to) return 'from: must not be after to';
  return out;
}

/** Starts listening; returns the base URL (http://host:port). */
export async function listenApi(app: FastifyInstance, listen: ListenAddress): Promise<string> {
  await app.listen({ host: listen.host, port: listen.port });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return `${'setSecureContext' in app.server ? 'https' : 'http'}://${host}:${addr.port}`;
}
