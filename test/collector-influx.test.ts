// The InfluxDB sink against a real influxd 1.6: points, tags and pinned field types
// queried back with InfluxQL; type pinning; 400s dropped not retried; InfluxDB away at start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitFor, DEFAULT_TOKEN, type CollectorProcess, type Harness, type InfluxServer } from './harness/index.js';
import { floatValue, intValue } from '../proto/index.js';
import { TestAgent, makeHello, makeReport, redisSample } from './collector-support.js';

let shared: Harness;
let influx: InfluxServer;

before(async () => {
  shared = await harness();
  influx = await shared.influx();
});
after(() => shared?.close());

const influxConfig = (url: string, database: string) => ({ influx: { url, database, flushInterval: '100ms', batchSize: 500 } });

function agentOf(h: Harness, c: CollectorProcess): TestAgent {
  const a = new TestAgent(c.grpcAddress, DEFAULT_TOKEN);
  h.onClose(() => a.close());
  return a;
}

/** SHOW FIELD KEYS as {field: type}. */
async function fieldTypes(db: string, measurement: string): Promise<Record<string, string>> {
  const rows = await influx.rows(`SHOW FIELD KEYS FROM "${measurement}"`, db);
  return Object.fromEntries(rows.map((r) => [String(r.fieldKey), String(r.fieldType)]));
}

test('influx sink: every measurement arrives with its tags, ms timestamps and pinned field types', async (t) => {
  const h = await harness(t);
  const db = 'rf_points';
  const c = await h.collector(influxConfig(influx.url, db));
  const a = agentOf(h, c);
  await a.hello(makeHello('influx-01', { labels: { idc: 'sz-a', city: 'sz', env: 'prod' } }));
  const ts = Date.now() - 60_000;
  await a.report(
    makeReport(1, {
      timestampMs: ts,
      redis: [redisSample({ address: '127.0.0.1:6379', sampledAtMs: ts + 7 })],
      events: [
        { timestampMs: ts + 9, kind: 'instance.down', instance: '127.0.0.1:6381', message: 'connection refused', attrs: { n: '1' } },
      ],
    }),
  );

  const redis = await waitFor(async () => (await influx.rows(`SELECT * FROM redis WHERE host = 'influx-01'`, db))[0], {
    what: 'the redis point in InfluxDB',
    timeoutMs: 20_000,
  });
  assert.equal(redis.time, ts + 7, 'ms precision, sample time');
  assert.equal(redis.instance, '127.0.0.1:6379');
  assert.equal(redis.role, 'master');
  assert.equal(redis.cluster, 'c1');
  assert.equal(redis.idc, 'sz-a');
  assert.equal(redis.used_memory, 5_491_288);
  assert.equal(redis.redis_version, '7.0.15');
  assert.equal(redis.up, 1);

  const types = await fieldTypes(db, 'redis');
  assert.equal(types.used_memory, 'integer');
  assert.equal(types.connected_clients, 'integer');
  assert.equal(types.mem_fragmentation_ratio, 'float');
  assert.equal(types.used_cpu_sys_children, 'float', 'unlisted numeric INFO fields are floats');
  assert.equal(types.redis_version, 'string');
  assert.equal(types.up, 'integer');
  assert.equal(types.ops_per_sec, 'float');
  assert.equal(types.headroom_limit_source, 'string');
  assert.equal(types.run_id, undefined, 'unlisted INFO strings are dropped');

  const hostTypes = await waitFor(
    async () => {
      const ft = await fieldTypes(db, 'host');
      return ft.cpu_cores ? ft : undefined;
    },
    { what: 'host fields' },
  );
  assert.equal(hostTypes.cpu_cores, 'integer');
  assert.equal(hostTypes.cpu_percent, 'float');
  assert.equal(hostTypes.agent_tick_cpu_ms, 'float');
  const tagKeys = (await influx.rows('SHOW TAG KEYS FROM "host"', db)).map((r) => r.tagKey).sort();
  assert.deepEqual(tagKeys, ['city', 'env', 'host', 'idc'], 'the empty module label is not a tag');

  const latency = (await influx.rows(`SELECT * FROM redis_latency WHERE host = 'influx-01'`, db))[0]!;
  assert.equal(latency.command, 'info');
  assert.equal(latency.p99_9, 313.343);
  const slow = (await influx.rows(`SELECT * FROM redis_slowlog`, db))[0]!;
  assert.equal(slow.time, 1_795_345_400_000 + 7);
  assert.equal(slow.command_name, 'keys');
  const event = (await influx.rows(`SELECT * FROM event`, db))[0]!;
  assert.equal(event.kind, 'instance.down');
  assert.equal(event.attrs, '{"n":"1"}');
  for (const m of ['redis_replica', 'redis_keyspace', 'redis_cmdstat', 'redis_errorstat']) {
    assert.equal((await influx.rows(`SELECT count(*) FROM ${m}`, db)).length, 1, `${m} has points`);
  }
});

