// Query benchmark (run on demand: npm run bench -- query).
// 24 h of synthetic `redis` points at 10 s for a cluster of BENCH_INSTANCES instances (default 20),
// loaded into the embedded SQLite store, a real InfluxDB 1.x and a real VictoriaMetrics; then, from each sink, the
// latency of what a 24 h chart asks (PointQuery with stepMs, as /api/v1/query?step= does):
// one instance's ops/s at 120 s and 300 s, and the cluster's ops/s summed per bucket, beside the
// raw query (no step) of the same instance's 8,640 points — all in the same run. Target: < 200 ms.
// The peer rows ("previous path") run the same cluster queries the way they were answered before
// (SQLite: 1-minute rollups only, a Rollup object per bucket), in the same run.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { harness, type Harness } from '../harness/index.js';
import { Store } from '../../collector/store.js';
import { EmbeddedHistory } from '../../collector/history.js';
import { InfluxSink } from '../../collector/influx.js';
import { encodeLines } from '../../collector/line-protocol.js';
import type { Point } from '../../collector/points.js';
import type { MetricSink, PointQuery } from '../../collector/sink.js';
import { fixed, percentile, table } from './lib.js';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 20);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 30);
const DAY = 86_400_000;
/** Fields per point (default 3); BENCH_WIDE=180 is about a real `redis` point (a third moving gauges, a third constant, a third counters). */
const WIDE = Math.max(3, Number(process.env.BENCH_WIDE ?? 3));
/** Which sinks to load and query (a wide run of all three takes long). */
const SINKS = (process.env.BENCH_SINKS ?? 'sqlite,influxdb,victoriametrics').split(',');
const logger = pino({ level: 'silent' });

const to = Math.floor(Date.now() / 10_000) * 10_000;
const from = to - DAY;

function* day(): Generator<Point[]> {
  for (let t = from; t < to; t += 10_000) {
    const batch: Point[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      batch.push({
        measurement: 'redis',
        tags: { host: `h${i % 10}`, instance: `10.0.${i >> 8}.${i & 255}:6379`, role: 'master', cluster: 'c1', group: `g${i}` },
        fields: { ops_per_sec: 1000 + ((t / 10_000 + i * 7) % 500), used_memory: 1e8 + i, connected_clients: 10 + (i % 5) },
        time: t,
      });
      const fields = batch[i]!.fields;
      for (let k = 3; k < WIDE; k++)
        fields[`x${k}`] = k % 3 === 0 ? (((t / 10_000) * (k + 1) + i) % 1000) + 0.5 : k % 3 === 1 ? k * 1000 : (t / 10_000) * k;
    }
    yield batch;
  }
}

const QUERIES: [string, PointQuery][] = [
  [
    'instance raw (no step)',
    { measurement: 'redis', tags: { instance: '10.0.0.0:6379' }, fields: ['ops_per_sec'], from, to, limit: 100_000 },
  ],
  ['instance step=120s', { measurement: 'redis', tags: { instance: '10.0.0.0:6379' }, fields: ['ops_per_sec'], from, to, stepMs: 120_000 }],
  ['instance step=300s', { measurement: 'redis', tags: { instance: '10.0.0.0:6379' }, fields: ['ops_per_sec'], from, to, stepMs: 300_000 }],
  [
    `cluster sum step=120s (${INSTANCES} inst.)`,
    { measurement: 'redis', tags: { cluster: 'c1' }, fields: ['ops_per_sec'], from, to, stepMs: 120_000, sumBy: ['cluster'] },
  ],
  // The console's 24 h cluster chart (collector/console/charts.ts).
  [
    `cluster sum step=300s (${INSTANCES} inst.)`,
    { measurement: 'redis', tags: { cluster: 'c1' }, fields: ['ops_per_sec'], from, to, stepMs: 300_000, sumBy: ['cluster'] },
  ],
];

const CLUSTER = QUERIES[3]![1];
const CLUSTER_300 = QUERIES[4]![1];

async function measure(sink: MetricSink, name: string, rows: (string | number)[][], extra: [string, PointQuery][] = []): Promise<void> {
  for (const [what, q] of [...QUERIES, ...extra]) {
    const times: number[] = [];
    let n = 0;
    for (let i = 0; i < ITERATIONS + 2; i++) {
      const t0 = performance.now();
      n = (await sink.query(q)).length;
      if (i >= 2) times.push(performance.now() - t0); // two warm-up runs
    }
    times.sort((a, b) => a - b);
    rows.push([name, what, n, fixed(percentile(times, 50), 1), fixed(percentile(times, 99), 1)]);
  }
}

