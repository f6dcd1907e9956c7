// Report -> points: names, tags and pinned types come from proto/schema.ts only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportPoints, type Point } from '../collector/index.js';
import { MEASUREMENTS, HOST_TAGS, INSTANCE_TAGS, floatValue, intValue, strValue } from '../proto/index.js';
import { makeReport, redisSample } from './collector-support.js';
import {
  CodisRates,
  codisSample,
  dashboardSample,
  parseTopomOverview,
  parseCodisModel,
  parseCodisSlots,
  parseCodisStats,
  parseNutcrackerConfig,
  parseTwemproxyStats,
  twemproxyRates,
  twemproxySample,
} from '../proxy/index.js';
import type { ProxySample } from '../proto/index.js';
import { readFixture } from './fixtures.js';

const fixture = (f: string) => readFixture(...f.split('/'));

/** A codis and a twemproxy sample from the real captures, with rates (two reads). */
function proxySamples(): ProxySample[] {
  const codis = codisSample({
    address: '127.0.0.1:11080',
    stats: parseCodisStats(fixture('codis/proxy-stats.json')),
    model: parseCodisModel(fixture('codis/proxy-model.json')),
    slots: parseCodisSlots(fixture('codis/proxy-slots.json')),
  });
  const rates = new CodisRates();
  rates.update(codis, 1_795_345_416_000);
  const stats = parseTwemproxyStats(fixture('twemproxy/stats-two-pools-with-errors.json'));
  const tw = twemproxySample(stats, {
    address: '127.0.0.1:22222',
    rates: twemproxyRates(stats, 0, stats, 10_000),
    pools: parseNutcrackerConfig(fixture('twemproxy/nutcracker-two-pools.yml')),
  });
  return [rates.annotate(codis, 1_795_345_417_000), tw];
}

const src = { hostId: 'storage-01', labels: { idc: 'sz-a', city: 'sz', env: 'prod', module: '' } };
const byMeasurement = (points: Point[], m: string) => points.filter((p) => p.measurement === m);

