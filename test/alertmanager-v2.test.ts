// The collector speaks Alertmanager's API v2 well enough for the real `amtool` (Debian
// prometheus-alertmanager): silence add/query/expire and alert query against a collector with a
// firing RedisInstanceDown, authenticated with a Prometheus http_config credentials_file.
// Fingerprints are Alertmanager's (prometheus/common model.LabelSet.Fingerprint).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fingerprint } from '../collector/alerting/index.js';
import { AlertTable } from '../collector/alerting/alerts.js';
import { SqliteAlertingStore } from '../collector/alerting/store.js';
import { openDatabase } from '../collector/sqlite.js';
import { harness, waitFor } from './harness/index.js';
import { receiver } from './alerting-support.js';

const AMTOOL = '/usr/bin/amtool';

test('fingerprint is prometheus/common FNV-1a 64 of the sorted labels (vectors from model/signature_test.go)', () => {
  const hex = (n: bigint) => n.toString(16).padStart(16, '0');
  assert.equal(fingerprint({}), hex(14695981039346656037n));
  assert.equal(fingerprint({ name: 'garland, briggs', fear: 'love is not enough' }), hex(5799056148416392346n));
  assert.equal(fingerprint({ 'first-label': 'first-label-value' }), hex(5146282821936882169n));
  assert.equal(
    fingerprint({ 'first-label': 'first-label-value', 'second-label': 'second-label-value', 'third-label': 'third-label-value' }),
    hex(13843036195897128121n),
  );
  // Key order does not matter; a value moved to another name does.
  assert.equal(fingerprint({ b: '1', a: '2' }), fingerprint({ a: '2', b: '1' }));
  assert.notEqual(fingerprint({ a: '1', b: '2' }), fingerprint({ a: '2', b: '1' }));
});

test('an alert stored under an older (sha256-prefix) id is re-keyed to its AM fingerprint on load', () => {
  const db = openDatabase(':memory:');
  const store = new SqliteAlertingStore(db);
  const labels = { alertname: 'RedisInstanceDown', instance: '10.0.0.1:6379' };
  store.saveAlert({
    fingerprint: '0123456789abcdef',
    labels,
    annotations: {},
    state: 'firing',
    rule: 'RedisInstanceDown',
    activeAt: 1,
    startsAt: 2,
    endsAt: 0,
    value: null,
    updatedAt: 2,
    ack: null,
    lastTrueAt: 2,
  });
  const table = new AlertTable(store);
  assert.deepEqual(
    table.all().map((a) => a.fingerprint),
    [fingerprint(labels)],
  );
  assert.deepEqual(
    new SqliteAlertingStore(db).loadAlerts().map((a) => [a.fingerprint, a.startsAt]),
    [[fingerprint(labels), 2]],
    'the row moved, nothing else changed',
  );
  db.close();
});

