// PagerDuty Events API v2: trigger / resolve with dedup_key = sha256(groupKey) hex, as
// Alertmanager does, so a group is one PagerDuty alert. 202 accepted; 429 and 5xx retried.
import { createHash } from 'node:crypto';
import { ConfigError } from '../../../../common/index.js';
import type { Notification } from '../../types.js';
import { postJson, readOptionalSecret, secretProps } from '../http.js';
import { body, title } from '../text.js';
import type { NotifierKind, SendContext } from '../types.js';

const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

export function pagerdutyEvent(n: Notification, routingKey: string, client: string): Record<string, unknown> {
  const dedupKey = createHash('sha256').update(n.groupKey).digest('hex');
  if (n.status === 'resolved') return { routing_key: routingKey, dedup_key: dedupKey, event_action: 'resolve' };
  const sev = n.commonLabels.severity === 'page' ? 'critical' : (n.commonLabels.severity ?? 'error');
  const first = n.alerts[0]?.labels ?? {};
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: title(n).slice(0, 1024),
      source: first.instance ?? first.host ?? first.proxy ?? 'redis-fleet',
      severity: SEVERITIES.has(sev) ? sev : 'error',
      timestamp: n.alerts[0]?.startsAt,
      component: 'redis',
      group: n.commonLabels.cluster,
      class: n.commonLabels.alertname,
      custom_details: {
        firing: body(n, false, 10_000),
        groupLabels: n.groupLabels,
        numFiring: n.alerts.filter((a) => a.status === 'firing').length,
      },
    },
    client,
    client_url: n.externalURL ? `${n.externalURL}/api/v1/alerts` : undefined,
  };
}

export const pagerduty: NotifierKind = {
  kind: 'pagerduty',
  schema: {
    properties: {
      ...secretProps('routingKey'),
      url: { type: 'string', default: 'https://events.pagerduty.com/v2/enqueue' },
      client: { type: 'string', default: 'redis-fleet' },
    },
  },
  defaults: { sendResolved: true, ratePerMinute: 120, mergeable: false },
  create(c) {
    const routingKey = readOptionalSecret(c, 'routingKey');
    if (!routingKey) throw new ConfigError('routingKey', 'is required (routingKey, routingKeyFile or routingKeyEnv)');
    const url = c.url as string;
    return {
      async send(n: Notification, ctx: SendContext) {
        await postJson(url, JSON.stringify(pagerdutyEvent(n, routingKey, c.client as string)), { timeoutMs: ctx.timeoutMs });
      },
    };
  },
};
