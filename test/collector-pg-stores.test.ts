// Each shared store on a real PostgreSQL (the harness's server, a fresh database per test):
// fleet rows and the changedSince cursor between two writers, alerts / silences / nlog / outbox
// with epoch fencing, placements where two collectors placing at once never double-book, and
// the audit log.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../common/index.js';
import { openPostgres, type PgPool } from '../collector/pg.js';
import { PgFleetStore } from '../collector/store-pg.js';
import { VIEW_INFO_FIELDS } from '../collector/views.js';
import { syntheticSamples } from './bench/ingest.js';
import { PgAlertingStore } from '../collector/alerting/store-pg.js';
import { PgPlacementStore } from '../collector/placement/store-pg.js';
import { PgAuditStore } from '../collector/audit-pg.js';
import { Placement, resolvePlacementConfig, type PlacementRequest } from '../collector/placement/index.js';
import type { HostRecord, InstanceRecord } from '../collector/store.js';
import type { StoredAlert } from '../collector/alerting/store.js';
import type { Notification } from '../collector/alerting/types.js';
import { harness, type PostgresServer } from './harness/index.js';
import { capacityReport, fullSpec, GB, type HostSpec } from './placement-support.js';

const log = createLogger('test', 'silent');
type Ctx = Parameters<typeof harness>[0] & { after(fn: () => unknown): void };

let server: PostgresServer | undefined;
let closeServer: (() => Promise<void>) | undefined;
after(() => closeServer?.());
async function pool(t: Ctx): Promise<PgPool> {
  // One server for the file, one database per test.
  if (!server) {
    const h = await harness();
    closeServer = () => h.close();
    server = await h.postgres();
  }
  const database = await server.createDatabase();
  const p = await openPostgres(
    { ...server.collectorConfig, database, password: server.password, poolSize: 8, connectTimeoutMs: 5000 } as never,
    log,
  );
  t.after(() => p.end());
  return p;
}

function host(id: string, now: number, instances: string[] = []): HostRecord {
  return {
    id,
    labels: { idc: 'sz-a' },
    roles: ['redis'],
    agentVersion: '1.0.0',
    intervalMs: 1000,
    sessionId: `s-${id}`,
    lastSeq: 3,
    lastReportAt: now,
    lastSeenAt: now,
    reportTimeMs: now,
    status: 'up',
    statusSince: now,
    host: null,
    capacity: null,
    agent: null,
    instances,
  };
}

test("FleetStore on PostgreSQL: upserts, removals, and each writer reads only the other one's changes", async (t) => {
  const p = await pool(t);
  const a = new PgFleetStore(p, 'collector-a');
  const b = new PgFleetStore(p, 'collector-b');
  const now = Date.now();
  const sample = { address: '10.0.0.1:6379', info: { redis_version: '7.0.15', used_memory: 1234 } } as unknown as InstanceRecord['sample'];
  await a.saveState(
    [host('h1', now, ['10.0.0.1:6379'])],
    [{ id: 'h1/10.0.0.1:6379', host: 'h1', address: '10.0.0.1:6379', receivedAt: now, sample }],
    [],
  );
  await b.saveState([host('h2', now)], [], []);
  const seenByB = await b.changedSince(0);
  assert.deepEqual(
    seenByB.hosts.map((h) => h.id),
    ['h1'],
  );
  assert.deepEqual(
    seenByB.instances.map((i) => [i.id, i.sample.info.used_memory]),
    [['h1/10.0.0.1:6379', 1234]],
  );
  assert.ok(seenByB.cursor > 0);
  const seenByA = await a.changedSince(0);
  assert.deepEqual(
    seenByA.hosts.map((h) => h.id),
    ['h2'],
  );
  // Rows are re-read until two reads went by with the same cursor; then nothing old comes back, and a new write does.
  await b.changedSince(seenByB.cursor);
  await b.changedSince(seenByB.cursor);
  const quiet = await b.changedSince(seenByB.cursor);
  assert.equal(quiet.hosts.length + quiet.instances.length, 0, 'nothing new for b');
  await a.saveState([{ ...host('h1', now + 1000), lastSeq: 9 }], [], ['h1/10.0.0.1:6379']);
  const next = await b.changedSince(quiet.cursor);
  assert.deepEqual(
    next.hosts.map((h) => [h.id, h.lastSeq]),
    [['h1', 9]],
  );
  assert.deepEqual((await a.loadInstances()).length, 0, 'the removed instance is gone');
  assert.deepEqual((await b.loadHosts()).map((h) => h.id).sort(), ['h1', 'h2']);
});

