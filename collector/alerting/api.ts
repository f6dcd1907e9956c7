// HTTP routes of the alerting module (registered by collector/api.ts):
// alerts (+history, ack), silences (Alertmanager v2 shape), rules (+reload).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Alerting } from './engine.js';
import { silenceView, SilenceError, type PostableSilence } from './silences/index.js';

export const text = { type: 'string', minLength: 1, maxLength: 512 } as const;
const time = { type: 'string', minLength: 1, maxLength: 64 } as const;

function parseTime(v: string | undefined, key: string): number | undefined | string {
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(ms) ? ms : `${key}: must be unix milliseconds or an ISO 8601 time (got ${JSON.stringify(v)})`;
}

/** "silence abc: alertname=X,instance=~a.*" for the audit log. */
export function silenceSummary(b: PostableSilence | undefined): string {
  if (!b?.matchers) return 'silence';
  const matchers = b.matchers.map((m) => `${m.name}${m.isEqual === false ? '!' : ''}${m.isRegex ? '=~' : '='}${m.value}`).join(',');
  return `silence ${b.id ? `${b.id} ` : ''}${matchers} until ${b.endsAt}`;
}

/** Alertmanager's PostableSilence (v1 and v2 routes). */
export const POSTABLE_SILENCE = {
  type: 'object',
  additionalProperties: false,
  required: ['matchers', 'startsAt', 'endsAt', 'createdBy', 'comment'],
  properties: {
    id: text,
    matchers: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'value', 'isRegex'],
        properties: { name: text, value: { type: 'string', maxLength: 1024 }, isRegex: { type: 'boolean' }, isEqual: { type: 'boolean' } },
      },
    },
    startsAt: time,
    endsAt: time,
    createdBy: text,
    comment: { type: 'string', maxLength: 2000 },
  },
} as const;

/** Creates or updates a silence → `{silenceID}`; 400/404 naming the problem. */
export function upsertSilence(alerting: Alerting, body: PostableSilence, reply: FastifyReply): { silenceID: string } | FastifyReply {
  try {
    return { silenceID: alerting.silences.upsert(body).id };
  } catch (err) {
    if (err instanceof SilenceError)
      return reply.code(err.status).send({ error: err.status === 404 ? 'silence not found' : 'invalid silence', message: err.message });
    throw err;
  }
}

export function registerAlertingRoutes(app: FastifyInstance, alerting: Alerting): void {
  app.get<{ Querystring: { state?: string; alertname?: string; fingerprint?: string } }>(
    '/api/v1/alerts',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { type: 'string', enum: ['pending', 'firing', 'resolved'] }, alertname: text, fingerprint: text },
        },
      },
    },
    async (req) => {
      const now = Date.now();
      const q = req.query;
      const alerts = alerting.alerts
        .all()
        .filter(
          (a) =>
            (q.state === undefined || a.state === q.state) &&
            (q.alertname === undefined || a.labels.alertname === q.alertname) &&
            (q.fingerprint === undefined || a.fingerprint === q.fingerprint),
        )
        .sort((a, b) => (b.startsAt || b.activeAt) - (a.startsAt || a.activeAt))
        .map((a) => alerting.alertView(a, now));
      return { alerts };
    },
  );

  app.get<{ Querystring: { fingerprint?: string; alertname?: string; from?: string; to?: string; limit?: number } }>(
    '/api/v1/alerts/history',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { fingerprint: text, alertname: text, from: time, to: time, limit: { type: 'integer', minimum: 1, maximum: 10_000 } },
        },
      },
    },
    async (req, reply) => {
      const from = parseTime(req.query.from, 'from');
      const to = parseTime(req.query.to, 'to');
      for (const t of [from, to]) if (typeof t === 'string') return reply.code(400).send({ error: 'invalid request', message: t });
      const entries = alerting.history({
        fingerprint: req.query.fingerprint,
        alertname: req.query.alertname,
        from: from as number | undefined,
        to: to as number | undefined,
        limit: req.query.limit ?? 1000,
      });
      return { history: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })) };
    },
  );

  app.post<{ Params: { id: string }; Body: { by: string; comment?: string } }>(
    '/api/v1/alerts/:id/ack',
    {
      config: { access: 'operator', audit: (req) => `alert ${(req.params as { id: string }).id}` },
      schema: {
        params: { type: 'object', properties: { id: text }, required: ['id'] },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['by'],
          properties: { by: text, comment: { type: 'string', maxLength: 2000 } },
        },
      },
    },
    async (req, reply) => {
      const r = alerting.ack(req.params.id, { by: req.body.by, comment: req.body.comment ?? '' });
      if (r === 'not found') return reply.code(404).send({ error: 'alert not found', id: req.params.id });
      if (r === 'not firing') return reply.code(409).send({ error: 'only a firing alert can be acknowledged', id: req.params.id });
      return alerting.alertView(r);
    },
  );

  app.get('/api/v1/silences', async () => alerting.silences.list().map((s) => silenceView(s)));

  app.get<{ Params: { id: string } }>(
    '/api/v1/silences/:id',
    {
      schema: { params: { type: 'object', properties: { id: text }, required: ['id'] } },
    },
    async (req, reply) => {
      const s = alerting.silences.get(req.params.id);
      return s ? silenceView(s) : reply.code(404).send({ error: 'silence not found', id: req.params.id });
    },
  );

  app.post<{ Body: PostableSilence }>(
    '/api/v1/silences',
    {
      config: { access: 'operator', audit: (req) => silenceSummary(req.body as PostableSilence) },
      schema: { body: POSTABLE_SILENCE },
    },
    async (req, reply) => upsertSilence(alerting, req.body, reply),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/silences/:id',
    {
      config: { access: 'operator', audit: (req) => `silence ${(req.params as { id: string }).id}` },
      schema: { params: { type: 'object', properties: { id: text }, required: ['id'] } },
    },
    async (req, reply) => {
      const s = alerting.silences.expire(req.params.id);
      return s ? silenceView(s) : reply.code(404).send({ error: 'silence not found', id: req.params.id });
    },
  );

  app.get('/api/v1/rules', async () => ({
    rules: alerting.rulesView(),
    lastReload: { ...alerting.lastReload, at: new Date(alerting.lastReload.at).toISOString() },
  }));

  app.post('/api/v1/rules/reload', { config: { access: 'admin', audit: () => 'alert rules' } }, async (_req, reply) => {
    const r = alerting.reload();
    if (!r.ok) return reply.code(400).send({ error: 'rules refused; the previous rules keep running', message: r.error });
    return { status: 'reloaded', rules: r.rules };
  });
}
