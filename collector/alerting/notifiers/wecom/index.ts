// WeCom (企业微信) group robot: markdown ≤ 4096 bytes; the key in the URL is the only
// credential (no signing). 20 messages/min; errcode != 0 is a failure (45009 = too fast: retried).
import type { Notification } from '../../types.js';
import { checkBodyCode, postJson, readUrl, secretProps } from '../http.js';
import { body } from '../text.js';
import type { NotifierKind, SendContext } from '../types.js';

export function wecomBody(n: Notification, mentions: string[]): Record<string, unknown> {
  const tail = mentions.length ? `\n${mentions.map((m) => `<@${m}>`).join(' ')}` : '';
  return { msgtype: 'markdown', markdown: { content: body(n, true, 4096 - Buffer.byteLength(tail, 'utf8')) + tail } };
}

export const wecom: NotifierKind = {
  kind: 'wecom',
  schema: { properties: { ...secretProps('url'), mentions: { type: 'array', items: { type: 'string' }, default: [] } } },
  defaults: { sendResolved: true, ratePerMinute: 20, mergeable: true },
  create(c) {
    const url = readUrl(c);
    const mentions = c.mentions as string[];
    return {
      async send(n: Notification, ctx: SendContext) {
        const r = await postJson(url, JSON.stringify(wecomBody(n, mentions)), { timeoutMs: ctx.timeoutMs });
        checkBodyCode(r, 'errcode', [45009], url);
      },
    };
  },
};