test('FleetStore on PostgreSQL: a row whose transaction commits after a newer one is still read, once', async (t) => {
  const p = await pool(t);
  const a = new PgFleetStore(p, 'collector-a');
  const b = new PgFleetStore(p, 'collector-b');
  const now = Date.now();
  const slow = await p.connect();
  let cursor = 0;
  try {
    await slow.query('BEGIN');
    await slow.query(
      "INSERT INTO fleet_hosts (id, writer, version, last_seen_at, record) VALUES ('late', 'collector-a', nextval('rf_version'), $1, $2)",
      [now, JSON.stringify(host('late', now))],
    );
    await a.saveState([host('early', now)], [], []);
    const first = await b.changedSince(0);
    assert.deepEqual(
      first.hosts.map((h) => h.id),
      ['early'],
    );
    cursor = first.cursor;
    await slow.query('COMMIT');
  } finally {
    slow.release();
  }
  const second = await b.changedSince(cursor);
  assert.deepEqual(
    second.hosts.map((h) => h.id),
    ['late'],
    'the late commit, not the row already read',
  );
  const third = await b.changedSince(second.cursor);
  assert.equal(third.hosts.length, 0, 'nothing read twice');
});

test('FleetStore on PostgreSQL: a real INFO sample is stored as the fleet view needs it, a tenth of the bytes', async (t) => {
  const p = await pool(t);
  const a = new PgFleetStore(p, 'a');
  const [sample] = syntheticSamples(1);
  await a.saveState(
    [host('hx', Date.now(), [sample!.address])],
    [{ id: `hx/${sample!.address}`, host: 'hx', address: sample!.address, receivedAt: 1, sample: sample! }],
    [],
  );
  const [back] = await a.loadInstances();
  const s = back!.sample;
  for (const k of VIEW_INFO_FIELDS) assert.deepEqual(s.info[k], sample!.info[k], k);
  assert.ok(Object.keys(sample!.info).length > 10 * VIEW_INFO_FIELDS.length, 'the capture has far more fields than the view reads');
  assert.deepEqual(Object.keys(s.info).sort(), VIEW_INFO_FIELDS.filter((k) => k in sample!.info).sort());
  for (const k of ['address', 'role', 'up', 'maxmemory', 'maxclients', 'replicas', 'rates', 'headroom', 'unavailable'] as const)
    assert.deepEqual(s[k], sample![k], k);
  assert.deepEqual([s.commandstats, s.latencystats, s.errorstats, s.keyspace], [[], [], [], []]);
  const bytes = (await p.query<{ n: number }>('SELECT octet_length(sample) AS n FROM fleet_instances')).rows[0]!.n;
  assert.ok(bytes * 5 < JSON.stringify(sample).length, `${bytes} bytes stored of ${JSON.stringify(sample).length}`);
});

function alert(fp: string, state: StoredAlert['state'], updatedAt: number): StoredAlert {
  return {
    fingerprint: fp,
    rule: 'RedisDown',
    state,
    labels: { alertname: 'RedisDown', host: 'h1' },
    annotations: {},
    activeAt: 1,
    startsAt: 2,
    endsAt: 0,
    value: 1,
    updatedAt,
    ack: null,
    lastTrueAt: updatedAt,
  };
}

const note = (key: string): Notification => ({
  receiver: 'pager',
  status: 'firing',
  groupKey: key,
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: '',
  reason: 'first notification',
  truncatedAlerts: 0,
  alerts: [],
});

