// Folding failovers (collector/failover): many agents' +switch-master and the promotion seen in
// samples become one failover; role changes are events; the log survives in SQLite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailoverFolder, FailoverTracker, FOLD_DEFAULTS, OFFSET_PAIR_MAX_AGE_MS, ReplOffsets } from '../collector/failover/index.js';
import { openDatabase } from '../collector/sqlite.js';
import type { Event, RedisSample } from '../proto/index.js';

const T0 = 1_760_000_000_000;

function sample(address: string, role: 'master' | 'slave', at: number, master?: string): RedisSample {
  const info: RedisSample['info'] = {};
  if (master) {
    const i = master.lastIndexOf(':');
    info.master_host = { str: master.slice(0, i) };
    info.master_port = { int: Number(master.slice(i + 1)) };
  }
  return {
    address,
    cluster: 'c1',
    group: 'g-1',
    up: true,
    error: '',
    sampledAtMs: at,
    role,
    info,
    replicas: [],
    keyspace: [],
    commandstats: [],
    latencystats: [],
    errorstats: [],
    maxmemory: 0,
    maxclients: 10000,
    unavailable: [],
    slowlog: [],
  };
}

const switchMaster = (at: number, old: string, neu: string, sentinel = '127.0.0.1:26379'): Event => ({
  timestampMs: at,
  kind: 'sentinel.+switch-master',
  instance: neu,
  message: '',
  attrs: { master: 'mymaster', old, new: neu, sentinel },
});

const A = '10.0.0.1:6379';
const B = '10.0.0.2:6379';

test('three agents report +switch-master and two see the promotion: one failover, seen by all, with cluster and group', () => {
  const f = new FailoverFolder();
  assert.deepEqual(f.onReport('h1', { redis: [sample(A, 'master', T0), sample(B, 'slave', T0, A)], events: [] }, T0).created, []);
  f.onReport('h2', { redis: [sample(B, 'slave', T0 + 100, A)], events: [] }, T0 + 100);

  const r1 = f.onReport('h1', { redis: [sample(B, 'master', T0 + 10_000)], events: [switchMaster(T0 + 10_500, A, B)] }, T0 + 10_600);
  assert.equal(r1.created.length, 1);
  const fo = r1.created[0]!;
  assert.deepEqual(
    { ...fo },
    {
      id: 0,
      at: T0 + 10_000,
      cluster: 'c1',
      group: 'g-1',
      masterName: 'mymaster',
      oldMaster: A,
      newMaster: B,
      source: 'role',
      seenBy: ['h1'],
      sentinelAt: T0 + 10_500,
      roleAt: T0 + 10_000,
    },
  );
  assert.deepEqual(
    r1.roleChanges.map((c) => [c.address, c.from, c.to]),
    [[B, 'slave', 'master']],
  );

  const r2 = f.onReport(
    'h2',
    { redis: [sample(B, 'master', T0 + 10_100)], events: [switchMaster(T0 + 10_400, A, B, '127.0.0.1:26380')] },
    T0 + 10_700,
  );
  assert.equal(r2.created.length, 0, 'the second agent folds into the first failover');
  assert.deepEqual(
    r2.updated.map((x) => x.seenBy),
    [['h1', 'h2']],
  );
  assert.equal(r2.roleChanges.length, 0, 'the role change was already seen');
  const r3 = f.onReport('h3', { redis: [], events: [switchMaster(T0 + 11_000, A, B)] }, T0 + 11_100);
  assert.equal(r3.created.length, 0);
  assert.deepEqual(
    f.recent().map((x) => x.seenBy),
    [['h1', 'h2', 'h3']],
  );

  // The old master comes back as a replica: a role change, not a failover.
  const r4 = f.onReport('h1', { redis: [sample(A, 'slave', T0 + 30_000, B)], events: [] }, T0 + 30_000);
  assert.deepEqual(
    r4.roleChanges.map((c) => [c.address, c.from, c.to, c.master]),
    [[A, 'master', 'slave', B]],
  );
  assert.equal(r4.created.length, 0);
});

