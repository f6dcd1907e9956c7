// Forward to an Alertmanager (POST /api/v2/alerts) for teams that already route through
// it. Firing alerts carry endsAt = now + validFor (AM resolves them by itself only if we
// never say so); resolved ones carry their real endsAt, delivered through the outbox.
import type { Notification } from '../../types.js';
import { postJson, readOptionalSecret, readUrl, secretProps } from '../http.js';
import { parseDuration } from '../../../../common/index.js';
import type { NotifierKind, SendContext } from '../types.js';

export function alertmanagerAlerts(n: Notification, nowMs: number, validForMs: number): Record<string, unknown>[] {
  return n.alerts.map((a) => ({
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.status === 'resolved' ? a.endsAt : new Date(nowMs + validForMs).toISOString(),
    generatorURL: a.generatorURL,
  }));
}

export const alertmanager: NotifierKind = {
  kind: 'alertmanager',
  schema: {
    properties: { ...secretProps('url'), ...secretProps('bearerToken'), validFor: { type: ['string', 'number'], default: '24h' } },
  },
  defaults: { sendResolved: true, mergeable: false },
  create(c) {
    const base = readUrl(c).replace(/\/+$/, '');
    const token = readOptionalSecret(c, 'bearerToken');
    const validForMs = parseDuration(c.validFor, 'validFor');
    return {
      async send(n: Notification, ctx: SendContext) {
        await postJson(`${base}/api/v2/alerts`, JSON.stringify(alertmanagerAlerts(n, ctx.now, validForMs)), {
          timeoutMs: ctx.timeoutMs,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
      },
    };
  },
};