test('AlertingStore on PostgreSQL: alerts and acks, silences, nlog with its outbox in one transaction, claims fenced by the leader epoch', async (t) => {
  const p = await pool(t);
  const a = new PgAlertingStore(p, 'collector-a');
  const b = new PgAlertingStore(p, 'collector-b');
  await a.saveAlerts([alert('fp1', 'firing', 10), { ...alert('fp2', 'pending', 11) }], []);
  const changes = await b.changedSince(0);
  assert.deepEqual(
    changes.alerts.map((x) => [x.fingerprint, x.state]),
    [
      ['fp1', 'firing'],
      ['fp2', 'pending'],
    ],
  );
  await b.saveAlerts([{ ...alert('fp1', 'firing', 20), ack: { by: 'ops', comment: 'on it', at: 20 } }], ['fp2']);
  const back = await a.changedSince(0);
  assert.equal(back.alerts[0]!.ack?.by, 'ops');
  assert.deepEqual(back.deleted, ['fp2']);
  assert.deepEqual(
    (await a.loadAlerts()).map((x) => x.fingerprint),
    ['fp1'],
  );

  await a.saveSilence({
    id: 's1',
    matchers: [{ name: 'host', value: 'h1', isRegex: false, isEqual: true }],
    startsAt: 1,
    endsAt: Date.now() + 60_000,
    createdBy: 'me',
    comment: '',
    updatedAt: 1,
  });
  assert.deepEqual(
    (await b.changedSince(0)).silences.map((s) => s.id),
    ['s1'],
  );
  assert.deepEqual(
    (await b.loadSilences()).map((s) => s.id),
    ['s1'],
  );

  // The nlog entry and its outbox rows commit together.
  const now = Date.now();
  await a.notify(
    { groupKey: 'g1', receiver: 'pager', firing: ['fp1'], resolved: [], at: now },
    [{ integration: 'pager/webhook[0]', notification: note('g1') }],
    now,
  );
  assert.deepEqual((await b.nlog('g1', 'pager'))?.firing, ['fp1']);
  assert.equal(await b.outboxLength(), 1);

  // Leader epoch 5 claims; once epoch 6 took over, 5 claims nothing; 6 does not take what 5 holds until released.
  assert.equal(await a.takeLeadership(5, 'collector-a', now), true);
  const claimed = await a.claimDue('pager/webhook[0]', now, 5);
  assert.equal(claimed.length, 1);
  assert.equal((await a.claimDue('pager/webhook[0]', now, 5)).length, 0, 'claimed rows are not handed out twice');
  assert.equal(await b.takeLeadership(6, 'collector-b', now), true);
  assert.equal(await a.takeLeadership(5, 'collector-a', now), false, 'epochs only go forward');
  await a.releaseOutbox(claimed.map((e) => e.id));
  assert.equal((await a.claimDue('pager/webhook[0]', now, 5)).length, 0, 'a deposed leader claims nothing');
  const taken = await b.claimDue('pager/webhook[0]', now, 6);
  assert.deepEqual(
    taken.map((e) => e.notification.groupKey),
    ['g1'],
  );
  await b.retryOutbox(
    taken.map((e) => e.id),
    now + 1000,
    '503',
  );
  assert.equal((await b.claimDue('pager/webhook[0]', now, 6)).length, 0, 'not due before its retry time');
  assert.equal(await b.nextDueAt(), now + 1000);
  const retried = await b.claimDue('pager/webhook[0]', now + 1000, 6);
  assert.equal(retried[0]!.attempts, 1);
  assert.equal(retried[0]!.lastError, '503');
  await b.deleteOutbox(retried.map((e) => e.id));
  assert.equal(await a.outboxLength(), 0);
});

function collectorPlacement(store: PgPlacementStore, specs: HostSpec[]): Placement {
  const pl = new Placement(resolvePlacementConfig({ reservationTtl: '2s' }), 3, log, undefined, store);
  const now = Date.now();
  for (const s of specs) {
    const full = fullSpec(s);
    const report = capacityReport(full, 1, now);
    const record: HostRecord = {
      id: full.hostId,
      labels: full.labels,
      roles: full.roles,
      agentVersion: 't',
      intervalMs: full.intervalMs,
      sessionId: 's',
      lastSeq: 1,
      lastReportAt: now,
      lastSeenAt: now,
      reportTimeMs: now,
      status: 'up',
      statusSince: now,
      host: report.host!,
      capacity: report.capacity!,
      agent: null,
      instances: [],
    };
    pl.onReport(record, report.redis);
  }
  return pl;
}

