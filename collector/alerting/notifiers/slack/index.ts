// Slack incoming webhook: `text` (the notification fallback) plus one mrkdwn section.
// The webhook URL is the secret. Slack answers 200 `ok`; errors are HTTP status + a text code.
import type { Notification } from '../../types.js';
import { postJson, readUrl, secretProps } from '../http.js';
import { body, title } from '../text.js';
import type { NotifierKind, SendContext } from '../types.js';

export function slackBody(n: Notification, channel?: string): Record<string, unknown> {
  // Slack mrkdwn: *bold*, no headings, no list syntax (the markdown body, converted).
  const text = body(n, true, 3000)
    .replace(/^### (.*)$/m, '*$1*')
    .replace(/\*\*/g, '*')
    .replace(/\n- /g, '\n• ');
  return {
    ...(channel ? { channel } : {}),
    text: title(n),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
  };
}

export const slack: NotifierKind = {
  kind: 'slack',
  schema: { properties: { ...secretProps('url'), channel: { type: 'string' } } },
  defaults: { sendResolved: false, ratePerMinute: 60, mergeable: true },
  create(c) {
    const url = readUrl(c);
    const channel = c.channel as string | undefined;
    return {
      async send(n: Notification, ctx: SendContext) {
        await postJson(url, JSON.stringify(slackBody(n, channel)), { timeoutMs: ctx.timeoutMs });
      },
    };
  },
};
