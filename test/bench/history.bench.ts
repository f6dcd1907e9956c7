// Embedded history benchmark (npm run bench -- history): a simulated fleet (BENCH_INSTANCES
// instances, a sample every 10 s, ≈26 points per sample from a real INFO capture; counters
// grow and memory/clients/rates/latency gauges move every sample, config-like fields stay)
// written with synthetic timestamps as fast as commits allow, for
// BENCH_HOURS ending now, through the embedded history (raw + 1- and 5-minute rollups, durable
// commits, the default retentions and historyMaxBytes) on a real SQLite file. The peer, in
// the same run: the old raw-only table (one JSON object per point) fed the first
// BENCH_PEER_HOURS of the same points. Reports the file size, bytes per raw point and per
// rollup row, ingest samples/s of both, and the latency of 24 h step queries.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../common/index.js';
import { reportPoints, resolveCollectorConfig, type Point } from '../../collector/index.js';
import { EmbeddedHistory } from '../../collector/history.js';
import { MEASUREMENTS } from '../../proto/index.js';
import { Store } from '../../collector/store.js';
import { openDatabase, type Database } from '../../collector/sqlite.js';
import { syntheticSamples } from './ingest.js';
import { fixed, mb, percentile, table } from './lib.js';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 350);
const HOURS = Number(process.env.BENCH_HOURS ?? 24);
const PEER_HOURS = Number(process.env.BENCH_PEER_HOURS ?? 1);
const INTERVAL_MS = 10_000;
const BATCH_SAMPLES = 50;

/** Cumulative counters grow from sample to sample; the rest are gauges. */
const isCounter = (measurement: string, f: string) =>
  MEASUREMENTS[measurement]?.fields[`${f}_per_sec`] !== undefined ||
  /^(total_|calls$|usec$)|_(offset|hits|misses|processed|received)$/.test(f);

/** Gauges that move between samples in a busy instance; the others (ports, config, flags) stay put. */
const MOVES =
  /memory|clients|per_sec|ratio|kbps|cpu|keys|expires|avg_ttl|lag|p50|p99|usec|buffer|rss|frag|allocator|dataset|overhead|histlen|changes/;

/** One sample's points per instance, as a template; `at` gives the points of sample `k` at `time`. */
function fleet(): { points: (k: number, time: number) => Point[]; perSample: number } {
  const samples = syntheticSamples(INSTANCES);
  const templates = samples.map((s, n) =>
    reportPoints(
      { seq: 1, timestampMs: 0, redis: [s], proxies: [], events: [] },
      { hostId: `host-${Math.floor(n / 8)}`, labels: { idc: 'sz' } },
    ),
  );
  const perSample = templates[0]!.length;
  return {
    perSample,
    points(k, time) {
      const out: Point[] = [];
      const inst = k % INSTANCES;
      const step = Math.floor(k / INSTANCES);
      for (const t of templates[inst]!) {
        const fields: Record<string, number | string> = {};
        for (const f in t.fields) {
          const v = t.fields[f]!;
          if (typeof v !== 'number' || v === 0) fields[f] = v;
          else if (isCounter(t.measurement, f)) fields[f] = v + step * ((inst % 97) + 1) * 13;
          else if (!MOVES.test(f)) fields[f] = v;
          else {
            // Gauges move a few percent per sample (deterministic), ints stay ints.
            const x = v * (1 + 0.05 * Math.sin(step * 0.37 + inst + f.length));
            fields[f] = Number.isInteger(v) ? Math.round(x) : Number(x.toFixed(3));
          }
        }
        out.push({ measurement: t.measurement, tags: t.tags, fields, time: time + (inst % 1000) });
      }
      return out;
    },
  };
}