test('a failover back later, and one outside the window, are new failovers; a stale role is only a role change', () => {
  const f = new FailoverFolder();
  assert.equal(f.onReport('h1', { redis: [], events: [switchMaster(T0, A, B)] }, T0).created.length, 1);
  assert.equal(
    f.onReport('h1', { redis: [], events: [switchMaster(T0 + 5000, B, A)] }, T0 + 5000).created.length,
    1,
    'back to A: another failover',
  );
  assert.equal(
    f.onReport(
      'h1',
      { redis: [], events: [switchMaster(T0 + FOLD_DEFAULTS.windowMs + 10_000, A, B)] },
      T0 + FOLD_DEFAULTS.windowMs + 10_000,
    ).created.length,
    1,
  );

  // Back and forth within the window: three failovers; a slow agent's report of the first still folds into it.
  const ab = new FailoverFolder();
  assert.equal(ab.onReport('h1', { redis: [], events: [switchMaster(T0, A, B)] }, T0).created.length, 1);
  assert.equal(ab.onReport('h1', { redis: [], events: [switchMaster(T0 + 10_000, B, A)] }, T0 + 10_000).created.length, 1);
  assert.equal(ab.onReport('h1', { redis: [], events: [switchMaster(T0 + 20_000, A, B)] }, T0 + 20_000).created.length, 1);
  const slow = ab.onReport('h2', { redis: [], events: [switchMaster(T0 + 50, A, B)] }, T0 + 21_000);
  assert.deepEqual([slow.created.length, slow.updated.map((x) => x.at)], [0, [T0]]);

  const g = new FailoverFolder();
  g.onReport('h1', { redis: [sample(B, 'slave', T0, A)], events: [] }, T0);
  const late = T0 + FOLD_DEFAULTS.roleMemoryMs + 1;
  const r = g.onReport('h1', { redis: [sample(B, 'master', late)], events: [] }, late);
  assert.equal(r.created.length, 0);
  assert.equal(r.roleChanges.length, 1);
  // A down sample carries no role: no change.
  const down = { ...sample(B, 'master', late + 1), up: false, role: '' };
  assert.equal(g.onReport('h1', { redis: [down], events: [] }, late + 1).roleChanges.length, 0);

  // A promotion seen in samples before any +switch-master is named after the Sentinel samples.
  const k = new FailoverFolder();
  const sentinel = {
    address: '127.0.0.1:26379',
    up: true,
    error: '',
    sampledAtMs: T0,
    tilt: false,
    discovered: false,
    masters: [
      {
        name: 'mymaster',
        address: A,
        flags: 'master',
        replicas: 1,
        sentinels: 3,
        quorum: 2,
        quorumReachable: true,
        quorumDetail: 'OK',
        configEpoch: 1,
      },
    ],
  };
  k.onReport('h1', { redis: [sample(B, 'slave', T0, A)], events: [], sentinels: [sentinel] }, T0);
  assert.equal(k.onReport('h2', { redis: [sample(B, 'master', T0 + 1000)], events: [] }, T0 + 1000).created[0]!.masterName, 'mymaster');
});

test('tracker: one redis.failover event without a host tag, role_change events with one, the log in SQLite across a restart', () => {
  const db = openDatabase(':memory:');
  const tr = new FailoverTracker(db, T0);
  const src = { hostId: 'h1', labels: { idc: 'x' } };
  tr.onReport(src, { seq: 1, timestampMs: T0, redis: [sample(B, 'slave', T0, A)], proxies: [], events: [] }, T0);
  const pts = tr.onReport(
    src,
    { seq: 2, timestampMs: T0 + 1000, redis: [sample(B, 'master', T0 + 1000)], proxies: [], events: [switchMaster(T0 + 1200, A, B)] },
    T0 + 1300,
  );
  const failover = pts.filter((p) => p.tags.kind === 'redis.failover');
  assert.equal(failover.length, 1);
  assert.deepEqual(failover[0]!.tags, { kind: 'redis.failover' });
  assert.deepEqual(JSON.parse(String(failover[0]!.fields.attrs)), {
    old: A,
    new: B,
    when: new Date(T0 + 1000).toISOString(),
    source: 'role',
    cluster: 'c1',
    group: 'g-1',
    master: 'mymaster',
  });
  assert.match(String(failover[0]!.fields.message), /failover of mymaster \(cluster c1\): 10\.0\.0\.1:6379 → 10\.0\.0\.2:6379/);
  const role = pts.filter((p) => p.tags.kind === 'redis.role_change');
  assert.deepEqual(
    role.map((p) => p.tags),
    [{ host: 'h1', idc: 'x', kind: 'redis.role_change', instance: B }],
  );

  const again = new FailoverTracker(db, T0 + 2000);
  const listed = again.store.list();
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.masterName, 'mymaster', 'the +switch-master of the same report filled in the name');
  // Another agent's report after the restart still folds into the stored failover.
  const more = again.onReport(
    { hostId: 'h2', labels: {} },
    { seq: 1, timestampMs: T0 + 2000, redis: [], proxies: [], events: [switchMaster(T0 + 1500, A, B)] },
    T0 + 2000,
  );
  assert.equal(more.length, 0);
  assert.deepEqual(again.store.list()[0]!.seenBy, ['h1', 'h2']);
  db.close();
});

