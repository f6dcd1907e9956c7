// /api/v1/query `step` (PointQuery.stepMs): every sink — the embedded SQLite store, a real
// InfluxDB 1.x and a real VictoriaMetrics — answers one point per (series, bucket) whose values are
// the aggregate of the raw points the same sink returns without a step (computed here), and
// `sum` adds the series of a cluster per bucket. Bad steps are refused with a 400 naming the key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pino from 'pino';
import { harness, waitFor, type Harness } from './harness/index.js';
import { Store } from '../collector/store.js';
import { EmbeddedHistory } from '../collector/history.js';
import { InfluxSink } from '../collector/influx.js';
import { encodeLines } from '../collector/line-protocol.js';
import type { Point } from '../collector/points.js';
import type { Aggregate, MetricSink, PointQuery } from '../collector/sink.js';

let shared: Harness;
before(async () => {
  shared = await harness();
});
after(() => shared?.close());

const logger = pino({ level: 'silent' });
// Two hours ago (inside VictoriaMetrics' retention), 3 s past an hour: not on a bucket boundary.
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000 + 3000;
const STEP = 60_000;
const INSTANCES = ['10.0.0.1:6379', '10.0.0.2:6379', '10.0.0.3:6380'];

/** 30 minutes of points at 10 s per instance (two in cluster c1, one in c2), pseudo-random values. */
function synthetic(): Point[] {
  const out: Point[] = [];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 1000;
  for (let t = T0; t < T0 + 30 * 60_000; t += 10_000) {
    INSTANCES.forEach((instance, i) => {
      out.push({
        measurement: 'redis',
        tags: { host: `h${i}`, instance, role: 'master', cluster: i < 2 ? 'c1' : 'c2', group: `g${i}` },
        fields: { ops_per_sec: Math.round(rnd() * 100) / 100, connected_clients: Math.round(rnd()), used_memory: 1e6 + i },
        time: t,
      });
    });
  }
  return out;
}

const FIELDS = ['ops_per_sec', 'connected_clients'];