test('PlacementStore on PostgreSQL: two collectors placing at once never double-book; both see each placement; expiry is shared', async (t) => {
  const p = await pool(t);
  // 4 hosts with room for exactly one 8 GB instance each (one slot free).
  const specs: HostSpec[] = ['p1', 'p2', 'p3', 'p4'].map((hostId) => ({
    hostId,
    memTotalBytes: 32 * GB,
    memAvailableBytes: 20 * GB,
    maxmemoryReservedBytes: 16 * GB,
    instanceSlots: 3,
    runningInstances: 2,
  }));
  const a = collectorPlacement(new PgPlacementStore(p), specs);
  const b = collectorPlacement(new PgPlacementStore(p), specs);
  const req = (id: string): PlacementRequest =>
    ({
      requestId: id,
      role: 'redis',
      count: 1,
      memoryMb: 8 * 1024,
      labels: {},
      strategy: undefined,
      spreadBy: undefined,
    }) as PlacementRequest;
  // 10 requests, 5 per collector, all at once: exactly 4 fit, each on a different host.
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).place(req(`r${i}`))));
  const ok = answers.filter((x) => x.status === 200);
  assert.equal(ok.length, 4, answers.map((x) => `${x.status} ${JSON.stringify(x.body.message ?? '')}`).join('\n'));
  const hosts = ok.map((x) => (x.body.members as { host: string }[])[0]!.host);
  assert.deepEqual([...new Set(hosts)].sort(), ['p1', 'p2', 'p3', 'p4'], 'no host given twice');
  const rows = await p.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM placements WHERE holding');
  assert.equal(rows.rows[0]!.n, 4);

  // A placement made on a is seen (and confirmable) on b.
  const first = ok[0]!.body.requestId as string;
  const seen = await b.get(first);
  assert.equal(seen.status, 200);
  assert.equal((await b.confirm(first)).body.state, 'confirmed');
  assert.equal((await a.get(first)).body.state, 'confirmed');
  // Releasing on b frees the host for a.
  await b.release(first);
  const again = await a.place(req('r-again'));
  assert.equal(again.status, 200);
  assert.equal((again.body.members as { host: string }[])[0]!.host, hosts[0]);

  // Expiry (the leader's duty) ends the unconfirmed holds for everyone.
  const expired = await a.expireShared(Date.now() + 10_000);
  assert.equal(expired, 4);
  assert.equal((await b.active()).length, 0);
  assert.equal((await b.get(ok[1]!.body.requestId as string)).body.state, 'expired');
});

test('AuditStore on PostgreSQL: append keeps it bounded, list newest first with filters, prune by age', async (t) => {
  const p = await pool(t);
  const s = new PgAuditStore(p, { retentionMs: 60_000, maxEntries: 3 });
  const now = Date.now();
  for (let i = 0; i < 5; i++) {
    await s.append({
      at: now - (4 - i) * 1000,
      token: i % 2 ? 'ops' : 'ci',
      role: 'admin',
      method: 'POST',
      route: '/api/v1/silences',
      target: `s${i}`,
      status: 200,
      remote: '127.0.0.1',
    });
  }
  // maxEntries 3: each append drops what is past the bound, as the embedded store does.
  assert.deepEqual(
    (await s.list({ limit: 10 })).map((e) => e.target),
    ['s4', 's3', 's2'],
  );
  assert.deepEqual(
    (await s.list({ limit: 10, token: 'ops' })).map((e) => e.target),
    ['s3'],
  );
  assert.deepEqual(
    (await s.list({ limit: 10, since: now - 1500 })).map((e) => e.target),
    ['s4', 's3'],
  );
  assert.equal(await s.prune(now), 0);
  assert.equal(await s.prune(now + 10 * 60_000), 3, 'past the retention everything goes');
  assert.equal((await s.list({ limit: 10 })).length, 0);
});