test('influx sink: a float field first seen as "1" then "0.81" never conflicts; replays overwrite', async (t) => {
  const h = await harness(t);
  const db = 'rf_pinning';
  const c = await h.collector(influxConfig(influx.url, db));
  const a = agentOf(h, c);
  const hello = makeHello('pin-01');
  await a.hello(hello);
  const ts = Date.now() - 30_000;
  const sample = (n: number, frag: ReturnType<typeof intValue>, extra: ReturnType<typeof intValue>) =>
    redisSample({ sampledAtMs: ts + n, info: { mem_fragmentation_ratio: frag, some_new_counter: extra, used_memory: floatValue(1000.7) } });
  await a.report(makeReport(1, { timestampMs: ts + 1, redis: [sample(1, intValue(1), intValue(3))] }));
  await waitFor(async () => (await influx.rows(`SELECT mem_fragmentation_ratio FROM redis`, db)).length === 1, {
    what: 'first point',
    timeoutMs: 20_000,
  });
  await a.report(makeReport(2, { timestampMs: ts + 2, redis: [sample(2, floatValue(0.81), floatValue(0.5))] }));
  const rows = await waitFor(
    async () => {
      const r = await influx.rows(`SELECT mem_fragmentation_ratio, some_new_counter, used_memory FROM redis`, db);
      return r.length === 2 ? r : undefined;
    },
    { what: 'both points', timeoutMs: 20_000 },
  );
  assert.deepEqual(
    rows.map((r) => r.mem_fragmentation_ratio),
    [1, 0.81],
  );
  assert.deepEqual(
    rows.map((r) => r.some_new_counter),
    [3, 0.5],
  );
  assert.deepEqual(
    rows.map((r) => r.used_memory),
    [1000, 1000],
    'int field values are truncated',
  );
  const types = await fieldTypes(db, 'redis');
  assert.equal(types.mem_fragmentation_ratio, 'float');
  assert.equal(types.some_new_counter, 'float');

  // The agent re-sends report 2 on a new stream: same timestamps and tags, so InfluxDB overwrites.
  a.close();
  const again = agentOf(h, c);
  await again.hello(hello);
  await again.report(makeReport(2, { timestampMs: ts + 2, redis: [sample(2, floatValue(0.81), floatValue(0.5))] }));
  await waitFor(async () => (await c.api('/healthz')).sinkQueue === 0, { what: 'sink queue empty' });
  assert.equal((await influx.rows(`SELECT count(mem_fragmentation_ratio) FROM redis`, db))[0]!.count, 2);
  const health = await c.api('/healthz');
  assert.equal(health.sink, 'influx');
  assert.equal(health.sinkStats.droppedRejected, 0);
  assert.ok(!c.logs().some((l) => String(l.msg).startsWith('influx: write rejected')));
});

test('influx sink: a 400 (field type conflict) is logged with the server message and dropped, not retried', async (t) => {
  const h = await harness(t);
  const db = 'rf_conflict';
  await influx.createDatabase(db);
  // Someone else already wrote used_memory as a string into this shard.
  const ts = Date.now() - 20_000;
  await influx.write(`redis,host=other used_memory="lots" ${ts}`, db);
  const c = await h.collector(influxConfig(influx.url, db));
  const a = agentOf(h, c);
  await a.hello(makeHello('conflict-01'));
  await a.report(makeReport(1, { timestampMs: ts + 1, redis: [redisSample({ sampledAtMs: ts + 1 })] }));

  const line = await c.waitForLog((l) => l.msg === 'influx: write rejected as invalid; batch dropped, not retried', 20_000);
  assert.equal(line.status, 400);
  assert.match(String(line.error), /field type conflict/);
  assert.ok(Number(line.dropped) >= 1);
  // The valid points of that batch (host, keyspace, ...) are stored; later reports still flow.
  await waitFor(async () => (await influx.rows(`SELECT * FROM host WHERE host = 'conflict-01'`, db)).length === 1, {
    what: 'host point of the partial write',
  });
  await a.report(makeReport(2, { timestampMs: ts + 2, redis: [] }));
  await waitFor(async () => (await influx.rows(`SELECT * FROM host WHERE host = 'conflict-01'`, db)).length === 2, {
    what: 'the next report',
  });
  const health = await c.api('/healthz');
  assert.ok(health.sinkStats.droppedRejected >= 1);
  assert.equal(health.sinkQueue, 0, 'nothing stuck in a retry loop');
});

test('influx sink: InfluxDB down at start -> ingest keeps acking, points arrive once it is up', async (t) => {
  const h = await harness(t);
  const late = await h.influx();
  await late.stop();
  const db = 'rf_late';
  const c = await h.collector(influxConfig(late.url, db));
  const a = agentOf(h, c);
  await a.hello(makeHello('late-01'));
  const ts = Date.now() - 10_000;
  for (let seq = 1; seq <= 5; seq++) {
    await a.report(makeReport(seq, { timestampMs: ts + seq, redis: [redisSample({ sampledAtMs: ts + seq })] }));
  }
  const health = await c.api('/healthz');
  assert.ok(health.sinkQueue > 0, 'points wait in the queue while InfluxDB is away');
  await c.waitForLog((l) => String(l.msg).startsWith('influx: cannot create/check the database yet'));

  await late.restart();
  const rows = await waitFor(
    async () => {
      const r = await late.rows(`SELECT cpu_percent FROM host WHERE host = 'late-01'`, db).catch(() => []);
      return r.length === 5 ? r : undefined;
    },
    { what: 'all 5 host points after InfluxDB came up', timeoutMs: 30_000 },
  );
  assert.deepEqual(
    rows.map((r) => r.time),
    [1, 2, 3, 4, 5].map((s) => ts + s),
  );
  await waitFor(async () => (await c.api('/healthz')).sinkQueue === 0, { what: 'queue drained' });
  await c.waitForLog('influx: database ready');
});
