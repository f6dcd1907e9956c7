// Alerting end to end: a real redis-server, the real agent and collector, a real HTTP
// receiver. Stop the instance → signed Alertmanager-v4 webhook "firing" with the right
// labels; start it again → "resolved". Bad rules are refused on reload, old set kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import { harness, startAlertmanager, waitFor } from './harness/index.js';
import { receiver, writeRules } from './alerting-support.js';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

function verifyStandardWebhook(headers: Record<string, unknown>, raw: string): boolean {
  const id = String(headers['webhook-id']);
  const ts = String(headers['webhook-timestamp']);
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const expected = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${raw}`).digest('base64')}`;
  return String(headers['webhook-signature']).split(' ').includes(expected) && Math.abs(Date.now() / 1000 - Number(ts)) < 300;
}

/** A rule file in the harness's temp space, holding `text`. */
test('instance down fires a signed webhook with the right labels, recovery resolves it; bad rules are refused', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const rx = await receiver(t);
  const rulesFile = await writeRules(
    h,
    'rules:\n  - name: ManyKeys\n    measurement: redis_keyspace\n    expr: keys\n    op: ">"\n    value: 1000000\n',
  );
  const collector = await h.collector({
    alerting: {
      ruleFiles: [rulesFile],
      route: { receiver: 'ops', groupWait: '200ms', groupInterval: '500ms' },
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook`, secret: SECRET }] }],
    },
  });
  await h.agent({ hostId: 'alert-h1', interval: '200ms', redis: [{ address: redis.address, cluster: 'c1' }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 1, { what: 'instance reported' });

  await redis.stop();
  const firing = await waitFor(
    () => rx.got.find((r) => r.body?.status === 'firing' && r.body.commonLabels?.alertname === 'RedisInstanceDown'),
    { timeoutMs: 15_000, what: 'firing notification' },
  );
  assert.equal(firing.body.version, '4');
  assert.equal(firing.body.receiver, 'ops');
  assert.equal(firing.body.notification_reason, 'first notification');
  const alert = firing.body.alerts[0];
  assert.equal(alert.labels.instance, redis.address);
  assert.equal(alert.labels.host, 'alert-h1');
  assert.equal(alert.labels.cluster, 'c1');
  assert.equal(alert.labels.severity, 'critical');
  assert.equal(alert.endsAt, '0001-01-01T00:00:00Z');
  assert.ok(verifyStandardWebhook(firing.headers, firing.raw), 'Standard Webhooks signature verifies');

  const api = await collector.api('/api/v1/alerts?state=firing');
  assert.equal(api.alerts.length, 1);
  assert.equal(api.alerts[0].fingerprint, alert.fingerprint);

  await redis.restart({ save: false });
  const resolved = await waitFor(
    () => rx.got.find((r) => r.body?.status === 'resolved' && r.body.alerts?.[0]?.fingerprint === alert.fingerprint),
    { timeoutMs: 15_000, what: 'resolved notification' },
  );
  assert.notEqual(resolved.body.alerts[0].endsAt, '0001-01-01T00:00:00Z');
  assert.equal(rx.got.filter((r) => r.body?.status === 'firing').length, 1, 'one firing notification, no duplicate');
  const history = await collector.api(`/api/v1/alerts/history?fingerprint=${alert.fingerprint}`);
  const events = history.history.map((e: { event: string }) => e.event);
  assert.ok(events.includes('firing') && events.includes('resolved'), events.join(','));

  // Bad rules: unknown metric refused with a clear message; the old set keeps running.
  await fs.writeFile(rulesFile, 'rules:\n  - name: Typo\n    measurement: redis\n    expr: used_memroy\n    op: ">"\n    value: 1\n');
  const bad = await collector.request('/api/v1/rules/reload', { method: 'POST' });
  assert.equal(bad.status, 400);
  assert.match(String((bad.body as { message: string }).message), /unknown metric "used_memroy"/);
  const rules = await collector.api('/api/v1/rules');
  assert.ok(
    rules.rules.some((r: { name: string }) => r.name === 'ManyKeys'),
    'old rule set kept',
  );
  assert.ok(
    rules.rules.some((r: { name: string }) => r.name === 'RedisMemoryHigh'),
    'built-ins listed',
  );
  await fs.writeFile(
    rulesFile,
    'rules:\n  - name: Bad\n    measurement: redis\n    expr: used_memory\n    op: ">"\n    value: 1\n    for: 5 minutes\n',
  );
  const badFor = await collector.request('/api/v1/rules/reload', { method: 'POST' });
  assert.equal(badFor.status, 400);
  assert.match(String((badFor.body as { message: string }).message), /rules\[0\] \(Bad\)\.for: must be a duration/);
});

test('collector SIGKILL while an alert fires and the receiver is down: after restart the outbox is delivered once, silence and ack intact', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  let up = false;
  const rx = await receiver(t, () => (up ? { status: 200, body: 'ok' } : { status: 503, body: 'down' }));
  const collector = await h.collector({
    alerting: {
      route: { receiver: 'ops', groupWait: '200ms', groupInterval: '500ms' },
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook` }] }],
    },
  });
  await h.agent({ hostId: 'alert-kill', interval: '200ms', redis: [{ address: redis.address }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 1, { what: 'instance reported' });
  await redis.stop();
  const alert = await waitFor(async () => (await collector.api('/api/v1/alerts?state=firing')).alerts[0], {
    timeoutMs: 15_000,
    what: 'firing alert',
  });
  await waitFor(() => rx.got.length >= 1, { what: 'a delivery attempt (answered 503)' });
  const ack = await collector.request(`/api/v1/alerts/${alert.id}/ack`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ by: 'alice', comment: 'looking' }),
  });
  assert.equal(ack.status, 200);
  const now = Date.now();
  const sil = await collector.request('/api/v1/silences', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      matchers: [{ name: 'alertname', value: 'RedisSlowFork', isRegex: false }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: 'bob',
      comment: 'noisy',
    }),
  });
  assert.equal(sil.status, 200);
  const silenceID = (sil.body as { silenceID: string }).silenceID;

  await collector.kill('SIGKILL');
  up = true;
  const before = rx.got.length;
  await collector.start();
  const delivered = await waitFor(() => rx.got.slice(before).find((r) => r.body?.status === 'firing'), {
    timeoutMs: 15_000,
    what: 'outbox delivered after restart',
  });
  assert.equal(delivered.body.alerts[0].fingerprint, alert.fingerprint);
  // Let a few group intervals pass: the restored group must not notify again.
  await waitFor(
    async () =>
      (await collector.api('/api/v1/alerts/history?limit=100')).history.some((e: { event: string }) => e.event === 'delivered firing'),
    { what: 'delivery in history' },
  );
  const settled = Date.now();
  await waitFor(() => Date.now() - settled > 2000, { timeoutMs: 5000, what: 'two seconds of group intervals' });
  // Only this alert's notifications count: other built-ins may fire meanwhile on a loaded machine.
  const mine = rx.got
    .slice(before)
    .filter((r) => r.body?.status === 'firing' && r.body.alerts?.some((a: { fingerprint: string }) => a.fingerprint === alert.fingerprint));
  assert.equal(
    mine.length,
    1,
    `no duplicate firing notification; after the restart got: ${JSON.stringify(rx.got.slice(before).map((r) => [r.body?.status, r.body?.alerts?.map((a: { labels: { alertname: string } }) => a.labels.alertname)]))}`,
  );
  const after = (await collector.api(`/api/v1/alerts?fingerprint=${alert.id}`)).alerts[0];
  assert.equal(after.state, 'firing');
  assert.equal(after.ack.by, 'alice');
  const silences = await collector.api('/api/v1/silences');
  assert.ok(
    silences.some((s: { id: string; status: { state: string } }) => s.id === silenceID && s.status.state === 'active'),
    'silence intact',
  );
});

