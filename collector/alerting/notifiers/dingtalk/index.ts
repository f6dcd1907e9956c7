// DingTalk custom robot: markdown message; signed when a secret (SEC…) is set:
// sign = base64(HmacSHA256(key = secret, msg = timestamp_ms + "\n" + secret)) in the URL.
// 20 messages/min per robot; HTTP 200 with errcode != 0 is a failure (130101 = too fast: retried).
import { createHmac } from 'node:crypto';
import type { Notification } from '../../types.js';
import { checkBodyCode, postJson, readOptionalSecret, readUrl, secretProps } from '../http.js';
import { body, title } from '../text.js';
import type { NotifierKind, SendContext } from '../types.js';

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

export function dingtalkUrl(webhook: string, secret: string | undefined, nowMs: number): string {
  if (!secret) return webhook;
  const u = new URL(webhook);
  u.searchParams.set('timestamp', String(nowMs));
  u.searchParams.set('sign', dingtalkSign(secret, nowMs));
  return u.toString();
}

export function dingtalkBody(n: Notification, atMobiles: string[]): Record<string, unknown> {
  const mention = atMobiles.length ? `\n\n${atMobiles.map((m) => `@${m}`).join(' ')}` : '';
  return { msgtype: 'markdown', markdown: { title: title(n), text: body(n, true, 18_000) + mention }, at: { atMobiles, isAtAll: false } };
}

export const dingtalk: NotifierKind = {
  kind: 'dingtalk',
  schema: {
    properties: { ...secretProps('url'), ...secretProps('secret'), atMobiles: { type: 'array', items: { type: 'string' }, default: [] } },
  },
  defaults: { sendResolved: true, ratePerMinute: 20, mergeable: true },
  create(c) {
    const url = readUrl(c);
    const secret = readOptionalSecret(c, 'secret');
    const atMobiles = c.atMobiles as string[];
    return {
      async send(n: Notification, ctx: SendContext) {
        const r = await postJson(dingtalkUrl(url, secret, ctx.now), JSON.stringify(dingtalkBody(n, atMobiles)), {
          timeoutMs: ctx.timeoutMs,
        });
        checkBodyCode(r, 'errcode', [130101, 90030], url);
      },
    };
  },
};
