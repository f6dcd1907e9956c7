// The alerting engine in process (real SQLite store, real rules, real outbox and
// notifiers) fed with collector points, delivering to real HTTP receivers on loopback:
// label routing (severity/env/cluster, continue, child routes), inhibition (a silent
// host; a configured rule), per-channel rate limits folding notifications into one
// digest, receiver bodies for Slack / PagerDuty / WeCom / Feishu (signature verified
// with Feishu's documented algorithm), and the delivery outcomes: retries on 5xx and
// 429, other 4xx final, a robot's HTTP 200 with an error code a failure.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../common/index.js';
import { Alerting, resolveAlertingConfig } from '../collector/alerting/index.js';
import { Store } from '../collector/store.js';
import type { Point } from '../collector/points.js';
import { waitFor } from './harness/index.js';
import { receiver, type Received } from './alerting-support.js';

const RULES = [
  'rules:',
  '  - { name: Crit, measurement: redis, expr: connected_clients, op: ">", value: 100, where: [\'tier="crit"\'], labels: { severity: critical },',
  '      annotations: { summary: "{{ $labels.instance }} has {{ $value }} clients" } }',
  '  - { name: Warn, measurement: redis, expr: connected_clients, op: ">", value: 100, where: [\'tier="warn"\'], labels: { severity: warning },',
  '      annotations: { summary: "{{ $labels.instance }} has {{ $value }} clients" } }',
  '',
].join('\n');

