// Alertmanager API v2 paths over the alerting module, so `amtool` works against the collector
// (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml): thin adapters
// onto the silences and alerts the v1 routes serve.
import type { FastifyInstance } from 'fastify';
import { COLLECTOR_VERSION } from '../version.js';
import { POSTABLE_SILENCE, silenceSummary, text, upsertSilence } from './api.js';
import { matchRoutes } from './dispatch/index.js';
import type { RouteConfig } from './config.js';
import type { Alerting } from './engine.js';
import { compileMatchers, parseMatcher, type CompiledMatchers } from './labels.js';
import { silenceView, type PostableSilence } from './silences/index.js';
import type { Labels } from './types.js';

/** Alertmanager's "no end yet" time, as the notifiers send it. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
const STARTED_AT = new Date().toISOString();

const filterSchema = { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 1024 } } as const;

/** `filter` matchers (`name="value"`, `name=~re`, …) → a label-set test, or the problem. */
function filterOf(filter: string[] | undefined): CompiledMatchers | string {
  try {
    return compileMatchers((filter ?? []).map((f) => parseMatcher(f)));
  } catch (err) {
    return (err as Error).message;
  }
}

/** Alertmanager's silence filter: every filter matcher matches the silence's equality matchers taken as labels. */
function silenceLabels(matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[]): Labels {
  const out: Labels = {};
  for (const m of matchers) if (!m.isRegex && m.isEqual) out[m.name] = m.value;
  return out;
}

interface AlertsQuery {
  filter?: string[];
  active?: boolean;
  silenced?: boolean;
  inhibited?: boolean;
  unprocessed?: boolean;
  receiver?: string;
}

