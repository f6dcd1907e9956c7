// The embedded history's two tiers on a real SQLite file: 1-minute rollups equal the
// mean/max/last of the raw points, survive a restart, answer step queries and old ranges;
// pruning keeps the file under historyMaxBytes while writing far beyond it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../common/index.js';
import { EmbeddedHistory, type HistoryOptions } from '../collector/history.js';
import { Store } from '../collector/store.js';
import type { Point } from '../collector/index.js';
import type { Agg } from '../collector/history-rows.js';
import { CHARTS_JS } from '../collector/console/charts.js';
import { CHART_FIELDS, MEASUREMENTS } from '../proto/index.js';

const MINUTE = 60_000;
const logger = createLogger('history-test', 'silent');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'history-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(file: string, opts: Partial<HistoryOptions> = {}): { store: Store; history: EmbeddedHistory } {
  const store = Store.open(file);
  const history = new EmbeddedHistory(
    store,
    { retentionMs: 7 * 86_400_000, rawRetentionMs: 6 * 3_600_000, maxPoints: 10_000_000, ...opts },
    logger,
  );
  history.start();
  return { store, history };
}

async function closeAll(s: { store: Store; history: EmbeddedHistory }): Promise<void> {
  await s.history.close();
  s.store.close();
}

/** Deterministic but irregular values: a gauge, a counter, a float and a string per point. */
function redisPoint(instance: string, time: number, i: number): Point {
  return {
    measurement: 'redis',
    tags: { host: 'h1', instance, role: 'master', cluster: 'c1', group: 'g1' },
    fields: {
      used_memory: 1_000_000 + ((i * 7919) % 100_003),
      total_commands_processed: 5_000 + i * 37,
      ops_per_sec: ((i * 31) % 97) / 3,
      maxmemory: 4 * 2 ** 30,
      redis_version: i % 2 ? '7.0.15' : '7.2.4',
    },
    time,
  };
}

const near = (got: unknown, want: number) => typeof got === 'number' && Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));

async function writeAll(h: EmbeddedHistory, points: Point[]): Promise<void> {
  let stored = 0;
  for (let i = 0; i < points.length; i += 500) {
    assert.ok(h.write(points.slice(i, i + 500), () => stored++));
  }
  assert.ok(await h.drain(60_000), 'drained');
  assert.equal(stored, Math.ceil(points.length / 500), 'every batch acked once committed');
}

const NUMERIC = ['used_memory', 'total_commands_processed', 'ops_per_sec', 'maxmemory'];