test('a real Alertmanager receives our alerts through POST /api/v2/alerts, and their resolution', async (t) => {
  const h = await harness(t);
  const am = await startAlertmanager(h);
  const redis = await h.redis();
  const collector = await h.collector({
    alerting: {
      route: { receiver: 'am', groupWait: '200ms', groupInterval: '500ms' },
      receivers: [{ name: 'am', alertmanager: [{ url: am.url }] }],
    },
  });
  await h.agent({ hostId: 'alert-am', interval: '200ms', redis: [{ address: redis.address }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 1, { what: 'instance reported' });
  await redis.stop();
  type AmAlert = { labels: Record<string, string>; status: { state: string }; endsAt: string; fingerprint: string };
  const amAlerts = async () =>
    (await (await fetch(`${am.url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`)).json()) as AmAlert[];
  const got = await waitFor(async () => (await amAlerts()).find((a) => a.labels.alertname === 'RedisInstanceDown'), {
    timeoutMs: 15_000,
    what: 'alert in Alertmanager',
  });
  assert.equal(got.labels.instance, redis.address);
  assert.equal(got.labels.host, 'alert-am');
  assert.equal(got.status.state, 'active');
  const ours = (await collector.api('/api/v1/alerts?state=firing&alertname=RedisInstanceDown')).alerts[0];
  assert.equal(ours.fingerprint, got.fingerprint, "the collector's fingerprint is the one Alertmanager computes");
  await redis.restart({ save: false });
  await waitFor(async () => !(await amAlerts()).some((a) => a.labels.alertname === 'RedisInstanceDown'), {
    timeoutMs: 15_000,
    what: 'alert resolved in Alertmanager',
  });
});

test('fluctuation: a step in ops/s fires a pdiff rule; a zero baseline neither crashes nor fires', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const rx = await receiver(t);
  const rulesFile = await writeRules(
    h,
    [
      'rules:',
      '  - { name: OpsStep, measurement: redis, expr: ops_per_sec, func: pdiff, points: 3, op: ">", value: 500 }',
      '  - { name: EvictionStep, measurement: redis, expr: evicted_keys_per_sec, func: pdiff, points: 3, op: ">=", value: 0 }',
      '',
    ].join('\n'),
  );
  const collector = await h.collector({
    alerting: {
      ruleFiles: [rulesFile],
      builtins: { enabled: false },
      route: { receiver: 'ops', groupWait: '200ms', groupInterval: '500ms' },
      receivers: [{ name: 'ops', webhook: [{ url: rx.url }] }],
    },
  });
  await h.agent({ hostId: 'alert-step', interval: '200ms', redis: [{ address: redis.address }] }, { collector });
  // Enough quiet points for a decision on the baseline.
  await waitFor(
    async () =>
      (await collector.api('/api/v1/query?measurement=redis&limit=100')).points.filter(
        (p: { fields: Record<string, unknown> }) => p.fields.ops_per_sec !== undefined,
      ).length >= 5,
    { what: 'five quiet ops/s points' },
  );
  const client = redis.client();
  let stop = false;
  const load = (async () => {
    while (!stop) await Promise.all(Array.from({ length: 200 }, (_, i) => client.set(`k${i}`, 'v')));
  })();
  const fired = await waitFor(() => rx.got.find((r) => r.body?.commonLabels?.alertname === 'OpsStep'), {
    timeoutMs: 15_000,
    what: 'OpsStep notification',
  });
  stop = true;
  await load;
  assert.equal(fired.body.alerts[0].labels.instance, redis.address);
  // The value it fired with, from the alert's history: the API's alert holds the latest evaluation,
  // and once the load plateaus (a loaded machine may get there before the notification) its pdiff is ~0.
  const { history } = await collector.api<{ history: { event: string; value: number }[] }>('/api/v1/alerts/history?alertname=OpsStep');
  const firing = history.find((e) => e.event === 'firing');
  assert.ok(firing && firing.value > 500, `pdiff value ${firing?.value} (${JSON.stringify(history)})`);
  const alerts = (await collector.api('/api/v1/alerts')).alerts as { name: string; value: number }[];
  // evicted_keys_per_sec stays 0: every baseline is zero, so EvictionStep has no decision and never fires.
  assert.ok(!alerts.some((a) => a.name === 'EvictionStep'), 'zero baseline did not fire');
  assert.ok(collector.running, 'collector alive');
});