export function registerAlertmanagerV2Routes(app: FastifyInstance, alerting: Alerting): void {
  app.get<{ Querystring: { filter?: string[] } }>(
    '/api/v2/silences',
    {
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { filter: filterSchema } } },
    },
    async (req, reply) => {
      const match = filterOf(req.query.filter);
      if (typeof match === 'string') return reply.code(400).send({ error: 'invalid filter', message: match });
      return alerting.silences
        .list()
        .filter((s) => match(silenceLabels(s.matchers)))
        .map((s) => silenceView(s));
    },
  );

  app.post<{ Body: PostableSilence }>(
    '/api/v2/silences',
    {
      config: { access: 'operator', audit: (req) => silenceSummary(req.body as PostableSilence) },
      schema: { body: POSTABLE_SILENCE },
    },
    async (req, reply) => upsertSilence(alerting, req.body, reply),
  );

  const idParams = { type: 'object', properties: { id: text }, required: ['id'] } as const;
  app.get<{ Params: { id: string } }>('/api/v2/silence/:id', { schema: { params: idParams } }, async (req, reply) => {
    const s = alerting.silences.get(req.params.id);
    return s ? silenceView(s) : reply.code(404).send({ error: 'silence not found', id: req.params.id });
  });

  app.delete<{ Params: { id: string } }>(
    '/api/v2/silence/:id',
    {
      config: { access: 'operator', audit: (req) => `silence ${(req.params as { id: string }).id}` },
      schema: { params: idParams },
    },
    async (req, reply) =>
      alerting.silences.expire(req.params.id)
        ? reply.code(200).send()
        : reply.code(404).send({ error: 'silence not found', id: req.params.id }),
  );

  const alertsQuery = {
    type: 'object',
    additionalProperties: false,
    properties: {
      filter: filterSchema,
      active: { type: 'boolean' },
      silenced: { type: 'boolean' },
      inhibited: { type: 'boolean' },
      unprocessed: { type: 'boolean' },
      receiver: { type: 'string', maxLength: 1024 },
    },
  } as const;

  interface Matched {
    alert: Record<string, unknown> & { labels: Labels; startsAt: string };
    /** The routes the alert's labels match (its receivers, and for groups their groupBy). */
    routes: RouteConfig[];
  }

  /**
   * Firing alerts in AM's GettableAlert shape with the routes they match, filtered as AM does;
   * a string is the problem with the query.
   */
  const gettableAlerts = (q: AlertsQuery): { matched: Matched[]; receiver: RegExp | undefined } | string => {
    const match = filterOf(q.filter);
    if (typeof match === 'string') return match;
    let receiver: RegExp | undefined;
    try {
      receiver = q.receiver ? new RegExp(`^(?:${q.receiver})$`) : undefined;
    } catch (err) {
      return `receiver: bad regex: ${(err as Error).message}`;
    }
    const now = Date.now();
    const out: Matched[] = [];
    for (const a of alerting.alerts.firing()) {
      if (!match(a.labels)) continue;
      const routes = matchRoutes(alerting.config.route, a.labels);
      const receivers = [...new Set(routes.map((r) => r.receiver))];
      if (receiver && !receivers.some((r) => receiver.test(r))) continue;
      const mute = alerting.dispatcher.muteState(a, now);
      const state = mute.silencedBy.length || mute.inhibitedBy.length ? 'suppressed' : 'active';
      if (state === 'active' && q.active === false) continue;
      if (mute.silencedBy.length && q.silenced === false) continue;
      if (mute.inhibitedBy.length && q.inhibited === false) continue;
      const alert = {
        labels: a.labels,
        annotations: a.annotations,
        fingerprint: a.fingerprint,
        generatorURL: '',
        startsAt: new Date(a.startsAt).toISOString(),
        endsAt: ZERO_TIME,
        updatedAt: new Date(a.updatedAt).toISOString(),
        status: { state, ...mute },
        receivers: receivers.map((name) => ({ name })),
      };
      out.push({ alert, routes });
    }
    out.sort((x, y) => x.alert.startsAt.localeCompare(y.alert.startsAt));
    return { matched: out, receiver };
  };

  app.get<{ Querystring: AlertsQuery }>('/api/v2/alerts', { schema: { querystring: alertsQuery } }, async (req, reply) => {
    const found = gettableAlerts(req.query);
    return typeof found === 'string' ? reply.code(400).send({ error: 'invalid query', message: found }) : found.matched.map((m) => m.alert);
  });

  // AM's AlertGroups: one group per (route, values of the route's group_by labels), as dispatch groups them.
  app.get<{ Querystring: AlertsQuery }>('/api/v2/alerts/groups', { schema: { querystring: alertsQuery } }, async (req, reply) => {
    const found = gettableAlerts(req.query);
    if (typeof found === 'string') return reply.code(400).send({ error: 'invalid query', message: found });
    const { matched, receiver } = found;
    const groups = new Map<string, { labels: Labels; receiver: { name: string }; alerts: Record<string, unknown>[] }>();
    for (const { alert: a, routes } of matched) {
      const labels = a.labels;
      for (const route of routes) {
        if (receiver && !receiver.test(route.receiver)) continue;
        const groupLabels: Labels = {};
        const names = route.groupBy === 'all' ? Object.keys(labels) : route.groupBy;
        for (const n of [...names].sort()) if (labels[n] !== undefined) groupLabels[n] = labels[n];
        const key = `${route.receiver}\u0000${JSON.stringify(groupLabels)}`;
        const g = groups.get(key) ?? { labels: groupLabels, receiver: { name: route.receiver }, alerts: [] };
        if (!g.alerts.includes(a)) g.alerts.push(a);
        groups.set(key, g);
      }
    }
    return [...groups.values()];
  });

  app.get('/api/v2/status', async () => ({
    cluster: { status: 'disabled', peers: [] },
    config: { original: '' },
    uptime: STARTED_AT,
    versionInfo: { version: COLLECTOR_VERSION, branch: '', revision: '', buildUser: '', buildDate: '', goVersion: '' },
  }));
}