test('offset difference: master and replica from different agents paired by master_replid; another replid, stale sides and down samples are not', () => {
  const off = new ReplOffsets();
  const withRepl = (s: RedisSample, replid: string, offset: number): RedisSample => ({
    ...s,
    info: { ...s.info, master_replid: { str: replid }, [s.role === 'slave' ? 'slave_repl_offset' : 'master_repl_offset']: { int: offset } },
  });
  assert.deepEqual(off.onSamples([withRepl(sample(A, 'master', T0), 'r1', 5000)], T0), [], 'no replica yet');
  const pts = off.onSamples([withRepl(sample(B, 'slave', T0 + 300, A), 'r1', 4200)], T0 + 300);
  assert.deepEqual(pts, [
    {
      measurement: 'redis_repl_offset',
      tags: { master: A, replica: B, cluster: 'c1', group: 'g-1' },
      time: T0 + 300,
      fields: { master_offset: 5000, replica_offset: 4200, diff_bytes: 800, sample_gap_ms: 300 },
    },
  ]);
  // The master's next sample pairs with the replica's latest.
  assert.equal(off.onSamples([withRepl(sample(A, 'master', T0 + 1000), 'r1', 6000)], T0 + 1000)[0]!.fields.diff_bytes, 1800);
  // A replica of another history (after a failover elsewhere) is not compared with this master.
  const C = '10.0.0.3:6379';
  assert.deepEqual(off.onSamples([withRepl(sample(C, 'slave', T0 + 1100, A), 'r2', 10)], T0 + 1100), []);
  // Down samples are ignored; a master not heard of for longer than the pairing age is not paired.
  assert.deepEqual(off.onSamples([{ ...sample(A, 'master', T0 + 1200), up: false }], T0 + 1200), []);
  const late = T0 + 1000 + OFFSET_PAIR_MAX_AGE_MS + 1;
  assert.deepEqual(off.onSamples([withRepl(sample(B, 'slave', late, A), 'r1', 6000)], late), []);
});

test('offset difference: a replica that follows another history leaves the first; sides gone stale are let go and pair again when they return', () => {
  const off = new ReplOffsets();
  const withRepl = (s: RedisSample, replid: string, offset: number): RedisSample => ({
    ...s,
    info: { ...s.info, master_replid: { str: replid }, [s.role === 'slave' ? 'slave_repl_offset' : 'master_repl_offset']: { int: offset } },
  });
  const C = '10.0.0.3:6379';
  assert.equal(off.onSamples([withRepl(sample(A, 'master', T0), 'r1', 100), withRepl(sample(B, 'slave', T0, A), 'r1', 90)], T0).length, 1);
  // B now follows C's history (r2): A's next sample has no replica left to pair with.
  assert.deepEqual(off.onSamples([withRepl(sample(B, 'slave', T0 + 100, C), 'r2', 5)], T0 + 100), []);
  assert.deepEqual(off.onSamples([withRepl(sample(A, 'master', T0 + 200), 'r1', 120)], T0 + 200), []);
  const pts = off.onSamples([withRepl(sample(C, 'master', T0 + 300), 'r2', 7)], T0 + 300);
  assert.deepEqual(
    pts.map((p) => [p.tags.master, p.tags.replica, p.fields.diff_bytes]),
    [[C, B, 2]],
  );
  // Long after (every side stale, let go), B returns to r1 with A: one pair, none with C's old side.
  const later = T0 + 300 + 2 * OFFSET_PAIR_MAX_AGE_MS;
  assert.deepEqual(off.onSamples([withRepl(sample(C, 'master', later), 'r2', 9)], later), []);
  const back = off.onSamples(
    [withRepl(sample(A, 'master', later + 10), 'r1', 500), withRepl(sample(B, 'slave', later + 10, A), 'r1', 450)],
    later + 10,
  );
  assert.deepEqual(
    back.map((p) => [p.tags.master, p.tags.replica, p.fields.diff_bytes]),
    [[A, B, 50]],
  );
  assert.deepEqual(
    off.onSamples([withRepl(sample(C, 'master', later + 20), 'r2', 10)], later + 20),
    [],
    'B left r2 when it returned to r1',
  );
});
