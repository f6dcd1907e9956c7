// The collector's HTTP API (fastify): health, hosts, instances. JSON errors with
// the right status, never a stack trace; request params/query checked by schema.
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from '../common/index.js';
import { registerAlertingRoutes, registerAlertmanagerV2Routes, type Alerting } from './alerting/index.js';
import type { ListenAddress } from './config.js';
import { MEASUREMENTS } from '../proto/index.js';
import { AGGREGATES, type Aggregate, type MetricSink, type PointQuery } from './sink.js';
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
          properties: {
            measurement: text,
            from: text,
            to: text,
            limit: { type: 'integer', minimum: 1, maximum: MAX_QUERY_POINTS },
            fields: text,
            step: text,
            agg: text,
            sum: { type: 'string', maxLength: 1024 },
          },
          additionalProperties: text,
        },
      },
    },
    async (req, reply) => {
      const parsed = parsePointQuery(req.query);
      if (typeof parsed === 'string') return reply.code(400).send({ error: 'invalid request', message: parsed });
      try {
        const points = await sink.query(parsed);
        const step = parsed.stepMs === undefined ? {} : { stepMs: parsed.stepMs, agg: parsed.agg };
        return { measurement: parsed.measurement, sink: sink.kind, ...step, truncated: points.length >= parsed.limit!, points };
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
/** Buckets per series a step query may span ((to - from) / step): a chart needs far fewer. */
export const MAX_STEP_BUCKETS = 10_000;

/** "60s", "5m", "1h", "1d", "500ms" or a number of milliseconds; undefined when not one. */
function stepMs(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) return undefined;
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * mult);
}

/** The query string of /api/v1/query as a PointQuery, or the message saying what is wrong. */
export function parsePointQuery(q: Record<string, string | number>, now = Date.now()): PointQuery | string {
  const { measurement, from, to, limit, fields, step, agg, sum, ...tags } = q;
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
  if (fields !== undefined) {
    const list = String(fields).split(',').filter(Boolean);
    const bad = list.find((f) => !/^\w+$/.test(f) || (def.otherNumericFields === 'drop' && !(f in def.fields)));
    if (bad !== undefined || list.length === 0) return `fields: ${JSON.stringify(bad ?? fields)} is not a field of ${def.name}`;
    out.fields = list;
  }
  if (agg !== undefined && step === undefined) return 'agg: only with step';
  if (sum !== undefined) {
    if (step === undefined) return 'sum: only with step';
    const by = String(sum).split(',').filter(Boolean);
    const bad = by.find((t) => !def.tags.includes(t));
    if (bad !== undefined) return `sum: ${JSON.stringify(bad)} is not a tag of ${def.name} (tags: ${def.tags.join(', ')})`;
    out.sumBy = by;
  }
  if (step !== undefined) {
    const ms = stepMs(String(step));
    if (ms === undefined || ms < 1000)
      return `step: must be a duration of at least 1s like 60s, 5m, 1h or milliseconds (got ${JSON.stringify(step)})`;
    if (out.from === undefined) return 'from: required with step';
    const buckets = Math.ceil(((out.to ?? now) - out.from + 1) / ms);
    if (buckets > MAX_STEP_BUCKETS)
      return `step: ${String(step)} makes ${buckets} buckets per series from ${out.from} to ${out.to ?? now}; at most ${MAX_STEP_BUCKETS} (use a step of at least ${Math.ceil(((out.to ?? now) - out.from + 1) / MAX_STEP_BUCKETS / 1000)}s)`;
    if (agg !== undefined && !(AGGREGATES as readonly string[]).includes(String(agg)))
      return `agg: must be one of ${AGGREGATES.join(', ')} (got ${JSON.stringify(agg)})`;
    out.stepMs = ms;
    out.agg = (agg ?? 'mean') as Aggregate;
    if (limit === undefined) out.limit = MAX_QUERY_POINTS;
  }
  return out;
}

/** Starts listening; returns the base URL (http://host:port). */
export async function listenApi(app: FastifyInstance, listen: ListenAddress): Promise<string> {
  await app.listen({ host: listen.host, port: listen.port });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return `${'setSecureContext' in app.server ? 'https' : 'http'}://${host}:${addr.port}`;
}
