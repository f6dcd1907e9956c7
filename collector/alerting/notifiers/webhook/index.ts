// Generic webhook: the Alertmanager v4 message (existing DingTalk/WeCom/Feishu bridges
// and any AM webhook receiver work unchanged), signed per Standard Webhooks when a
// secret is set: webhook-id / webhook-timestamp / webhook-signature: v1,<base64 HMAC-SHA256(id.ts.body)>.
import { createHmac } from 'node:crypto';
import type { Notification } from '../../types.js';
import { postJson, readOptionalSecret, readUrl, secretProps } from '../http.js';
import type { NotifierKind, SendContext } from '../types.js';

/** The Alertmanager webhook v4 body (plus notification_reason, as AM v0.33+). */
export function alertmanagerV4Body(n: Notification): Record<string, unknown> {
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.truncatedAlerts,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalURL,
    notification_reason: n.reason,
    alerts: n.alerts,
  };
}

/** Standard Webhooks signature header value for one secret (`whsec_<base64>` or raw text). */
export function standardWebhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export const webhook: NotifierKind = {
  kind: 'webhook',
  schema: {
    properties: {
      ...secretProps('url'),
      ...secretProps('secret'),
      maxAlerts: { type: 'integer', minimum: 0, default: 0 },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  defaults: { sendResolved: true, mergeable: false },
  create(c) {
    const url = readUrl(c);
    const secret = readOptionalSecret(c, 'secret');
    const maxAlerts = c.maxAlerts as number;
    const headers = (c.headers as Record<string, string> | undefined) ?? {};
    return {
      async send(n: Notification, ctx: SendContext) {
        let msg = n;
        if (maxAlerts > 0 && n.alerts.length > maxAlerts)
          msg = { ...n, alerts: n.alerts.slice(0, maxAlerts), truncatedAlerts: n.alerts.length - maxAlerts };
        const body = JSON.stringify(alertmanagerV4Body(msg));
        const h: Record<string, string> = { ...headers };
        if (secret) {
          const ts = Math.floor(ctx.now / 1000);
          h['webhook-id'] = ctx.id;
          h['webhook-timestamp'] = String(ts);
          h['webhook-signature'] = standardWebhookSignature(secret, ctx.id, ts, body);
        }
        await postJson(url, body, { timeoutMs: ctx.timeoutMs, headers: h });
      },
    };
  },
};
