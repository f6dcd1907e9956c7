// The notifier registry: one line per kind. A receiver's `<kind>: [...]` entries are
// validated with the kind's schema and built by its factory.
import type { NotifierKind } from './types.js';
import { webhook } from './webhook/index.js';
import { slack } from './slack/index.js';
import { pagerduty } from './pagerduty/index.js';
import { dingtalk } from './dingtalk/index.js';
import { wecom } from './wecom/index.js';
import { feishu } from './feishu/index.js';
import { alertmanager } from './alertmanager/index.js';

export const NOTIFIERS: Record<string, NotifierKind> = Object.fromEntries(
  [webhook, slack, pagerduty, dingtalk, wecom, feishu, alertmanager].map((k) => [k.kind, k]),
);

export { DeliveryError, type Notifier, type NotifierKind, type SendContext } from './types.js';
export { standardWebhookSignature, alertmanagerV4Body } from './webhook/index.js';
export { dingtalkSign } from './dingtalk/index.js';
export { feishuSign } from './feishu/index.js';