test('a full report yields every measurement, every listed field, with its pinned type', () => {
  const report = makeReport(7, {
    timestampMs: 1_795_345_417_000,
    redis: [redisSample({ sampledAtMs: 1_795_345_417_123 })],
    proxies: proxySamples(),
    events: [
      {
        timestampMs: 1_795_345_416_000,
        kind: 'instance.down',
        instance: '127.0.0.1:17381',
        message: 'connection refused',
        attrs: { attempt: '3' },
      },
    ],
  });
  report.persistence = { tokenHolder: '', queue: [], fields: { '127.0.0.1:17379/managed': intValue(1) } }; // collector-persistence.test.ts has the rest
  report.guard = {
    zkState: 'reachable',
    fields: { sentinels_total: intValue(3), '127.0.0.1:17379/phase': strValue('serving'), '127.0.0.1:17379/fenced': intValue(0) },
  }; // guard-units.test.ts has the rest
  report.sentinels = [
    {
      address: '127.0.0.1:26379',
      up: true,
      error: '',
      sampledAtMs: 1_795_345_417_050,
      tilt: false,
      discovered: false,
      masters: [
        {
          name: 'c1-g1',
          address: '127.0.0.1:17379',
          flags: 'master',
          replicas: 1,
          sentinels: 3,
          quorum: 2,
          quorumReachable: true,
          quorumDetail: 'OK 3 usable Sentinels',
          configEpoch: 4,
        },
      ],
    },
  ]; // sentinel-parse.test.ts has the rest
  report.dashboards = [dashboardSample({ address: '127.0.0.1:18080' }, parseTopomOverview(fixture('codis/topom-overview.json')))]; // codis-dashboard.test.ts has the rest
  const points = reportPoints(report, src);
  // Measurements the collector computes across reports (collector/failover/) come from elsewhere.
  const computed = new Set(['redis_repl_offset']);
  for (const def of Object.values(MEASUREMENTS).filter((d) => !computed.has(d.name))) {
    const ps = byMeasurement(points, def.name);
    assert.ok(ps.length > 0, `no ${def.name} point`);
    for (const p of ps) {
      for (const t of Object.keys(p.tags)) assert.ok(def.tags.includes(t), `${def.name} has unlisted tag ${t}`);
      for (const [f, v] of Object.entries(p.fields)) {
        const fd = def.fields[f];
        if (!fd) {
          assert.equal(def.otherNumericFields, 'float', `${def.name}.${f} is not in the schema`);
          assert.equal(typeof v, 'number');
          continue;
        }
        if (fd.type === 'string') assert.equal(typeof v, 'string', `${def.name}.${f}`);
        else assert.ok(typeof v === 'number' && Number.isFinite(v), `${def.name}.${f} = ${String(v)}`);
        if (fd.type === 'int') assert.ok(Number.isInteger(v), `${def.name}.${f} = ${String(v)} must be an integer`);
      }
    }
  }
  // Nothing a proxy sample carries is dropped for want of a schema entry.
  const items: Record<string, string> = {
    command: 'codis_proxy_cmd',
    group: 'codis_proxy_group',
    pool: 'twemproxy_pool',
    server: 'twemproxy_server',
  };
  for (const px of report.proxies) {
    const m = px.kind === 'codis' ? 'codis_proxy' : 'twemproxy';
    for (const f of Object.keys(px.fields)) assert.ok(MEASUREMENTS[m]!.fields[f], `${m}.${f} is in the schema`);
    for (const it of px.items)
      for (const f of Object.keys(it.fields))
        assert.ok(MEASUREMENTS[items[it.kind]!]!.fields[f], `${items[it.kind]}.${f} is in the schema`);
  }
  const tw = byMeasurement(points, 'twemproxy_server');
  assert.deepEqual(tw[0]!.tags.proxy, '127.0.0.1:22222');
  assert.ok(tw.every((p) => p.tags.pool && p.tags.server));
  // Every non-INFO field the schema lists is produced from a full report (the name mapping is complete).
  const all = (m: string) => new Set(byMeasurement(points, m).flatMap((p) => Object.keys(p.fields)));
  for (const m of [
    'host',
    'redis_replica',
    'redis_keyspace',
    'redis_cmdstat',
    'redis_latency',
    'redis_errorstat',
    'redis_slowlog',
    'event',
  ]) {
    for (const f of Object.keys(MEASUREMENTS[m]!.fields)) assert.ok(all(m).has(f), `${m}.${f} missing`);
  }
  const redisFields = all('redis');
  for (const f of [
    'up',
    'error',
    'maxmemory',
    'maxclients',
    'ops_per_sec',
    'net_input_bytes_per_sec',
    'net_output_bytes_per_sec',
    'keyspace_hit_ratio',
    'evicted_keys_per_sec',
    'expired_keys_per_sec',
    'rejected_connections_per_sec',
    'headroom_used_bytes',
    'headroom_limit_bytes',
    'headroom_limit_source',
    'headroom_used_ratio',
    'unavailable',
    'used_memory',
    'mem_fragmentation_ratio',
    'redis_version',
    'master_repl_offset',
    'used_cpu_sys',
  ]) {
    assert.ok(redisFields.has(f), `redis.${f} missing`);
  }
});

test('tags: host labels (empty ones omitted), instance, role, cluster, group; timestamps per source', () => {
  const report = makeReport(1, { timestampMs: 1_000_000, redis: [redisSample({ sampledAtMs: 1_000_050 })] });
  const points = reportPoints(report, src);
  const host = byMeasurement(points, 'host')[0]!;
  assert.deepEqual(host.tags, { host: 'storage-01', idc: 'sz-a', city: 'sz', env: 'prod' });
  assert.equal(host.time, 1_000_000);
  assert.deepEqual(Object.keys(host.tags).sort(), HOST_TAGS.filter((t) => t !== 'module').sort());
  const redis = byMeasurement(points, 'redis')[0]!;
  assert.deepEqual(redis.tags, {
    host: 'storage-01',
    idc: 'sz-a',
    city: 'sz',
    env: 'prod',
    instance: '127.0.0.1:17379',
    role: 'master',
    cluster: 'c1',
    group: 'g1',
  });
  assert.ok(Object.keys(redis.tags).every((t) => (INSTANCE_TAGS as readonly string[]).includes(t)));
  assert.equal(redis.time, 1_000_050, 'instance points carry sampledAtMs');
  const replica = byMeasurement(points, 'redis_replica')[0]!;
  assert.equal(replica.tags.replica, '127.0.0.1:17380');
  assert.equal(replica.tags.state, 'online');
  assert.equal(
    byMeasurement(points, 'redis_keyspace')
      .map((p) => p.tags.db)
      .join(),
    'db0,db1',
  );
  assert.equal(byMeasurement(points, 'redis_latency')[0]!.fields.p99_9, 313.343);
  const slow = byMeasurement(points, 'redis_slowlog')[0]!;
  assert.equal(slow.tags.command_name, 'keys');
  assert.equal(slow.time, 1_795_345_400 * 1000 + 7, 'slowlog time = entry second + id % 1000 ms');
  assert.equal(slow.fields.command, 'KEYS *');
});