async function main(): Promise<void> {
  const h = await harness();
  try {
    const rows: (string | number)[][] = [['sink', 'query (24 h)', 'points', 'p50 ms', 'p99 ms']];
    console.log(
      `loading 24 h at 10 s of ${INSTANCES} instances (${(8640 * INSTANCES).toLocaleString()} points of ${WIDE} fields) into ${SINKS.join(', ')}…`,
    );
    if (SINKS.includes('sqlite')) await sqliteRows(h, rows);
    if (SINKS.includes('influxdb')) await influxRows(h, rows);
    if (SINKS.includes('victoriametrics')) await victoriaRows(h, rows);
    console.log(table(rows));
  } finally {
    await h.close();
  }
}

async function sqliteRows(h: Harness, rows: (string | number)[][]): Promise<void> {
  const store = Store.open(path.join(await h.tempDir('bench-query'), 'store.db'));
  // The store's defaults: raw points for 3 h, 1-minute rollups beyond (as after a day of running).
  const sqlite = new EmbeddedHistory(store, { retentionMs: 7 * DAY, rawRetentionMs: 3 * 3_600_000, maxPoints: 1e9 }, logger);
  for (const batch of day()) {
    while (!sqlite.write(batch)) await sqlite.drain();
  }
  await sqlite.drain(600_000);
  while (sqlite.rollupChunk(true) > 0);
  while (sqlite.rollup5Chunk() > 0);
  sqlite.prune();
  await measure(sqlite, 'SQLite (embedded)', rows, [
    ['previous path: cluster sum step=120s', { ...CLUSTER, dense: false } as PointQuery],
    ['previous path: cluster sum step=300s', { ...CLUSTER_300, dense: false, tier: 'rollups' } as PointQuery],
  ]);
  await sqlite.close();
  store.close();
}

async function influxRows(h: Harness, rows: (string | number)[][]): Promise<void> {
  const influx = await h.influx();
  await influx.createDatabase('bench');
  let lines: string[] = [];
  for (const batch of day()) {
    lines.push(encodeLines(batch).lines.toString().trimEnd());
    if (lines.length >= 500) {
      await influx.write(lines, 'bench');
      lines = [];
    }
  }
  if (lines.length) await influx.write(lines, 'bench');
  const sink = new InfluxSink(
    {
      url: influx.url,
      flavor: 'influxdb',
      database: 'bench',
      batchSize: 5000,
      flushIntervalMs: 1000,
      maxQueuePoints: 10_000,
      gzip: true,
    },
    logger,
    { ackOnQueue: true },
  );
  await measure(sink, 'InfluxDB 1.x', rows);
  await sink.close();
  console.log(table(rows));
}

async function victoriaRows(h: Harness, rows: (string | number)[][]): Promise<void> {
  const vm = await h.victoria();
  const lines: string[] = [];
  for (const batch of day()) lines.push(encodeLines(batch).lines.toString().trimEnd());
  for (let i = 0; i < lines.length; i += 500) await vm.write(lines.slice(i, i + 500), 'bench');
  const vmSink = new InfluxSink(
    {
      url: vm.url,
      flavor: 'victoriametrics',
      database: 'bench',
      batchSize: 5000,
      flushIntervalMs: 1000,
      maxQueuePoints: 10_000,
      gzip: true,
    },
    logger,
    { ackOnQueue: true },
  );
  // VictoriaMetrics makes written samples searchable within a few seconds: wait for the count to settle.
  const all = { ...CLUSTER, stepMs: undefined, sumBy: undefined, limit: 1e6 };
  let seen = -1;
  for (let t0 = Date.now(), n = (await vmSink.query(all)).length; n !== seen; n = (await vmSink.query(all)).length) {
    if (Date.now() - t0 > 120_000) throw new Error(`VictoriaMetrics: ${n} points of ${8640 * INSTANCES} after 2 min`);
    seen = n;
    await new Promise((r) => setTimeout(r, 2000));
  }
  console.log(`VictoriaMetrics: ${seen.toLocaleString()} points searchable`);
  await measure(vmSink, 'VictoriaMetrics', rows);
  await vmSink.close();
}

await main();