function amtool(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(AMTOOL, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('amtool against the collector: silence add/query/expire and alert query; no credentials → 401', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const rx = await receiver(t);
  const collector = await h.collector({
    alerting: {
      route: { receiver: 'ops', groupWait: '200ms', groupInterval: '500ms' },
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook` }] }],
    },
  });
  await h.agent({ hostId: 'amv2-h1', interval: '200ms', redis: [{ address: redis.address, cluster: 'c1' }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 1, { what: 'instance reported' });
  await redis.stop();
  const firing = await waitFor(async () => (await collector.api('/api/v1/alerts?state=firing&alertname=RedisInstanceDown')).alerts[0], {
    timeoutMs: 20_000,
    what: 'RedisInstanceDown firing',
  });
  assert.equal(firing.fingerprint, fingerprint(firing.labels), "the exposed fingerprint is the label set's AM fingerprint");

  const dir = await h.tempDir('amtool');
  const httpConfig = async (role: 'operator' | 'viewer') => {
    const cred = path.join(dir, `${role}.token`);
    await fs.writeFile(cred, `${collector.apiTokens[role]}\n`, { mode: 0o600 });
    const file = path.join(dir, `${role}.yaml`);
    await fs.writeFile(file, `authorization:\n  type: Bearer\n  credentials_file: ${cred}\n`);
    return file;
  };
  const operator = await httpConfig('operator');
  const viewer = await httpConfig('viewer');
  const base = [`--alertmanager.url=${collector.httpUrl}`];
  const as = (file: string) => [...base, `--http.config.file=${file}`];

  // Without credentials (and with a viewer token for a mutation) amtool is refused.
  const anon = await amtool([
    ...base,
    'silence',
    'add',
    'alertname=RedisInstanceDown',
    '--duration',
    '2h',
    '--comment',
    'c',
    '--author',
    'a',
  ]);
  assert.notEqual(anon.code, 0, anon.stdout);
  assert.match(anon.stderr, /401|[Uu]nauthorized/);
  const weak = await amtool([
    ...as(viewer),
    'silence',
    'add',
    'alertname=RedisInstanceDown',
    '--duration',
    '2h',
    '--comment',
    'c',
    '--author',
    'a',
  ]);
  assert.notEqual(weak.code, 0, weak.stdout);
  assert.match(weak.stderr, /403|[Ff]orbidden/);
  assert.equal((await collector.api('/api/v1/silences')).length, 0, 'refused calls created nothing');

  const add = await amtool([
    ...as(operator),
    'silence',
    'add',
    'alertname=RedisInstanceDown',
    '--duration',
    '2h',
    '--comment',
    'c',
    '--author',
    'a',
  ]);
  assert.equal(add.code, 0, add.stderr);
  const id = add.stdout.trim();
  const silence = await collector.api(`/api/v1/silences/${id}`);
  assert.equal(silence.status.state, 'active');
  assert.equal(silence.createdBy, 'a');
  assert.equal(silence.comment, 'c');
  assert.deepEqual(silence.matchers, [{ name: 'alertname', value: 'RedisInstanceDown', isRegex: false, isEqual: true }]);
  const hours = (Date.parse(silence.endsAt) - Date.parse(silence.startsAt)) / 3_600_000;
  assert.ok(Math.abs(hours - 2) < 0.01, `2h silence (got ${hours}h)`);
  const muted = await collector.api(`/api/v1/alerts?fingerprint=${firing.fingerprint}`);
  assert.deepEqual(muted.alerts[0].status.silencedBy, [id]);
  const audit = await collector.api('/api/v1/audit');
  assert.ok(
    audit.entries.some((e: { route: string; token: string; status: number }) => e.route === '/api/v2/silences' && e.status === 200),
    'the v2 silence creation is audited',
  );

  const query = await amtool([...as(viewer), 'silence', 'query', '-o', 'json', 'alertname=RedisInstanceDown']);
  assert.equal(query.code, 0, query.stderr);
  assert.deepEqual(
    (JSON.parse(query.stdout) as { id: string }[]).map((s) => s.id),
    [id],
  );
  const other = await amtool([...as(viewer), 'silence', 'query', '-o', 'json', 'alertname=Other']);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(JSON.parse(other.stdout), [], 'the filter selects by matcher');

  // amtool update keeps the id when the matchers stay (its -q output is a Go pointer, so not compared).
  const upd = await amtool([...as(operator), 'silence', 'update', '-q', id, '--duration', '3h']);
  assert.equal(upd.code, 0, upd.stderr);
  const updated = await collector.api(`/api/v1/silences/${id}`);
  const hours3 = (Date.parse(updated.endsAt) - Date.parse(updated.startsAt)) / 3_600_000;
  assert.ok(Math.abs(hours3 - 3) < 0.01, `updated to 3h (got ${hours3}h)`);

  const alerts = await amtool([...as(viewer), 'alert', 'query', '-o', 'json', '--silenced', 'alertname=RedisInstanceDown']);
  assert.equal(alerts.code, 0, alerts.stderr);
  const listed = JSON.parse(alerts.stdout) as {
    fingerprint: string;
    labels: Record<string, string>;
    status: { state: string; silencedBy: string[] };
    receivers: { name: string }[];
  }[];
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.fingerprint, firing.fingerprint);
  assert.equal(listed[0]!.labels.instance, redis.address);
  assert.equal(listed[0]!.status.state, 'suppressed');
  assert.deepEqual(listed[0]!.status.silencedBy, [id]);
  assert.deepEqual(listed[0]!.receivers, [{ name: 'ops' }]);
  const unsilenced = await amtool([...as(viewer), 'alert', 'query', '-o', 'json', 'alertname=RedisInstanceDown']);
  assert.equal(unsilenced.code, 0, unsilenced.stderr);
  assert.deepEqual(JSON.parse(unsilenced.stdout), [], 'silenced alerts are hidden unless asked for');

  const expire = await amtool([...as(operator), 'silence', 'expire', id]);
  assert.equal(expire.code, 0, expire.stderr);
  assert.equal((await collector.api(`/api/v1/silences/${id}`)).status.state, 'expired');
  const after = await amtool([...as(viewer), 'alert', 'query', '-o', 'json', 'alertname=RedisInstanceDown']);
  assert.equal(after.code, 0, after.stderr);
  const active = JSON.parse(after.stdout) as { fingerprint: string; status: { state: string } }[];
  assert.deepEqual(
    active.map((a) => [a.fingerprint, a.status.state]),
    [[firing.fingerprint, 'active']],
  );
  const gone = await amtool([...as(viewer), 'silence', 'query', '-o', 'json']);
  assert.deepEqual(JSON.parse(gone.stdout), [], 'an expired silence is not listed by default');

  // Malformed input is a 400/404 naming it; the collector keeps serving.
  const bad = await collector.request(`/api/v2/alerts?filter=${encodeURIComponent('not a matcher')}`);
  assert.equal(bad.status, 400);
  assert.match(String((bad.body as { message: string }).message), /bad matcher/);
  assert.equal((await collector.request('/api/v2/silence/no-such-id', { method: 'DELETE', as: 'operator' })).status, 404);
  const groups = await collector.api('/api/v2/alerts/groups');
  assert.deepEqual(
    groups.map((g: { receiver: { name: string }; alerts: { fingerprint: string }[] }) => [
      g.receiver.name,
      g.alerts.map((a) => a.fingerprint),
    ]),
    [['ops', [firing.fingerprint]]],
  );
  // The route's default group_by (alertname, host) labels the group, as Alertmanager's dispatch does.
  assert.deepEqual(groups[0].labels, { alertname: 'RedisInstanceDown', host: firing.labels.host });
  const noReceiver = await collector.api('/api/v2/alerts/groups?receiver=pager');
  assert.deepEqual(noReceiver, [], 'a receiver filter that matches no route leaves no group');
  const status = await collector.api('/api/v2/status');
  assert.equal(status.cluster.status, 'disabled');
  assert.equal(typeof status.versionInfo.version, 'string');
});
