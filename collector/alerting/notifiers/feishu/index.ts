// Feishu / Lark custom bot: interactive card; signed when a secret is set, with the
// signature in the body: sign = base64(HmacSHA256(key = timestamp_s + "\n" + secret, msg = "")).
// 100/min (and 5/s) per bot; `code` != 0 in a 200 answer is a failure (11232 = throttled: retried).
import { createHmac } from 'node:crypto';
import type { Notification } from '../../types.js';
import { checkBodyCode, postJson, readOptionalSecret, readUrl, secretProps } from '../http.js';
import { body, title } from '../text.js';
import type { NotifierKind, SendContext } from '../types.js';

export function feishuSign(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

export function feishuBody(n: Notification, secret: string | undefined, nowMs: number): Record<string, unknown> {
  const card = {
    msg_type: 'interactive',
    card: {
      header: { title: { tag: 'plain_text', content: title(n) }, template: n.status === 'firing' ? 'red' : 'green' },
      elements: [{ tag: 'div', text: { tag: 'lark_md', content: body(n, true, 18_000).replace(/^### .*\n?/, '') } }],
    },
  };
  if (!secret) return card;
  const timestamp = Math.floor(nowMs / 1000);
  return { timestamp: String(timestamp), sign: feishuSign(secret, timestamp), ...card };
}

export const feishu: NotifierKind = {
  kind: 'feishu',
  schema: { properties: { ...secretProps('url'), ...secretProps('secret') } },
  defaults: { sendResolved: true, ratePerMinute: 100, mergeable: true },
  create(c) {
    const url = readUrl(c);
    const secret = readOptionalSecret(c, 'secret');
    return {
      async send(n: Notification, ctx: SendContext) {
        const r = await postJson(url, JSON.stringify(feishuBody(n, secret, ctx.now)), { timeoutMs: ctx.timeoutMs });
        checkBodyCode(r, 'code', [11232], url);
      },
    };
  },
};
