// Signatures checked against each vendor's documented test vector (reference §2), and
// the robots' "HTTP 200 with an error code" answer treated as a failure by a real
// DingTalk-shaped receiver on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dingtalkSign, feishuSign, standardWebhookSignature, NOTIFIERS } from '../collector/alerting/index.js';
import { receiver } from './alerting-support.js';

test('Standard Webhooks, DingTalk and Feishu signatures match the documented vectors', () => {
  assert.equal(
    standardWebhookSignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'),
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  );
  assert.equal(dingtalkSign('SECtest', 1599360473000), '9uMBwWNha8Pcr4QQCL9YQitwL0E0g2JIxycWz23gAkE=');
  assert.equal(feishuSign('demo', 1599360473), 'l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8=');
});

const note = {
  receiver: 'r',
  status: 'firing' as const,
  groupKey: '{}:{alertname="X"}',
  groupLabels: { alertname: 'X' },
  commonLabels: { alertname: 'X', severity: 'critical' },
  commonAnnotations: {},
  externalURL: '',
  reason: 'first notification',
  truncatedAlerts: 0,
  alerts: [
    {
      status: 'firing' as const,
      labels: { alertname: 'X', instance: '127.0.0.1:6379' },
      annotations: { summary: 's' },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: 'f',
    },
  ],
};

test('a DingTalk robot answering 200 with errcode != 0 is a failure; errcode 0 succeeds and the URL carries a valid sign', async (t) => {
  let answer = { status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' };
  const rx = await receiver(t, () => answer);
  const n = NOTIFIERS.dingtalk!.create({ url: `${rx.url}/robot/send?access_token=tok`, secret: 'SECabc', atMobiles: [] });
  await assert.rejects(
    n.send(note, { id: 'm1', now: Date.now(), timeoutMs: 2000 }),
    (e: Error & { retryable?: boolean }) => /errcode 310000/.test(e.message) && e.retryable === false,
  );
  answer = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
  await n.send(note, { id: 'm2', now: Date.now(), timeoutMs: 2000 });
  const u = new URL(rx.got.at(-1)!.path, rx.url);
  assert.equal(u.searchParams.get('sign'), dingtalkSign('SECabc', Number(u.searchParams.get('timestamp'))));
  assert.equal(rx.got.at(-1)!.body.msgtype, 'markdown');
  answer = { status: 429, body: '' };
  await assert.rejects(
    n.send(note, { id: 'm3', now: Date.now(), timeoutMs: 2000 }),
    (e: Error & { retryable?: boolean }) => e.retryable === true,
  );
});