test('values are coerced to the pinned type; NaN/Infinity and unlisted strings are skipped', () => {
  const s = redisSample({
    info: {
      used_memory: floatValue(1234.9), // int field sent as float -> truncated int
      mem_fragmentation_ratio: intValue(1), // float field sent as int -> still a float field
      connected_clients: strValue('17'), // int field sent as a numeric string
      rdb_last_bgsave_status: intValue(0), // string field sent as a number -> string
      some_future_ratio: floatValue(0.5), // unlisted numeric -> float
      some_future_text: strValue('hello'), // unlisted string -> dropped
      instantaneous_input_kbps: floatValue(Number.NaN),
      total_net_input_bytes: floatValue(Number.POSITIVE_INFINITY),
    },
  });
  s.maxmemory = -1; // CONFIG refused: INFO's maxmemory stays
  s.rates = { ...s.rates!, valid: false };
  const redis = byMeasurement(reportPoints(makeReport(1, { redis: [s] }), src), 'redis')[0]!;
  assert.equal(redis.fields.used_memory, 1234);
  assert.equal(redis.fields.mem_fragmentation_ratio, 1);
  assert.equal(redis.fields.connected_clients, 17);
  assert.equal(redis.fields.rdb_last_bgsave_status, '0');
  assert.equal(redis.fields.some_future_ratio, 0.5);
  assert.ok(!('some_future_text' in redis.fields));
  assert.ok(!('instantaneous_input_kbps' in redis.fields));
  assert.ok(!('total_net_input_bytes' in redis.fields));
  assert.ok(!('role' in redis.fields), 'role is a tag, never a field');
  assert.equal(redis.fields.maxmemory, 0, 'INFO maxmemory when CONFIG was not available');
  assert.ok(!('ops_per_sec' in redis.fields), 'no rates when rates.valid is false');
  assert.equal(redis.fields.unavailable, 'LATENCY');
});

test('CONFIG maxmemory/maxclients override INFO; a down instance has up=0, its error and no role tag', () => {
  const up = redisSample({ info: { maxmemory: intValue(0), maxclients: intValue(4064) } });
  up.maxmemory = 1_073_741_824;
  up.maxclients = 20_000;
  const down = redisSample({ address: '127.0.0.1:17381', up: false });
  const points = byMeasurement(reportPoints(makeReport(3, { redis: [up, down] }), src), 'redis');
  assert.equal(points[0]!.fields.maxmemory, 1_073_741_824);
  assert.equal(points[0]!.fields.maxclients, 20_000);
  assert.equal(points[1]!.fields.up, 0);
  assert.match(String(points[1]!.fields.error), /ECONNREFUSED/);
  assert.ok(!('role' in points[1]!.tags));
  assert.ok(!('headroom_limit_bytes' in points[1]!.fields));
});

test('control characters in tag values are replaced; an event without instance has no instance tag', () => {
  const points = reportPoints(
    makeReport(1, {
      redis: [],
      events: [{ timestampMs: 5, kind: 'fork.start', instance: '', message: 'line1\nline2', attrs: {} }],
    }),
    { hostId: 'h\n1', labels: { idc: 'a\tb' } },
  );
  const ev = byMeasurement(points, 'event')[0]!;
  assert.deepEqual(ev.tags, { host: 'h 1', idc: 'a b', kind: 'fork.start' });
  assert.equal(ev.fields.message, 'line1\nline2', 'string fields keep their text');
  assert.equal(ev.fields.attrs, '{}');
  assert.equal(ev.time, 5);
});