/** mean / min / max / last of each numeric field over the raw points of each (instance, bucket), computed here. */
function expected(points: Point[], step: number, agg: Agg): Map<string, Record<string, number>> {
  const groups = new Map<string, Point[]>();
  for (const p of points) {
    const key = `${p.tags.instance}@${Math.floor(p.time / step) * step}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out = new Map<string, Record<string, number>>();
  for (const [key, ps] of groups) {
    ps.sort((a, b) => a.time - b.time);
    const fields: Record<string, number> = {};
    for (const f of NUMERIC) {
      const vs = ps.map((p) => p.fields[f] as number);
      fields[f] =
        agg === 'mean'
          ? vs.reduce((a, b) => a + b, 0) / vs.length
          : agg === 'min'
            ? Math.min(...vs)
            : agg === 'max'
              ? Math.max(...vs)
              : vs.at(-1)!;
    }
    out.set(key, fields);
  }
  return out;
}

/** The start of the hour before this one: rollups of an hour-long interval fold its minutes. */
const lastHourStart = () => Math.floor((Date.now() - 3_600_000) / 3_600_000) * 3_600_000;

/** A fresh store with hourly rollups, and the hour its points go in. */
function openHourly(t: { after(fn: () => void): void }) {
  const s = open(path.join(tempDir(t), 'c.db'), { rollupIntervalMs: 3_600_000 });
  t.after(() => closeAll(s));
  return { s, t0: lastHourStart() };
}

test('rollups: per minute and per step, mean / min / max / last equal to those of the raw points', async (t) => {
  const { s, t0 } = openHourly(t);
  const points: Point[] = [];
  // 20 minutes of two instances every 10 s, written out of order (the second instance backwards).
  for (let i = 0; i < 120; i++) points.push(redisPoint('10.0.0.1:6379', t0 + i * 10_000, i));
  for (let i = 119; i >= 0; i--) points.push(redisPoint('10.0.0.1:6380', t0 + i * 10_000 + 3_000, i + 1000));
  await writeAll(s.history, points);

  const minutes = s.history.queryPoints({ measurement: 'redis', tier: 'rollups', limit: 1000 });
  assert.equal(minutes.length, 40, 'one rollup per series per minute');
  for (const r of minutes) {
    const raw = points.filter((p) => p.tags.instance === r.tags.instance && p.time >= r.time && p.time < r.time + MINUTE);
    assert.equal(raw.length, 6);
    assert.equal(
      r.fields.redis_version,
      raw.reduce((a, b) => (b.time > a.time ? b : a)).fields.redis_version,
      'a string keeps its last value',
    );
  }
  for (const step of [MINUTE, 5 * MINUTE]) {
    for (const agg of ['mean', 'min', 'max', 'last'] as const) {
      const want = expected(points, step, agg);
      for (const tier of ['rollups', undefined] as const) {
        const got = s.history.queryPoints({ measurement: 'redis', stepMs: step, agg, tier, from: t0, to: t0 + 20 * MINUTE });
        assert.equal(got.length, want.size, `${agg} per ${step / MINUTE} min: one point per instance and bucket`);
        for (const p of got) {
          const w = want.get(`${p.tags.instance}@${p.time}`)!;
          assert.ok(w, `bucket ${p.time}`);
          for (const f of NUMERIC)
            assert.ok(near(p.fields[f], w[f]!), `${agg} of ${f} per ${step / MINUTE} min at ${p.time}: ${p.fields[f]} vs ${w[f]}`);
          assert.equal(p.fields.redis_version, undefined, 'strings are left out of a step');
        }
      }
    }
  }
  // Charted fields only (read from the rollups' copy of them), per minute, against the raw points.
  for (const agg of ['mean', 'min', 'max', 'last'] as const) {
    const want = expected(points, MINUTE, agg);
    const got = s.history.queryPoints({ measurement: 'redis', tier: 'rollups', stepMs: MINUTE, agg, fields: ['ops_per_sec', 'maxmemory'] });
    assert.equal(got.length, want.size);
    for (const p of got) {
      assert.deepEqual(Object.keys(p.fields).sort(), ['maxmemory', 'ops_per_sec']);
      for (const f of ['ops_per_sec', 'maxmemory'])
        assert.ok(near(p.fields[f], want.get(`${p.tags.instance}@${p.time}`)![f]!), `charted ${agg} ${f} at ${p.time}`);
    }
  }
  const picked = s.history.queryPoints({ measurement: 'redis', stepMs: 5 * MINUTE, fields: ['ops_per_sec'], from: t0 });
  assert.ok(picked.length === 8 && picked.every((p) => Object.keys(p.fields).join() === 'ops_per_sec'), 'fields picks');

  // A replayed point with a new value replaces the raw one and its minute is recomputed.
  const replay = { ...points[0]!, fields: { ...points[0]!.fields, used_memory: 9_000_000 } };
  await writeAll(s.history, [replay]);
  const first = s.history.queryPoints({
    measurement: 'redis',
    tier: 'rollups',
    stepMs: MINUTE,
    agg: 'max',
    tags: { instance: '10.0.0.1:6379' },
    from: t0,
    to: t0,
  })[0]!;
  assert.equal(first.fields.used_memory, 9_000_000);
  const mean0 = s.history.queryPoints({
    measurement: 'redis',
    tier: 'rollups',
    stepMs: MINUTE,
    tags: { instance: '10.0.0.1:6379' },
    from: t0,
    to: t0,
  })[0]!;
  const mem0 = points.slice(0, 6).map((p, k) => (k === 0 ? 9_000_000 : (p.fields.used_memory as number)));
  assert.ok(near(mean0.fields.used_memory, mem0.reduce((a, c) => a + c, 0) / 6));

  // Committed (acked) but not folded yet (the rollup timer has not run): a step query still has them.
  const fresh: Point[] = [];
  for (let i = 120; i < 126; i++) fresh.push(redisPoint('10.0.0.1:6379', t0 + i * 10_000, i));
  // (the store's timers do not hold the process open: this one does until the ack)
  const alive = setInterval(() => undefined, 50);
  await new Promise<void>((resolve) => assert.ok(s.history.write(fresh, resolve)));
  clearInterval(alive);
  const tail = s.history.queryPoints({
    measurement: 'redis',
    stepMs: MINUTE,
    agg: 'max',
    tags: { instance: '10.0.0.1:6379' },
    from: t0 + 20 * MINUTE,
  });
  assert.equal(tail.length, 1);
  assert.equal(tail[0]!.fields.used_memory, Math.max(...fresh.map((p) => p.fields.used_memory as number)));
  assert.equal(
    s.history.queryPoints({ measurement: 'redis', tier: 'rollups', from: t0 + 20 * MINUTE }).length,
    0,
    'not in the rollups yet',
  );
});

test('rollups: the minute of a fleet spread over many commits is folded once per series, not once per chunk of rows', async (t) => {
  const { s, t0 } = openHourly(t);
  // 300 instances every second for 2 minutes, in time order as a fleet reports: each minute's
  // 18,000 rows span several chunks of 5,000 raw rows.
  const points: Point[] = [];
  for (let sec = 0; sec < 120; sec++)
    for (let i = 0; i < 300; i++) points.push(redisPoint(`10.0.${i >> 8}.${i & 255}:6379`, t0 + sec * 1000, sec + i));
  await writeAll(s.history, points);
  const r = s.store.db.prepare<{ rows: number; top: number }>('SELECT count(*) AS rows, max(id) AS top FROM history_1m').get()!;
  assert.equal(r.rows, 600, 'one rollup per instance and minute');
  // INSERT OR REPLACE gives a replaced row a new id: ids beyond the row count are refolds.
  assert.equal(r.top - r.rows, 0, 'no (series, minute) was folded twice');
  const want = expected(points, MINUTE, 'mean');
  const got = s.history.queryPoints({ measurement: 'redis', tier: 'rollups', stepMs: MINUTE, agg: 'mean', limit: 1000 });
  assert.equal(got.length, 600);
  for (const p of got)
    for (const f of NUMERIC) assert.ok(near(p.fields[f], want.get(`${p.tags.instance}@${p.time}`)![f]!), `${f} at ${p.time}`);
});

test('5-minute rollups: steps of whole 5 minutes read them, equal to the minutes; late points refold; an older file is filled', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.db');
  let s = open(file, { rollupIntervalMs: 3_600_000 });
  const t0 = lastHourStart();
  const points: Point[] = [];
  // 30 minutes of two instances every 10 s, the second one written backwards.
  for (let i = 0; i < 180; i++) points.push(redisPoint('10.0.0.1:6379', t0 + i * 10_000, i));
  for (let i = 179; i >= 0; i--) points.push(redisPoint('10.0.0.1:6380', t0 + i * 10_000 + 3_000, i + 1000));
  await writeAll(s.history, points);
  // The window of the newest point stays in the minutes (more may come): 5 windows per series.
  const fives = () => s.history.queryPoints({ measurement: 'redis', tier: 'rollups5m', limit: 1000 });
  assert.equal(fives().length, 10, 'one 5-minute rollup per series per complete window');

  // Charted fields only (their copy in the 5-minute rows: CHART_FIELDS), and with one that is not (the whole rows).
  const fieldSets = [
    ['used_memory', 'ops_per_sec'],
    ['used_memory', 'total_commands_processed'],
  ];
  const same = (got: Point[], want: Point[], what: string): void => {
    assert.equal(got.length, want.length, `${what}: points`);
    got.forEach((p, i) => {
      assert.equal(p.time, want[i]!.time, `${what}: time`);
      assert.deepEqual(p.tags, want[i]!.tags, `${what}: tags`);
      for (const [f, w] of Object.entries(want[i]!.fields)) {
        if (typeof w === 'number') assert.ok(near(p.fields[f], w), `${what}: ${f}@${p.time}`);
        else assert.equal(p.fields[f], w, `${what}: ${f}@${p.time}`);
      }
    });
  };
  for (const step of [5 * MINUTE, 10 * MINUTE]) {
    for (const agg of ['mean', 'min', 'max', 'last'] as const) {
      const want = expected(points, step, agg);
      // `from` inside a window: that window's minutes come from history_1m.
      for (const from of [t0, t0 + 2.5 * MINUTE]) {
        const q = { measurement: 'redis', stepMs: step, agg, from, to: t0 + 40 * MINUTE };
        const got = s.history.queryPoints(q);
        same(got, s.history.queryPoints({ ...q, tier: 'rollups' }), `${agg} per ${step / MINUTE} min from +${from - t0}: as the minutes`);
        if (from === t0) {
          assert.equal(got.length, want.size);
          for (const p of got)
            for (const f of NUMERIC) assert.ok(near(p.fields[f], want.get(`${p.tags.instance}@${p.time}`)![f]!), `${agg} ${f}`);
        }
        // Named fields (flat arrays) and a cluster sum, against the Rollup-per-bucket path and the minutes.
        for (const fields of fieldSets) {
          for (const sumBy of [undefined, ['cluster']]) {
            const named = { ...q, fields, sumBy };
            const got = s.history.queryPoints(named);
            assert.ok(got.length > 0);
            same(got, s.history.queryPoints({ ...named, dense: false }), `${agg} ${fields} sum=${sumBy}`);
            same(got, s.history.queryPoints({ ...named, tier: 'rollups' }), `${agg} ${fields} sum=${sumBy}: as the minutes`);
          }
        }
      }
    }
  }

  // A late point in a folded window: its minute and its 5-minute window are folded again.
  await writeAll(s.history, [{ ...redisPoint('10.0.0.1:6379', t0 + 7 * MINUTE + 5_000, 7), fields: { used_memory: 9e9 } }]);
  const maxOf = (tier?: 'rollups5m') =>
    s.history.queryPoints({
      measurement: 'redis',
      tier,
      stepMs: 5 * MINUTE,
      agg: 'max',
      tags: { instance: '10.0.0.1:6379' },
      from: t0,
    })[1]!;
  assert.equal(maxOf('rollups5m').fields.used_memory, 9e9);
  assert.equal(maxOf().fields.used_memory, 9e9);
  const before = fives();
  const chartedMinutes = {
    measurement: 'redis',
    tier: 'rollups' as const,
    stepMs: MINUTE,
    agg: 'max' as const,
    fields: ['used_memory'],
    from: t0,
  };
  const minutesBefore = s.history.queryPoints(chartedMinutes);
  assert.deepEqual(
    s.history.queryPoints({ measurement: 'redis', tier: 'rollups5m', fields: ['ops_per_sec', 'used_memory'], limit: 1000 }),
    s.history
      .queryPoints({ measurement: 'redis', tier: 'rollups5m', fields: ['ops_per_sec', 'used_memory', 'up'], limit: 1000 })
      .map((p) => ({ ...p, fields: { used_memory: p.fields.used_memory, ops_per_sec: p.fields.ops_per_sec } })),
    'the charted copy holds the values of the whole row',
  );
  await closeAll(s);

  // A file from before the 5-minute tier: no table, no cursor, 1-minute rows without the charted
  // copy. Filled from the minutes at start; the old minutes are read whole.
  const old = Store.open(file);
  old.db.exec(`DROP TABLE history_5m; DELETE FROM meta WHERE key = 'history_5m_cursor';
    ALTER TABLE history_1m DROP COLUMN chart_v; ALTER TABLE history_1m DROP COLUMN chart_layout;`);
  old.close();
  s = open(file, { rollupIntervalMs: 3_600_000 });
  t.after(() => closeAll(s));
  assert.equal(fives().length, 0);
  same(s.history.queryPoints(chartedMinutes), minutesBefore, 'charted fields of 1-minute rows without the copy');
  assert.ok(await s.history.drain(10_000));
  same(fives(), before, 'the 5-minute rollups of an older file');
});

test('rollups: kept across a restart; a range older than the raw window is answered from them', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.db');
  const now = Date.now();
  const t0 = Math.floor((now - 3 * 3_600_000) / MINUTE) * MINUTE;
  let s = open(file, { rawRetentionMs: 3_600_000 });
  const points: Point[] = [];
  for (let i = 0; i < 6 * 170; i++) points.push(redisPoint('10.0.0.1:6379', t0 + i * 10_000, i));
  await writeAll(s.history, points);
  await closeAll(s);

  // Restart: the prune at start drops raw points older than 1 h; their rollups stay.
  s = open(file, { rawRetentionMs: 3_600_000 });
  t.after(() => closeAll(s));
  const raw = s.history.queryPoints({ measurement: 'redis', tier: 'raw', limit: 10_000 });
  assert.ok(raw.length > 0 && raw.every((p) => p.time >= now - 3_600_000), 'raw points older than the raw retention are gone');
  assert.ok(raw.length < points.length);
  const rollups = s.history.queryPoints({ measurement: 'redis', tier: 'rollups', limit: 10_000 });
  assert.equal(rollups.length, 170, 'every minute rolled up, also the ones whose raw points are gone');

  const all = s.history.queryPoints({ measurement: 'redis', from: t0, limit: 10_000 });
  const rawStart = raw[0]!.time;
  const older = all.filter((p) => p.time < rawStart);
  assert.ok(older.length > 100, 'the old part of the range comes from the rollups');
  assert.ok(older.every((p) => p.time % MINUTE === 0 && typeof p.fields.used_memory === 'number'));
  assert.deepEqual(
    all.slice(older.length).map((p) => p.time),
    raw.map((p) => p.time),
    'then the raw points, oldest first',
  );

  // Each series has its own raw start: points of another series older than this one's first raw point are raw too.
  const before = [rawStart - 2000, rawStart - 1000];
  await writeAll(
    s.history,
    before.map((time, i) => redisPoint('10.0.0.9:6379', time, i)),
  );
  assert.deepEqual(
    s.history.queryPoints({ measurement: 'redis', tags: { instance: '10.0.0.9:6379' } }).map((p) => p.time),
    before,
  );
});

test('historyMaxBytes: writing 4x the bound keeps the file under it; the newest raw points and rollups stay', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.db');
  const maxBytes = 16 * 2 ** 20;
  const s = open(file, { maxBytes, rollupIntervalMs: 50 });
  t.after(() => closeAll(s));
  const big: Record<string, number> = {};
  for (let f = 0; f < 150; f++) big[`f${f}`] = 0;
  const now = Date.now();
  const t0 = now - 5 * 3_600_000;
  let written = 0;
  let i = 0;
  let maxFile = 0;
  while (written < 4 * maxBytes) {
    const batch: Point[] = [];
    for (let k = 0; k < 2000; k++, i++) {
      const fields: Record<string, number> = {};
      // Incompressible-ish values, about 1.5 kB per point in JSON.
      for (const f in big) fields[f] = (i * 2_654_435_761 + f.length * 40_503 + Number(f.slice(1)) * 97) % 1_000_003;
      batch.push({ measurement: 'redis', tags: { host: 'h', instance: `i${i % 50}` }, fields, time: t0 + Math.floor(i / 50) * 10_000 });
      written += 1500;
    }
    await writeAll(s.history, batch);
    s.history.prune(now);
    maxFile = Math.max(maxFile, fs.statSync(file).size);
  }
  const size = s.history.sizeBytes();
  assert.ok(size.used <= maxBytes, `pages in use ${size.used} within ${maxBytes}`);
  assert.ok(maxFile <= maxBytes * 1.1, `the file stayed near the bound (largest ${maxFile}, bound ${maxBytes})`);
  const newest = t0 + Math.floor((i - 1) / 50) * 10_000;
  assert.equal(s.history.queryPoints({ measurement: 'redis', tier: 'raw', from: newest }).length, 50, 'the newest raw points are kept');
  const rollups = s.history.queryPoints({ measurement: 'redis', tier: 'rollups', limit: 100_000 });
  assert.ok(
    rollups.length > 0 && rollups[rollups.length - 1]!.time >= Math.floor(newest / MINUTE) * MINUTE - MINUTE,
    'recent rollups are kept',
  );
  const raw = s.history.queryPoints({ measurement: 'redis', tier: 'raw', limit: 1_000_000 });
  assert.ok(raw[0]!.time > t0, 'the oldest raw points went first');
});

test('a file written before rollups (one JSON object per point in `points`) is moved to the compact table at start', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.db');
  const old = Store.open(file);
  old.db.exec(`CREATE TABLE points (id INTEGER PRIMARY KEY, series INTEGER NOT NULL, time INTEGER NOT NULL, fields TEXT NOT NULL);
    CREATE UNIQUE INDEX points_series_time ON points(series, time);`);
  const series = Number(
    old.db
      .prepare('INSERT INTO series (measurement, tags) VALUES (?, ?)')
      .run('redis', JSON.stringify({ host: 'h1', instance: 'old:6379' })).lastInsertRowid,
  );
  const t0 = Math.floor((Date.now() - 3_600_000) / MINUTE) * MINUTE;
  const points = Array.from({ length: 12 }, (_, i) => redisPoint('old:6379', t0 + i * 10_000, i));
  for (const p of points)
    old.db.prepare('INSERT INTO points (series, time, fields) VALUES (?, ?, ?)').run(series, p.time, JSON.stringify(p.fields));
  old.close();

  const s = open(file);
  t.after(() => closeAll(s));
  assert.equal(s.store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'points'").get(), undefined, 'the old table is gone');
  const raw = s.history.queryPoints({ measurement: 'redis', tier: 'raw' });
  assert.deepEqual(
    raw.map((p) => [p.time, p.fields]),
    points.map((p) => [p.time, p.fields]),
  );
  assert.ok(await s.history.drain(10_000));
  const max = s.history.queryPoints({ measurement: 'redis', tier: 'rollups', stepMs: MINUTE, agg: 'max', from: t0 });
  assert.equal(max.length, 2);
  assert.equal(max[0]!.fields.used_memory, Math.max(...points.slice(0, 6).map((p) => p.fields.used_memory as number)));
});

test('CHART_FIELDS: fields of the schema, and every field the console charts ask', () => {
  for (const [m, fields] of Object.entries(CHART_FIELDS)) {
    const def = MEASUREMENTS[m];
    assert.ok(def, m);
    for (const f of fields) assert.ok(def.fields[f], `${m}.${f} is in the schema`);
  }
  const asked = [...CHARTS_JS.matchAll(/measurement: '(\w+)'[^}]*?fields: '([^']+)'/g)];
  assert.ok(asked.length >= 4, 'the console queries were found');
  for (const [, m, fields] of asked) for (const f of fields!.split(',')) assert.ok(CHART_FIELDS[m!]?.includes(f), `${m}.${f} charted`);
});