async function engine(t: TestContext, config: Record<string, unknown>): Promise<Alerting> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-alerting-'));
  const rules = path.join(dir, 'rules.yaml');
  await fs.writeFile(rules, RULES);
  const store = Store.open(path.join(dir, 'collector.db'));
  const alerting = new Alerting(
    store,
    resolveAlertingConfig({ builtins: { enabled: false }, ruleFiles: [rules], ...config }),
    createLogger('test', 'silent'),
  );
  alerting.start();
  t.after(async () => {
    await alerting.close();
    store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return alerting;
}

/** A redis point with `clients` connected clients (> 100 makes Crit/Warn true on their tier). */
function redisPoint(tags: Record<string, string>, clients: number): Point {
  return { measurement: 'redis', tags: { role: 'master', ...tags }, fields: { connected_clients: clients }, time: Date.now() };
}

const hostEvent = (host: string, kind: 'host.down' | 'host.up'): Point => ({
  measurement: 'event',
  tags: { host, kind },
  fields: { message: kind, attrs: '{}' },
  time: Date.now(),
});

const fast = { groupWait: '50ms', groupInterval: '200ms' };
const instancesOf = (r: Received): string[] =>
  (r.body.alerts as { labels: Record<string, string> }[]).map((a) => a.labels.instance!).sort();

test('routing by labels: severity route with continue, env route with a cluster child route, the root as fallback', async (t) => {
  const rx = await receiver(t);
  const names = ['default', 'pager', 'prod', 'c1team'];
  const alerting = await engine(t, {
    route: {
      receiver: 'default',
      groupBy: ['...'],
      ...fast,
      routes: [
        { matchers: ['severity="critical"'], receiver: 'pager', continue: true },
        { matchers: ['env="prod"'], receiver: 'prod', routes: [{ matchers: ['cluster=~"c1|c9"'], receiver: 'c1team' }] },
      ],
    },
    receivers: names.map((n) => ({ name: n, webhook: [{ url: `${rx.url}/${n}` }] })),
  });
  alerting.onPoints([
    redisPoint({ host: 'h1', instance: 'i1', tier: 'crit', env: 'prod', cluster: 'c1' }, 500), // pager (continue) + c1team
    redisPoint({ host: 'h1', instance: 'i2', tier: 'warn', env: 'prod', cluster: 'c2' }, 500), // prod (no child matches)
    redisPoint({ host: 'h2', instance: 'i3', tier: 'warn', env: 'dev', cluster: 'c1' }, 500), // default
    redisPoint({ host: 'h2', instance: 'i4', tier: 'crit', env: 'dev', cluster: 'c3' }, 500), // pager only
    redisPoint({ host: 'h2', instance: 'i5', tier: 'warn', env: 'prod', cluster: 'c1' }, 50), // condition false: nowhere
  ]);
  await waitFor(() => rx.got.length >= 5 && alerting.store.outboxLength() === 0, { what: 'five deliveries' });
  const by = (n: string) =>
    rx.got
      .filter((r) => r.path === `/${n}`)
      .flatMap(instancesOf)
      .sort();
  assert.deepEqual(by('pager'), ['i1', 'i4']);
  assert.deepEqual(by('c1team'), ['i1']);
  assert.deepEqual(by('prod'), ['i2']);
  assert.deepEqual(by('default'), ['i3']);
  assert.equal(rx.got.length, 5);
  for (const r of rx.got) assert.equal(r.body.receiver, r.path.slice(1), 'the body names the receiver');
  const groupKeys = rx.got.filter((r) => r.path === '/c1team').map((r) => String(r.body.groupKey));
  assert.match(groupKeys[0]!, /\{env="prod"\}.*\{cluster=~"c1\|c9"\}/, `child route path in the group key: ${groupKeys[0]}`);
});

test("inhibition: a silent host mutes its instances' alerts until it reports again; a configured rule mutes warnings of the same cluster", async (t) => {
  const rx = await receiver(t);
  const alerting = await engine(t, {
    builtins: { enabled: true, disable: ['RedisClientsHigh'] },
    route: { receiver: 'ops', groupBy: ['alertname', 'host', 'instance'], ...fast },
    receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/ops` }] }],
    inhibitRules: [
      { name: 'crit-mutes-warn', sourceMatchers: ['alertname="Crit"'], targetMatchers: ['severity="warning"'], equal: ['cluster'] },
    ],
  });
  alerting.onPoints([hostEvent('h1', 'host.down')]);
  alerting.onPoints([
    redisPoint({ host: 'h1', instance: 'i1', tier: 'warn', cluster: 'a' }, 500), // muted by HostSilent(h1)
    redisPoint({ host: 'h2', instance: 'i2', tier: 'warn', cluster: 'a' }, 500), // notified
    redisPoint({ host: 'h3', instance: 'i3', tier: 'crit', cluster: 'b' }, 500), // notified: the source
    redisPoint({ host: 'h4', instance: 'i4', tier: 'warn', cluster: 'b' }, 500), // muted by Crit on cluster b
  ]);
  const notified = () =>
    rx.got
      .filter((r) => r.body.status === 'firing')
      .map((r) => `${r.body.commonLabels.alertname}:${r.body.commonLabels.instance ?? r.body.commonLabels.host}`)
      .sort();
  await waitFor(() => notified().length >= 3 && alerting.store.outboxLength() === 0, { what: 'the unmuted notifications' });
  assert.deepEqual(notified(), ['Crit:i3', 'HostSilent:h1', 'Warn:i2']);
  const view = (instance: string) => {
    const a = alerting.alerts.all().find((x) => x.labels.instance === instance)!;
    return alerting.alertView(a) as { state: string; status: { state: string; inhibitedBy: string[] } };
  };
  const hostSilent = alerting.alerts.all().find((a) => a.labels.alertname === 'HostSilent')!;
  assert.equal(view('i1').state, 'firing');
  assert.deepEqual(view('i1').status, { state: 'suppressed', silencedBy: [], inhibitedBy: [hostSilent.fingerprint] });
  assert.equal(view('i4').status.state, 'suppressed');
  assert.equal(view('i2').status.state, 'active');

  // The host reports again: HostSilent resolves and i1's still-firing alert is told at the next group interval.
  alerting.onPoints([hostEvent('h1', 'host.up')]);
  const late = await waitFor(() => rx.got.find((r) => r.body.status === 'firing' && r.body.commonLabels.instance === 'i1'), {
    what: 'i1 notified once h1 is back',
  });
  assert.equal(late.body.notification_reason, 'first notification');
  await waitFor(() => rx.got.some((r) => r.body.status === 'resolved' && r.body.commonLabels.alertname === 'HostSilent'), {
    what: 'HostSilent resolved',
  });
  assert.ok(!rx.got.some((r) => r.body.commonLabels?.instance === 'i4'), 'i4 stays muted while Crit fires on its cluster');
});

test('a rate-limited WeCom robot gets one digest (≤ 4096 bytes) holding every alert instead of one message each', async (t) => {
  const rx = await receiver(t, () => ({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' }));
  const alerting = await engine(t, {
    route: { receiver: 'im', groupBy: ['...'], ...fast },
    receivers: [{ name: 'im', wecom: [{ url: `${rx.url}/cgi-bin/webhook/send?key=wecom-key` }] }], // default 20/min: a burst of 5
  });
  const n = 40;
  alerting.onPoints(Array.from({ length: n }, (_, i) => redisPoint({ host: `h${i}`, instance: `10.0.0.${i}:6379`, tier: 'warn' }, 500)));
  await waitFor(() => alerting.store.outboxLength() === 0 && rx.got.length > 0, { timeoutMs: 15_000, what: 'the queue drained' });
  assert.ok(rx.got.length < 5, `${rx.got.length} messages for ${n} notifications`);
  const contents = rx.got.map((r) => String(r.body.markdown.content));
  for (const c of contents)
    assert.ok(Buffer.byteLength(c, 'utf8') <= 4096, `WeCom markdown ≤ 4096 bytes (${Buffer.byteLength(c, 'utf8')})`);
  const digest = contents.find((c) => c.startsWith('### [FIRING:'))!;
  const shown = contents.reduce((s, c) => s + (c.match(/^- 🔥 \*\*Warn\*\* \(warning\) h\d+ 10\.0\.0\.\d+:6379/gm) ?? []).length, 0);
  const more = contents.reduce((s, c) => s + Number(/… and (\d+) more/.exec(c)?.[1] ?? 0), 0);
  assert.equal(shown + more, n, 'every alert is in a digest: shown or counted, none dropped');
  assert.match(digest, new RegExp(`^### \\[FIRING:\\d+\\] Warn`));
  assert.ok(alerting.outbox.stats.digests >= 1);
  const events = alerting.history({ limit: 1000 }).filter((e) => e.event === 'delivered firing');
  assert.equal(new Set(events.map((e) => e.fingerprint)).size, n, 'history: every alert delivered');
});

test('receiver bodies: Slack, PagerDuty Events v2 trigger/resolve with one dedup key, WeCom markdown with mentions, Feishu signed card', async (t) => {
  const FEISHU_SECRET = 'feishu-secret-123';
  const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';
  const rx = await receiver(t, (r) => {
    if (r.path.startsWith('/pd'))
      return { status: 202, body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: r.body?.dedup_key }) };
    if (r.path.startsWith('/wecom')) return { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
    if (r.path.startsWith('/feishu')) return { status: 200, body: '{"code":0,"msg":"success","data":{}}' };
    return { status: 200, body: 'ok' };
  });
  const alerting = await engine(t, {
    externalUrl: 'http://collector.example:8080/',
    route: { receiver: 'all', groupBy: ['alertname', 'cluster'], ...fast },
    receivers: [
      {
        name: 'all',
        slack: [{ url: `${rx.url}/slack/services/T000/B000/XXXX`, channel: '#redis' }],
        pagerduty: [{ routingKey: ROUTING_KEY, url: `${rx.url}/pd/v2/enqueue` }],
        wecom: [{ url: `${rx.url}/wecom/cgi-bin/webhook/send?key=wk`, mentions: ['zhangsan'] }],
        feishu: [{ url: `${rx.url}/feishu/open-apis/bot/v2/hook/tok`, secret: FEISHU_SECRET }],
      },
    ],
  });
  const tags = { host: 'h1', instance: '10.0.0.5:6379', tier: 'crit', cluster: 'cl-a' };
  alerting.onPoints([redisPoint(tags, 500)]);
  const at = (p: string) => rx.got.filter((r) => r.path.startsWith(p));
  await waitFor(() => at('/slack').length && at('/pd').length && at('/wecom').length && at('/feishu').length, {
    what: 'firing on every channel',
  });
  alerting.onPoints([redisPoint(tags, 5)]);
  await waitFor(
    () => at('/pd').length === 2 && at('/wecom').length === 2 && at('/feishu').length === 2 && alerting.store.outboxLength() === 0,
    { what: 'resolved on every channel' },
  );

  // Slack: text fallback + one mrkdwn section; sendResolved defaults to false for Slack.
  assert.equal(at('/slack').length, 1, 'Slack is not sent the resolution');
  const slack = at('/slack')[0]!.body;
  assert.equal(slack.channel, '#redis');
  assert.equal(slack.text, '[FIRING:1] Crit');
  assert.equal(slack.blocks[0].type, 'section');
  assert.equal(slack.blocks[0].text.type, 'mrkdwn');
  assert.match(
    slack.blocks[0].text.text,
    /^\*\[FIRING:1\] Crit\*\n• 🔥 \*Crit\* \(critical\) cluster cl-a h1 10\.0\.0\.5:6379 — 10\.0\.0\.5:6379 has 500 clients/,
  );
  assert.ok(!slack.blocks[0].text.text.includes('**'), 'Slack mrkdwn bold is *x*');

  // PagerDuty: trigger then resolve, same routing key and dedup key = sha256(groupKey).
  const [trigger, resolve] = at('/pd').map((r) => r.body);
  assert.equal(trigger.event_action, 'trigger');
  assert.equal(trigger.routing_key, ROUTING_KEY);
  assert.match(trigger.dedup_key, /^[0-9a-f]{64}$/);
  const groupKey = '{}:{alertname="Crit",cluster="cl-a"}';
  assert.equal(trigger.dedup_key, createHash('sha256').update(groupKey).digest('hex'));
  assert.deepEqual(
    { ...trigger.payload, custom_details: undefined, timestamp: undefined },
    {
      summary: '[FIRING:1] Crit',
      source: '10.0.0.5:6379',
      severity: 'critical',
      component: 'redis',
      group: 'cl-a',
      class: 'Crit',
      custom_details: undefined,
      timestamp: undefined,
    },
  );
  assert.ok(!Number.isNaN(Date.parse(trigger.payload.timestamp)));
  assert.equal(trigger.client_url, 'http://collector.example:8080/api/v1/alerts');
  assert.deepEqual(resolve, { routing_key: ROUTING_KEY, dedup_key: trigger.dedup_key, event_action: 'resolve' });

  // WeCom: markdown with <@userid> mentions.
  const [wf, wr] = at('/wecom').map((r) => r.body);
  assert.equal(wf.msgtype, 'markdown');
  assert.match(wf.markdown.content, /^### \[FIRING:1\] Crit\n- 🔥 \*\*Crit\*\* \(critical\) cluster cl-a h1 10\.0\.0\.5:6379/);
  assert.match(wf.markdown.content, /\n<@zhangsan>$/);
  assert.match(wr.markdown.content, /^### \[RESOLVED:1\] Crit\n- ✅/);

  // Feishu: timestamp (seconds) + sign in the body, sign = base64(HmacSHA256(key = timestamp + "\n" + secret, msg = "")).
  for (const [i, r] of at('/feishu').entries()) {
    const b = r.body;
    assert.match(b.timestamp, /^\d{10}$/);
    assert.ok(Math.abs(Number(b.timestamp) - Date.now() / 1000) < 3600, "within Feishu's 1 h window");
    assert.equal(b.sign, createHmac('sha256', `${b.timestamp}\n${FEISHU_SECRET}`).update('').digest('base64'));
    assert.equal(b.msg_type, 'interactive');
    assert.equal(b.card.header.template, i === 0 ? 'red' : 'green');
    assert.equal(b.card.header.title.content, i === 0 ? '[FIRING:1] Crit' : '[RESOLVED:1] Crit');
    assert.equal(b.card.elements[0].text.tag, 'lark_md');
    assert.match(b.card.elements[0].text.content, /10\.0\.0\.5:6379/);
    assert.ok(!r.raw.includes(FEISHU_SECRET), 'the secret itself is never sent');
  }
});

test('delivery outcomes: 5xx and 429 retried with the same webhook-id, 400 final, robot 200 with an error code is a failure (throttling code retried)', async (t) => {
  const seen = new Map<string, number>();
  const script: Record<string, { status: number; body: string }[]> = {
    '/hook': [
      { status: 503, body: 'busy' },
      { status: 429, body: 'slow down' },
      { status: 200, body: 'ok' },
    ],
    '/bad': [{ status: 400, body: 'bad request' }],
    '/wecom-err': [{ status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' }],
    '/wecom-busy': [
      { status: 200, body: '{"errcode":45009,"errmsg":"api freq out of limit"}' },
      { status: 200, body: '{"errcode":0,"errmsg":"ok"}' },
    ],
    '/feishu-err': [{ status: 200, body: '{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}' }],
  };
  const rx = await receiver(t, (r) => {
    const p = r.path.split('?')[0]!;
    const i = seen.get(p) ?? 0;
    seen.set(p, i + 1);
    const steps = script[p]!;
    return steps[Math.min(i, steps.length - 1)]!;
  });
  const alerting = await engine(t, {
    route: { receiver: 'ops', ...fast },
    receivers: [
      {
        name: 'ops',
        webhook: [{ url: `${rx.url}/hook`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, { url: `${rx.url}/bad` }],
        wecom: [{ url: `${rx.url}/wecom-err?key=wecom-secret-key` }, { url: `${rx.url}/wecom-busy?key=k2` }],
        feishu: [{ url: `${rx.url}/feishu-err` }],
      },
    ],
  });
  alerting.onPoints([redisPoint({ host: 'h1', instance: 'i1', tier: 'crit' }, 500)]);
  await waitFor(() => seen.get('/hook') === 3 && alerting.store.outboxLength() === 0, { timeoutMs: 15_000, what: 'the outbox drained' });
  const hook = rx.got.filter((r) => r.path === '/hook');
  assert.equal(new Set(hook.map((r) => r.headers['webhook-id'])).size, 1, 'retries keep the idempotency key');
  assert.deepEqual(Object.fromEntries(seen), { '/hook': 3, '/bad': 1, '/wecom-err': 1, '/wecom-busy': 2, '/feishu-err': 1 });
  const history = alerting.history({ limit: 100 });
  const failed = history
    .filter((e) => e.event === 'delivery failed firing')
    .map((e) => e.detail)
    .sort();
  assert.equal(failed.length, 3, failed.join(' | '));
  assert.match(failed[0]!, /^ops\/feishu\[0\]: .*code 19021: sign match fail/);
  assert.match(failed[1]!, /^ops\/webhook\[1\]: .*HTTP 400: bad request/);
  assert.match(failed[2]!, /^ops\/wecom\[0\]: .*errcode 93000: invalid webhook url/);
  assert.ok(!failed.join(' ').includes('wecom-secret-key'), 'the robot key never reaches the history');
  const delivered = history
    .filter((e) => e.event === 'delivered firing')
    .map((e) => e.detail)
    .sort();
  assert.deepEqual(delivered, ['ops/webhook[0]', 'ops/wecom[1]']);
  assert.equal(alerting.outbox.stats.retries, 3, 'two for the webhook (503, 429), one for the throttled robot');
});

test('an alert notified, then muted by inhibition, then unmuted is not notified again as new (the mute does not reset the nlog)', async (t) => {
  const rx = await receiver(t);
  const alerting = await engine(t, {
    builtins: { enabled: true, disable: ['RedisClientsHigh'] },
    route: { receiver: 'ops', groupBy: ['alertname', 'host'], ...fast },
    receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/ops` }] }],
  });
  alerting.onPoints([redisPoint({ host: 'h1', instance: 'i1', tier: 'warn' }, 500)]);
  await waitFor(() => rx.got.some((r) => r.body.commonLabels.alertname === 'Warn'), { what: 'Warn notified' });
  // The host goes silent (e.g. right after a collector restart, before the agent reconnects): Warn is inhibited…
  alerting.onPoints([hostEvent('h1', 'host.down')]);
  await waitFor(() => rx.got.some((r) => r.body.commonLabels.alertname === 'HostSilent' && r.body.status === 'firing'), {
    what: 'HostSilent notified',
  });
  const warnGroupFlushes = () => rx.got.filter((r) => r.body.commonLabels.alertname === 'Warn').length;
  // …across several group intervals, then the host is back.
  const flushedAt = Date.now();
  await waitFor(() => Date.now() - flushedAt > 3 * 200, { what: 'three group intervals' });
  alerting.onPoints([hostEvent('h1', 'host.up')]);
  await waitFor(() => rx.got.some((r) => r.body.commonLabels.alertname === 'HostSilent' && r.body.status === 'resolved'), {
    what: 'HostSilent resolved',
  });
  const settled = Date.now();
  await waitFor(() => Date.now() - settled > 3 * 200, { what: 'three more group intervals' });
  assert.equal(warnGroupFlushes(), 1, 'Warn was told once: neither "all alerts resolved" while muted nor a new "first notification" after');
  assert.equal(alerting.alerts.all().find((a) => a.labels.alertname === 'Warn')?.state, 'firing');
});