/** The old raw-only table (before rollups): one row per point, its fields as a JSON object. */
class LegacyRawTable {
  private readonly ids = new Map<string, number>();
  readonly commit: (batch: Point[]) => void;
  constructor(readonly db: Database) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE series (id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL, UNIQUE (measurement, tags));
      CREATE TABLE points (id INTEGER PRIMARY KEY, series INTEGER NOT NULL, time INTEGER NOT NULL, fields TEXT NOT NULL);
      CREATE UNIQUE INDEX points_series_time ON points(series, time);
      CREATE INDEX points_time ON points(time);`);
    const insertSeries = db.prepare('INSERT INTO series (measurement, tags) VALUES (?, ?)');
    const insertPoint = db.prepare('INSERT OR REPLACE INTO points (series, time, fields) VALUES (?, ?, ?)');
    this.commit = db.transaction((batch: Point[]) => {
      for (const p of batch) {
        const tags = JSON.stringify(p.tags);
        const key = `${p.measurement}\u0000${tags}`;
        let id = this.ids.get(key);
        if (id === undefined) this.ids.set(key, (id = Number(insertSeries.run(p.measurement, tags).lastInsertRowid)));
        insertPoint.run(id, Math.trunc(p.time), JSON.stringify(p.fields));
      }
    });
  }
}

const fileBytes = (file: string) => [file, `${file}-wal`].reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);

/** Bytes of a table and its indexes (SQLite's dbstat). */
function tableBytes(db: Database, table: string): number {
  const r = db
    .prepare<{ b: number }>(
      `SELECT sum(pgsize) AS b FROM dbstat WHERE name = ? OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?)`,
    )
    .get(table, table);
  return r?.b ?? 0;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-history-'));
  const logger = createLogger('bench-history', 'warn');
  try {
    const f = fleet();
    const tokenFile = path.join(dir, 'tokens');
    fs.writeFileSync(tokenFile, 'bench-history-token-0123456789\n');
    const config = resolveCollectorConfig({ grpc: { tokenFile }, store: { path: path.join(dir, 'c.db') } }).store;
    const steps = Math.round((HOURS * 3_600_000) / INTERVAL_MS);
    const peerSteps = Math.min(steps, Math.round((PEER_HOURS * 3_600_000) / INTERVAL_MS));
    const end = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS;
    const t0 = end - steps * INTERVAL_MS;
    console.log(
      `# history benchmark: ${INSTANCES} instances × ${HOURS} h at 10 s (${f.perSample} points per sample, ${steps * INSTANCES} samples), ` +
        `store defaults: raw ${config.historyRawRetentionMs / 3_600_000} h, rollups ${config.historyRetentionMs / 86_400_000} d, historyMaxBytes ${mb(config.historyMaxBytes)}; ` +
        `peer: old raw-only table, first ${PEER_HOURS} h; node ${process.version}, ${new Date().toISOString()}`,
    );

    // The peer first (the same first hour of points), then the store.
    const legacyFile = path.join(dir, 'legacy.db');
    const legacy = new LegacyRawTable(openDatabase(legacyFile));
    let start = performance.now();
    for (let s = 0; s < peerSteps * INSTANCES; s += BATCH_SAMPLES) {
      const batch: Point[] = [];
      for (let k = s; k < Math.min(s + BATCH_SAMPLES, peerSteps * INSTANCES); k++)
        batch.push(...f.points(k, t0 + Math.floor(k / INSTANCES) * INTERVAL_MS));
      legacy.commit(batch);
    }
    const legacySecs = (performance.now() - start) / 1000;
    legacy.db.pragma('wal_checkpoint(TRUNCATE)');
    const legacyRows = (legacy.db.prepare('SELECT count(*) AS n FROM points').get() as { n: number }).n;
    const legacyBytes = tableBytes(legacy.db, 'points');
    legacy.db.close();

    const store = Store.open(config.path);
    const history = new EmbeddedHistory(
      store,
      {
        retentionMs: config.historyRetentionMs,
        rawRetentionMs: config.historyRawRetentionMs,
        maxPoints: config.maxHistoryPoints,
        maxBytes: config.historyMaxBytes,
      },
      logger,
    );
    history.start();
    let peerMark = 0;
    let maxFile = 0;
    start = performance.now();
    for (let s = 0; s < steps * INSTANCES; s += BATCH_SAMPLES) {
      const batch: Point[] = [];
      for (let k = s; k < Math.min(s + BATCH_SAMPLES, steps * INSTANCES); k++)
        batch.push(...f.points(k, t0 + Math.floor(k / INSTANCES) * INTERVAL_MS));
      while (!history.write(batch, () => undefined)) await new Promise((r) => setTimeout(r, 5));
      if (history.queueLength() > 100_000) await history.drain(600_000);
      if (s + BATCH_SAMPLES >= peerSteps * INSTANCES && !peerMark) {
        await history.drain(600_000);
        peerMark = (performance.now() - start) / 1000;
      }
      if (s % (INSTANCES * 360) < BATCH_SAMPLES) {
        maxFile = Math.max(maxFile, fileBytes(config.path));
        if (s) process.stdout.write(`  ${fixed((s / INSTANCES / steps) * 100, 0)}% written, file ${mb(fileBytes(config.path))}\n`);
      }
    }
    await history.drain(600_000);
    const secs = (performance.now() - start) / 1000;
    history.prune();
    maxFile = Math.max(maxFile, fileBytes(config.path));

    const db = store.db;
    const count = (t: string) => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    const rawRows = count('history_raw');
    const rollupRows = count('history_1m');
    const rawBytes = tableBytes(db, 'history_raw');
    const rollupBytes = tableBytes(db, 'history_1m');
    const rollup5Rows = count('history_5m');
    const rollup5Bytes = tableBytes(db, 'history_5m');

    const lat = (q: Parameters<EmbeddedHistory['queryPoints']>[0]): { ms: number; points: number } => {
      const times: number[] = [];
      let points = 0;
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        points = history.queryPoints(q).length;
        times.push(performance.now() - t);
      }
      return {
        ms: percentile(
          times.sort((a, b) => a - b),
          50,
        ),
        points,
      };
    };
    const inst = syntheticSamples(1)[0]!.address;
    // The console's chart queries (4 fields of an instance, 3 summed over a host's instances) and all fields.
    const chart = ['ops_per_sec', 'used_memory', 'maxmemory', 'connected_clients'];
    const day = { from: end - 86_400_000, to: end };
    const queries: [string, ReturnType<typeof lat>][] = [
      [
        'redis, one instance, 24 h, step 2 min, 4 fields',
        lat({ measurement: 'redis', tags: { instance: inst }, ...day, stepMs: 120_000, fields: chart }),
      ],
      ['redis, one instance, 24 h, step 60 s, all fields', lat({ measurement: 'redis', tags: { instance: inst }, ...day, stepMs: 60_000 })],
      [
        'redis, one instance, last 1 h, step 10 s, 4 fields (raw)',
        lat({ measurement: 'redis', tags: { instance: inst }, from: end - 3_600_000, to: end, stepMs: 10_000, fields: chart }),
      ],
      [
        'redis, one instance, 24 h, step 5 min, 4 fields (the console; 5-minute rollups)',
        lat({ measurement: 'redis', tags: { instance: inst }, ...day, stepMs: 300_000, fields: chart }),
      ],
      [
        'redis, 8 instances of a host, 24 h, step 5 min, 3 fields summed',
        lat({ measurement: 'redis', tags: { host: 'host-0' }, ...day, stepMs: 300_000, fields: chart.slice(0, 3), sumBy: ['host'] }),
      ],
      [
        'redis, 8 instances of a host, 24 h, step 2 min, 3 fields',
        lat({ measurement: 'redis', tags: { host: 'host-0' }, ...day, stepMs: 120_000, fields: chart.slice(0, 3), limit: 100_000 }),
      ],
    ];
    await history.close();
    store.close();

    const samples = steps * INSTANCES;
    console.log(
      table([
        [
          'store',
          'samples',
          'samples/s',
          'rows kept',
          'bytes per raw point',
          'bytes per rollup row (1m / 5m)',
          'file (db + wal)',
          'largest file seen',
        ],
        [
          'old raw-only table (peer)',
          peerSteps * INSTANCES,
          fixed((peerSteps * INSTANCES) / legacySecs, 0),
          legacyRows,
          fixed(legacyBytes / legacyRows, 0),
          '-',
          mb(fileBytes(legacyFile)),
          '-',
        ],
        [`raw + rollups, first ${PEER_HOURS} h`, peerSteps * INSTANCES, fixed((peerSteps * INSTANCES) / peerMark, 0), '', '', '', '', ''],
        [
          `raw + rollups, ${HOURS} h`,
          samples,
          fixed(samples / secs, 0),
          `${rawRows} raw + ${rollupRows} 1m + ${rollup5Rows} 5m`,
          fixed(rawBytes / Math.max(1, rawRows), 0),
          `${fixed(rollupBytes / Math.max(1, rollupRows), 0)} / ${fixed(rollup5Bytes / Math.max(1, rollup5Rows), 0)}`,
          mb(fileBytes(config.path)),
          mb(maxFile),
        ],
      ]),
    );
    console.log(table([['query', 'points', 'median ms'], ...queries.map(([name, r]) => [name, r.points, fixed(r.ms, 1)])]));
  } finally {
    if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