/** What the step query must answer, from the sink's own raw points. */
function expected(raw: Point[], agg: Aggregate): Map<string, Record<string, number>> {
  const groups = new Map<string, Point[]>();
  for (const p of raw) {
    const key = `${p.tags.instance}@${Math.floor(p.time / STEP) * STEP}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out = new Map<string, Record<string, number>>();
  for (const [key, ps] of groups) {
    ps.sort((a, b) => a.time - b.time);
    const fields: Record<string, number> = {};
    for (const f of FIELDS) {
      const vs = ps.map((p) => Number(p.fields[f]));
      fields[f] =
        agg === 'mean'
          ? vs.reduce((a, b) => a + b, 0) / vs.length
          : agg === 'max'
            ? Math.max(...vs)
            : agg === 'min'
              ? Math.min(...vs)
              : vs[vs.length - 1]!;
    }
    out.set(key, fields);
  }
  return out;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

async function checkSink(sink: MetricSink, name: string): Promise<void> {
  const window: PointQuery = { measurement: 'redis', from: T0, to: T0 + 30 * 60_000 - 1 };
  const raw = await sink.query({ ...window, fields: FIELDS, limit: 100_000 });
  assert.equal(raw.length, 180 * INSTANCES.length, `${name}: raw points`);
  for (const agg of ['mean', 'max', 'min', 'last'] as const) {
    const want = expected(raw, agg);
    const got = await sink.query({ ...window, fields: FIELDS, stepMs: STEP, agg });
    // 30 min starting at :00:03 spans 30 one-minute buckets per series.
    assert.equal(got.length, 30 * INSTANCES.length, `${name} ${agg}: buckets`);
    assert.equal(want.size, got.length, `${name} ${agg}: one point per series and bucket`);
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.time >= got[i - 1]!.time, `${name} ${agg}: oldest first`);
    for (const p of got) {
      assert.equal(p.time % STEP, 0, `${name}: bucket start`);
      const w = want.get(`${p.tags.instance}@${p.time}`);
      assert.ok(w, `${name} ${agg}: unexpected bucket ${p.tags.instance}@${p.time}`);
      assert.equal(p.tags.cluster, p.tags.instance === INSTANCES[2] ? 'c2' : 'c1');
      for (const f of FIELDS) assert.ok(close(Number(p.fields[f]), w[f]!), `${name} ${agg} ${f}@${p.time}: ${p.fields[f]} vs ${w[f]}`);
      assert.equal(p.fields.used_memory, undefined, `${name}: only the asked fields`);
    }
  }
  // Cluster sums: per bucket, the sum over the cluster's instances of their means.
  const means = expected(raw, 'mean');
  const sums = await sink.query({ ...window, fields: ['ops_per_sec'], stepMs: STEP, sumBy: ['cluster'] });
  assert.equal(sums.length, 30 * 2, `${name}: one sum per cluster and bucket`);
  for (const p of sums) {
    assert.deepEqual(Object.keys(p.tags), ['cluster']);
    const members = p.tags.cluster === 'c1' ? INSTANCES.slice(0, 2) : INSTANCES.slice(2);
    const want = members.reduce((a, inst) => a + (means.get(`${inst}@${p.time}`)?.ops_per_sec ?? 0), 0);
    assert.ok(close(Number(p.fields.ops_per_sec), want), `${name} sum ${p.tags.cluster}@${p.time}: ${p.fields.ops_per_sec} vs ${want}`);
  }
  const total = await sink.query({ ...window, fields: ['ops_per_sec'], stepMs: STEP, sumBy: [] });
  assert.equal(total.length, 30, `${name}: sum=all gives one series`);
  // A tag filter and a limit on buckets.
  const one = await sink.query({ ...window, tags: { instance: INSTANCES[1]! }, fields: ['ops_per_sec'], stepMs: 5 * STEP, limit: 3 });
  assert.equal(one.length, 3, `${name}: limit counts buckets`);
  assert.ok(one.every((p) => p.tags.instance === INSTANCES[1]));
}

test('embedded store: step buckets are the mean/max/min/last of the raw points; sum per cluster', async (t) => {
  const h = await harness(t);
  const store = Store.open(path.join(await h.tempDir('step'), 'store.db'));
  const sink = new EmbeddedHistory(store, { retentionMs: 1e13, maxPoints: 1e9 }, logger);
  t.after(async () => {
    await sink.close();
    store.close();
  });
  assert.equal(sink.write(synthetic()), true);
  assert.equal(await sink.drain(), true);
  await checkSink(sink, 'sqlite');
  // Without field names INFO's open field set is downsampled in JS: same answer.
  const all = await sink.query({ measurement: 'redis', from: T0, stepMs: STEP, tags: { instance: INSTANCES[0]! } });
  const named = await sink.query({
    measurement: 'redis',
    from: T0,
    stepMs: STEP,
    tags: { instance: INSTANCES[0]! },
    fields: ['used_memory'],
  });
  assert.deepEqual(
    all.map((p) => [p.time, p.fields.used_memory]),
    named.map((p) => [p.time, p.fields.used_memory]),
  );
});

test('InfluxDB: step answered by GROUP BY time() matches the raw points; sum per cluster by a subquery', async () => {
  const influx = await shared.influx();
  const db = 'step_test';
  await influx.createDatabase(db);
  await influx.write(encodeLines(synthetic()).lines.toString(), db);
  const sink = new InfluxSink(
    { url: influx.url, flavor: 'influxdb', database: db, batchSize: 1000, flushIntervalMs: 100, maxQueuePoints: 10_000, gzip: true },
    logger,
    { ackOnQueue: true },
  );
  try {
    await checkSink(sink, 'influxdb');
  } finally {
    await sink.close();
  }
});

test('VictoriaMetrics: step over the export API matches the raw points', async () => {
  const vm = await shared.victoria();
  await vm.write(encodeLines(synthetic()).lines.toString());
  const sink = new InfluxSink(
    {
      url: vm.url,
      flavor: 'victoriametrics',
      database: 'fleet',
      batchSize: 1000,
      flushIntervalMs: 100,
      maxQueuePoints: 10_000,
      gzip: true,
    },
    logger,
    { ackOnQueue: true },
  );
  try {
    await waitFor(async () => (await sink.query({ measurement: 'redis', from: T0, fields: FIELDS, limit: 100_000 })).length === 540, {
      what: 'VictoriaMetrics has the points',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await checkSink(sink, 'victoriametrics');
  } finally {
    await sink.close();
  }
});

test('/api/v1/query: step, agg and sum checked; a step answer says its step', async (t) => {
  const h = await harness(t);
  const c = await h.collector();
  const from = Date.now() - 3_600_000;
  const bad = async (qs: string, key: string) => {
    const r = await c.request(`/api/v1/query?measurement=redis&${qs}`);
    assert.equal(r.status, 400, `${qs}: ${r.text}`);
    assert.match((r.body as { message: string }).message, new RegExp(`^${key}: `), qs);
  };
  await bad(`from=${from}&step=fast`, 'step');
  await bad(`from=${from}&step=500ms`, 'step');
  await bad('step=60s', 'from');
  await bad(`from=${from - 30 * 86_400_000}&step=60s`, 'step');
  await bad(`from=${from}&step=60s&agg=median`, 'agg');
  await bad(`from=${from}&agg=max`, 'agg');
  await bad(`from=${from}&sum=cluster`, 'sum');
  await bad(`from=${from}&step=60s&sum=nope`, 'sum');
  await bad(`from=${from}&fields=a.b`, 'fields');
  const ok = await c.api(`/api/v1/query?measurement=redis&from=${from}&step=5m&agg=max&fields=ops_per_sec&sum=cluster`);
  assert.equal(ok.stepMs, 300_000);
  assert.equal(ok.agg, 'max');
  assert.equal(ok.truncated, false);
  assert.deepEqual(ok.points, []);
});
