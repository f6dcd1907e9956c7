// Embedded metric history in the store's SQLite file, used when no InfluxDB is
// configured. Points are queued (write() never touches the disk; a full queue says
// no room), committed in batched transactions (synchronous=FULL: a commit is on disk
// when it returns, and only then are the reports acked) with INSERT OR REPLACE keyed by
// (series, time) so replayed reports are idempotent.
// Three tiers: raw points (history_raw) for rawRetentionMs, and 1-minute rollups
// (history_1m: mean, min, max and last of each field) and 5-minute rollups folded from them
// (history_5m, for steps of whole 5 minutes: a 24 h chart reads 5x fewer rows) for retentionMs.
// Rollups are computed from committed rows behind cursors kept in the same file, in
// small transactions on a timer, so a crash never loses one and ingest is never stalled.
// The tiers are pruned by age, raw rows by count, and the file by size (maxBytes: the
// oldest raw rows go first, then the oldest 1-minute rollups, then the 5-minute ones; freed
// pages are reused).
// Row encoding: history-rows.ts.
import { OnceLog, type Logger } from '../common/index.js';
import { CHART_FIELDS, MEASUREMENTS } from '../proto/index.js';
import type { FieldValue, Point, Tags } from './points.js';
import { sumSeries } from './downsample.js';
import { batchPoints, type Batch } from './batch.js';
import { Fifo, type MetricSink, type PointQuery, type SinkStats, type StorageState } from './sink.js';
import { denseBuckets } from './history-buckets.js';
import { Rollup, decodeValues, encodeValues, rowFields, type Agg, type Column, type StoredValue } from './history-rows.js';

export type { PointQuery } from './sink.js';
import type { Database, Statement } from './sqlite.js';
import type { Store } from './store.js';

export interface HistoryOptions {
  /** How long 1-minute rollups are kept. */
  retentionMs: number;
  /** How long raw points are kept (at most retentionMs). */
  rawRetentionMs?: number;
  /** Raw points kept at most. */
  maxPoints: number;
  /** Size bound of the history in the file (0: none). */
  maxBytes?: number;
  /** How long points may wait in the queue before a commit. */
  flushIntervalMs?: number;
  /** Points per transaction. */
  batchSize?: number;
  maxQueuePoints?: number;
  pruneIntervalMs?: number;
  rollupIntervalMs?: number;
  /** Internal, for the benchmark's peer only: the old behaviour (ack once queued, synchronous=NORMAL). */
  ackOnQueue?: boolean;
}

const PRUNE_CHUNK = 20_000;
/** Rows deleted at a time under size pressure (small: the pages in use are checked after each). */
const SIZE_CHUNK = 1_000;
/** Raw rows read per rollup transaction. */
const ROLLUP_CHUNK = 5_000;
/** Raw rows a rollup pass scans after the cursor (several minutes of a large fleet's rows). */
const ROLLUP_SCAN = 200_000;
const MINUTE = 60_000;
const FIVE = 5 * MINUTE;
/** 5-minute windows folded per pass (per series; the series go a few thousand rows per transaction). */
const FOLD5_SPAN = 12 * FIVE;
/** Under size pressure, raw points younger than this (before the newest) are kept; rollups go instead. */
const RAW_FLOOR_MS = 10 * MINUTE;

export interface HistoryQuery extends PointQuery {
  /**
   * Downsampling: one point per series per bucket of stepMs (aligned on multiples of stepMs
   * since the epoch, stamped with its start), numeric fields as `agg`, strings left out;
   * `limit` counts buckets.
   */
  stepMs?: number;
  /** Default mean. */
  agg?: Agg;
  /** Only these fields (default: all). */
  fields?: string[];
  /** Only one tier (tests, the benchmark); by default the step and the range choose. */
  tier?: 'raw' | 'rollups' | 'rollups5m';
  /** Internal, for the benchmark's same-run peer: false is the old path (whole rows, folded with Rollup objects). */
  dense?: boolean;
}

interface Entry {
  points: Point[];
  onStored?: () => void;
}

/** A rollup pass under way: the (series, minute) pairs to fold, how far it got, the last raw id it covers. */
interface RollupPass {
  pairs: [number, number][];
  pos: number;
  last: number;
  /** The scan stopped at ROLLUP_SCAN rows: more may follow at once. */
  more: boolean;
}

interface Layout {
  measurement: string;
  columns: Column[];
}

interface Row {
  series: number;
  time: number;
  layout: number;
  v: Buffer;
  n?: number;
}

/** The ids of a query's series (measurement and tags), as SQL and its parameters. */
function seriesFilter(q: PointQuery): { sql: string; args: unknown[] } {
  let sql = 'SELECT id FROM series WHERE measurement = ?';
  const args: unknown[] = [q.measurement];
  for (const [k, v] of Object.entries(q.tags ?? {})) {
    sql += ' AND json_extract(tags, ?) = ?';
    args.push(`$.${JSON.stringify(k)}`, v);
  }
  return { sql, args };
}

/** The tag set in a canonical order (the schema's, else sorted), as stored in series.tags. */
function canonicalTags(measurement: string, tags: Tags): string {
  const order = MEASUREMENTS[measurement]?.tags ?? Object.keys(tags).sort();
  let out = '{';
  for (const t of order) {
    const v = tags[t];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(t)}:${JSON.stringify(v)}`;
  }
  return `${out}}`;
}

export class EmbeddedHistory implements MetricSink {
  readonly kind = 'embedded';
  private readonly db: Database;
  private readonly queue = new Fifo<Entry>();
  private queued = 0;
  private readonly maxQueuePoints: number;
  private noRoomSince = 0;
  private lastError: string | undefined;
  private readonly seriesIds = new Map<string, number>();
  private readonly seriesMeasurement = new Map<number, string>();
  private readonly layoutIds = new Map<string, number>();
  private readonly rawLayoutIds = new Map<string, number>();
  private readonly layouts = new Map<number, Layout>();
  private readonly st: Record<
    | 'findSeries'
    | 'insertSeries'
    | 'findLayout'
    | 'insertLayout'
    | 'insertRaw'
    | 'maxRawId'
    | 'deleteRawUpTo'
    | 'rawScan'
    | 'rawMinute'
    | 'upsertRollup'
    | 'setCursor'
    | 'newestRawTime'
    | 'pendingFrom'
    | 'minutesIn'
    | 'upsertRollup5'
    | 'setCursor5',
    Statement<unknown>
  >;
  private readonly commit: (batch: Point[]) => void;
  private readonly counters: SinkStats = { accepted: 0, written: 0, spooled: 0, droppedRejected: 0, droppedNoRoom: 0 };
  private readonly once = new OnceLog();
  private flushTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private rollupTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly rawRetentionMs: number;
  /** Raw rows with id <= cursor are folded into the rollups. */
  private cursor: number;
  /** 5-minute windows starting before cursor5 are folded (undefined: none yet). */
  private cursor5: number | undefined;
  /** The span of windows being folded, series by series: [start = cursor5, end), series[pos..] to go. */
  private fold5: { end: number; series: number[]; pos: number } | undefined;
  /** The rollup pass under way (rollupChunk), and whether the last call left rows to fold. */
  private pass: RollupPass | undefined;
  private rollupMore = false;

  constructor(
    store: Store,
    private readonly opts: HistoryOptions,
    private readonly logger: Logger,
  ) {
    this.db = store.db;
    this.flushIntervalMs = opts.flushIntervalMs ?? 200;
    this.batchSize = opts.batchSize ?? 5000;
    this.maxQueuePoints = opts.maxQueuePoints ?? 500_000;
    this.rawRetentionMs = Math.min(opts.rawRetentionMs ?? opts.retentionMs, opts.retentionMs);
    // Acks mean committed: a commit must survive a power loss, not only a crash (WAL + NORMAL does not).
    if (!opts.ackOnQueue) this.db.pragma('synchronous = FULL');
    const db = this.db;
    this.st = {
      findSeries: db.prepare('SELECT id FROM series WHERE measurement = ? AND tags = ?'),
      insertSeries: db.prepare('INSERT INTO series (measurement, tags) VALUES (?, ?)'),
      findLayout: db.prepare('SELECT id FROM history_layouts WHERE measurement = ? AND columns = ?'),
      insertLayout: db.prepare('INSERT INTO history_layouts (measurement, columns) VALUES (?, ?)'),
      insertRaw: db.prepare('INSERT OR REPLACE INTO history_raw (series, time, layout, v) VALUES (?, ?, ?, ?)'),
      maxRawId: db.prepare('SELECT max(id) AS m FROM history_raw'),
      deleteRawUpTo: db.prepare(
        `DELETE FROM history_raw WHERE id IN (SELECT id FROM history_raw WHERE id <= ? ORDER BY id LIMIT ${PRUNE_CHUNK})`,
      ),
      rawScan: db.prepare(`SELECT id, series, time FROM history_raw WHERE id > ? ORDER BY id LIMIT ${ROLLUP_SCAN}`).raw(true),
      rawMinute: db.prepare('SELECT time, layout, v FROM history_raw WHERE series = ? AND time >= ? AND time < ?'),
      upsertRollup: db.prepare(
        'INSERT OR REPLACE INTO history_1m (series, time, n, layout, v, chart_layout, chart_v) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      setCursor: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('history_rollup_cursor', ?)"),
      newestRawTime: db.prepare('SELECT time AS m FROM history_raw ORDER BY id DESC LIMIT 1'),
      pendingFrom: db.prepare('SELECT min(time) AS m FROM history_raw WHERE id > ?'),
      minutesIn: db.prepare('SELECT time, layout, v, n FROM history_1m WHERE series = ? AND time >= ? AND time < ? ORDER BY time'),
      upsertRollup5: db.prepare(
        'INSERT OR REPLACE INTO history_5m (series, time, n, layout, v, chart_layout, chart_v) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      setCursor5: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('history_5m_cursor', ?)"),
    };
    const c = db.prepare<{ value: string }>("SELECT value FROM meta WHERE key = 'history_rollup_cursor'").get();
    this.cursor = c ? Number(c.value) : 0;
    const c5 = db.prepare<{ value: string }>("SELECT value FROM meta WHERE key = 'history_5m_cursor'").get();
    this.cursor5 = c5 ? Number(c5.value) : undefined;
    this.commit = this.db.transaction((batch: Point[]) => {
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        const names = Object.keys(p.fields);
        const values: FieldValue[] = new Array(names.length);
        for (let k = 0; k < names.length; k++) values[k] = p.fields[names[k]!]!;
        const layout = this.rawLayoutId(p.measurement, names);
        this.st.insertRaw.run(this.seriesId(p.measurement, p.tags), Math.trunc(p.time), layout, encodeValues(values));
      }
    });
  }

  start(): void {
    this.migrateLegacy();
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), this.opts.pruneIntervalMs ?? 60_000);
    this.pruneTimer.unref();
    this.scheduleRollup(this.opts.rollupIntervalMs ?? 10_000);
  }

  write(batch: Batch, onStored?: () => void): boolean {
    return this.take(batch, onStored, true);
  }

  offer(batch: Batch): boolean {
    return this.take(batch, () => undefined, false);
  }

  /** write() and offer(): `refusalIsBackpressure` says whether a refusal makes the storage 'full'. */
  private take(batch: Batch, onStored: (() => void) | undefined, refusalIsBackpressure: boolean): boolean {
    if (this.closed) return false;
    const points = batchPoints(batch);
    if (this.queued + points.length > this.maxQueuePoints && this.queued > 0) {
      if (!refusalIsBackpressure) return false;
      this.noRoomSince ||= Date.now();
      if (!onStored) this.counters.droppedNoRoom += points.length;
      if (this.once.enter('queue', 'full')) {
        this.logger.error(
          { maxQueuePoints: this.maxQueuePoints },
          'embedded history: queue full; reports are not acked (agents keep them) until commits catch up',
        );
      }
      return false;
    }
    this.noRoomSince = 0;
    if (this.opts.ackOnQueue) {
      this.queue.push({ points });
      onStored?.();
    } else {
      this.queue.push({ points, onStored });
    }
    this.queued += points.length;
    this.counters.accepted += points.length;
    if (this.queued >= this.batchSize) this.scheduleFlush(0);
    else if (!this.flushTimer) this.scheduleFlush(this.flushIntervalMs);
    return true;
  }

  queueLength(): number {
    return this.queued;
  }
  stats(): SinkStats {
    return { ...this.counters };
  }

  storage(): StorageState {
    if (this.noRoomSince) return { state: 'full', reason: this.lastError ?? 'commits are behind' };
    return { state: 'ok' };
  }

  /** Resolves once the queue is committed and the rollups have caught up with it. */
  async drain(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queued > 0) {
      this.flush();
      if (this.queued === 0) break;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    while (this.rollupChunk(true) > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setImmediate(r));
    }
    while (this.rollup5Chunk() > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setImmediate(r));
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushAll();
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.rollupTimer);
    clearInterval(this.pruneTimer);
  }

  async query(q: PointQuery): Promise<Point[]> {
    return this.queryPoints(q);
  }

  /**
   * Points of one measurement, oldest first (tests and the API's history views). Tiers: a step
   * of whole minutes is answered from the 1-minute rollups (and the raw points of the minutes
   * not folded yet), a step of whole 5 minutes from the 5-minute rollups where they are folded;
   * otherwise raw points, and for the part of the range older than the oldest raw point the
   * rollups (their means, without a step).
   */
  queryPoints(q: HistoryQuery): Point[] {
    const step = q.stepMs ?? 0;
    const limit = q.limit ?? 10_000;
    const from = q.from ?? -Infinity;
    const to = q.to ?? Infinity;
    const keep = q.fields ? new Set(q.fields) : undefined;
    let rows: Row[];
    if (q.tier === 'rollups5m') {
      rows = this.selectRows('history_5m', q, Math.floor(from / FIVE) * FIVE, to, step ? Infinity : limit, !step);
    } else if (q.tier === 'rollups' || (step > 0 && step % MINUTE === 0 && q.tier !== 'raw')) {
      // Rollups up to the first minute with raw rows not folded yet; raw rows from there.
      const pending = q.tier === 'rollups' ? Infinity : ((this.st.pendingFrom.get(this.cursor) as { m: number | null }).m ?? Infinity);
      const horizon = Math.floor(pending / MINUTE) * MINUTE;
      const start = Math.floor(from / MINUTE) * MINUTE;
      const end = Math.min(to, horizon - 1);
      let minutes: Row[];
      // A step of whole 5 minutes: the whole 5-minute windows of [start, end] already folded come
      // from history_5m (they never straddle a bucket), the minutes around them from history_1m.
      const lo5 = Math.ceil(start / FIVE) * FIVE;
      const hi5 = Math.min(this.cursor5 ?? -Infinity, Math.floor((end + 1) / FIVE) * FIVE);
      if (q.tier === undefined && step > 0 && step % FIVE === 0 && hi5 > lo5) {
        minutes = this.selectRows('history_1m', q, start, lo5 - 1, Infinity, false).concat(
          this.selectRows('history_5m', q, lo5, hi5 - 1, Infinity, false),
          this.selectRows('history_1m', q, hi5, end, Infinity, false),
        );
      } else minutes = this.selectRows('history_1m', q, start, end, Infinity, !step);
      rows =
        q.tier === 'rollups' ? minutes : minutes.concat(this.selectRows('history_raw', q, Math.max(from, horizon), to, Infinity, !step));
      if (!step) rows = rows.slice(0, limit);
    } else {
      // Per series, the minutes that end before its oldest raw point come from the rollups.
      const starts = q.tier === 'raw' ? new Map<number, number>() : this.rawStarts(q);
      let newest = -Infinity;
      for (const t of starts.values()) newest = Math.max(newest, t);
      const older = this.selectRows('history_1m', q, from, Math.min(to, newest - MINUTE), step ? Infinity : limit, !step).filter(
        (r) => r.time + MINUTE <= (starts.get(r.series) ?? Infinity),
      );
      const raw = this.selectRows('history_raw', q, from, to, step ? Infinity : limit, !step);
      rows = !older.length ? raw : step ? older.concat(raw) : older.concat(raw).sort((a, b) => a.time - b.time || a.series - b.series);
      if (!step) rows = rows.slice(0, limit);
    }
    const tagsOf = this.seriesTags(rows);
    if (step > 0) {
      if (q.fields && q.dense !== false) {
        const bq = { measurement: q.measurement, step, agg: q.agg ?? 'mean', fields: q.fields, sumBy: q.sumBy, limit };
        const dense = denseBuckets(bq, rows, (id) => (this.layouts.get(id) ?? this.loadLayout(id)).columns, tagsOf);
        if (dense) return dense;
      }
      if (!q.sumBy) return this.bucket(q, rows, step, tagsOf, keep, limit);
      return sumSeries(this.bucket(q, rows, step, tagsOf, keep, Number.MAX_SAFE_INTEGER), q.sumBy).slice(0, limit);
    }
    return rows
      .map((r) => {
        const layout = this.layouts.get(r.layout) ?? this.loadLayout(r.layout);
        return {
          measurement: q.measurement,
          tags: tagsOf.get(r.series)!,
          fields: rowFields(layout.columns, decodeValues(r.v), 'mean', keep),
          time: r.time,
        };
      })
      .filter((p) => !keep || Object.keys(p.fields).length > 0);
  }

  /** Each selected series' oldest raw time (a series without raw points: +Infinity). */
  private rawStarts(q: PointQuery): Map<number, number> {
    const { sql, args } = seriesFilter(q);
    const rows = this.db
      .prepare<{ id: number; start: number | null }>(
        `SELECT id, (SELECT min(time) FROM history_raw WHERE series = s.id) AS start FROM (${sql}) s`,
      )
      .all(...args);
    return new Map(rows.map((r) => [r.id, r.start ?? Infinity]));
  }

  /** Rows of a table for the query's series and an inclusive range; `ordered` by time then series (a step query buckets them itself). */
  private selectRows(
    table: 'history_raw' | 'history_1m' | 'history_5m',
    q: HistoryQuery,
    from: number,
    to: number,
    limit: number,
    ordered = true,
  ): Row[] {
    if (from > to || from === Infinity || to === -Infinity) return [];
    const { sql: series, args } = seriesFilter(q);
    // Rollups asked only charted fields: their copy of those, not the whole row (a 1-minute row
    // from before the copy has none: the whole row).
    const charted = CHART_FIELDS[q.measurement];
    const cols =
      table === 'history_raw'
        ? 'layout, v'
        : q.fields?.length && q.fields.every((f) => charted?.includes(f)) && q.dense !== false
          ? 'coalesce(chart_layout, layout) AS layout, coalesce(chart_v, v) AS v, n'
          : 'layout, v, n';
    let sql = `SELECT series, time, ${cols} FROM ${table} WHERE series IN (${series})`;
    if (Number.isFinite(from)) {
      sql += ' AND time >= ?';
      args.push(from);
    }
    if (Number.isFinite(to)) {
      sql += ' AND time <= ?';
      args.push(to);
    }
    if (ordered) sql += ' ORDER BY time, series';
    if (Number.isFinite(limit)) {
      sql += ' LIMIT ?';
      args.push(limit);
    }
    return this.db.prepare<Row>(sql).all(...args);
  }

  private seriesTags(rows: Row[]): Map<number, Tags> {
    const out = new Map<number, Tags>();
    const get = this.db.prepare<{ tags: string }>('SELECT tags FROM series WHERE id = ?');
    for (const r of rows) {
      if (!out.has(r.series)) out.set(r.series, JSON.parse(get.get(r.series)!.tags) as Tags);
    }
    return out;
  }

  /** Rows (raw points or minute rollups) merged per series and step: one point per bucket, at its start. */
  private bucket(
    q: HistoryQuery,
    rows: Row[],
    step: number,
    tagsOf: Map<number, Tags>,
    keep: Set<string> | undefined,
    limit: number,
  ): Point[] {
    const buckets = new Map<string, { series: number; time: number; acc: Rollup }>();
    // Per layout, the columns to fold (only the asked fields: a 24 h chart of 4 fields of 180).
    const picked = new Map<number, number[] | undefined>();
    for (const r of rows) {
      const time = Math.floor(r.time / step) * step;
      const key = `${r.series}:${time}`;
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = { series: r.series, time, acc: new Rollup() }));
      const layout = this.layouts.get(r.layout) ?? this.loadLayout(r.layout);
      if (keep && !picked.has(r.layout))
        picked.set(
          r.layout,
          layout.columns.flatMap(([f], i) => (keep.has(f) ? [i] : [])),
        );
      b.acc.addRow(layout.columns, decodeValues(r.v), r.time, r.n ?? 1, picked.get(r.layout));
    }
    const out: Point[] = [];
    for (const b of buckets.values()) {
      const fields = b.acc.fields(q.agg ?? 'mean', keep);
      if (Object.keys(fields).length) out.push({ measurement: q.measurement, tags: tagsOf.get(b.series)!, fields, time: b.time });
    }
    return out.sort((a, b) => a.time - b.time).slice(0, limit);
  }

  /**
   * Folds the raw rows committed after the cursor into their minutes' rollups, a pass at a time:
   * a pass scans up to ROLLUP_SCAN rows after the cursor (ids, series and times only) and folds
   * each (series, minute) it saw once, recomputed from all that minute's raw rows (so replays
   * and late points are counted once), in transactions of about ROLLUP_CHUNK raw rows read; the
   * cursor moves in the pass's last one. Unless forced, a pass stops at the newest minute (it
   * waits for the next one to begin). A pass of a few thousand rows would refold a minute once
   * per chunk its rows are spread over: a minute of a fleet's rows spans many chunks, so that
   * was quadratic in the rows per minute (docs/benchmarks.md, "Transport, GC and the embedded
   * rollups"). Returns the raw rows read (at least 1 while a pass is under way; 0: caught up).
   */
  rollupChunk(force = false): number {
    if (this.closed) return 0;
    if (!this.pass) {
      this.pass = this.scanPass(force);
      if (!this.pass) {
        this.rollupMore = false;
        return 0;
      }
    }
    const p = this.pass;
    let pos = p.pos;
    let rows = 0;
    this.db.transaction(() => {
      // A minute whose 5-minute window is folded already (a late or replayed point): fold the window again.
      const folded = this.fold5?.end ?? this.cursor5 ?? -Infinity;
      const windows = new Map<string, [number, number]>();
      for (; pos < p.pairs.length && rows < ROLLUP_CHUNK; pos++) {
        const [series, m] = p.pairs[pos]!;
        rows += this.foldMinute(series, m);
        const w = Math.floor(m / FIVE) * FIVE;
        if (w < folded) windows.set(`${series}:${w}`, [series, w]);
      }
      for (const [series, w] of windows.values()) this.foldFive(series, w, w + FIVE);
      if (pos === p.pairs.length) this.st.setCursor.run(String(p.last));
    })();
    p.pos = pos;
    if (pos === p.pairs.length) {
      this.cursor = p.last;
      this.pass = undefined;
      this.rollupMore = p.more;
    } else {
      this.rollupMore = true;
    }
    return Math.max(rows, 1);
  }

  /** The (series, minute) pairs of up to ROLLUP_SCAN raw rows after the cursor, or undefined when none. */
  private scanPass(force: boolean): RollupPass | undefined {
    // Minutes before the newest one are complete (bar late points): unless forced, fold only those,
    // so a minute is computed once, not at every pass while its points come in.
    const open = force ? Infinity : Math.floor(((this.st.newestRawTime.get() as { m: number } | undefined)?.m ?? 0) / MINUTE) * MINUTE;
    const minutes = new Map<number, number[]>();
    const pairs: [number, number][] = [];
    let last = this.cursor;
    let scanned = 0;
    for (const row of this.st.rawScan.iterate(this.cursor)) {
      const [id, series, time] = row as [number, number, number];
      if (time >= open) break;
      scanned++;
      last = id;
      const m = Math.floor(time / MINUTE) * MINUTE;
      let seen = minutes.get(series);
      if (!seen) minutes.set(series, (seen = []));
      if (!seen.includes(m)) {
        seen.push(m);
        pairs.push([series, m]);
      }
    }
    if (scanned === 0) return undefined;
    return { pairs, pos: 0, last, more: scanned === ROLLUP_SCAN };
  }

  /** One series' rollup of the minute starting at `m`, from its raw rows; returns the raw rows read. */
  private foldMinute(series: number, m: number): number {
    const acc = new Rollup();
    const raw = this.st.rawMinute.all(series, m, m + MINUTE) as Row[];
    for (const r of raw) {
      const layout = this.layouts.get(r.layout) ?? this.loadLayout(r.layout);
      acc.addRow(layout.columns, decodeValues(r.v), r.time, 1);
    }
    if (acc.count === 0) return raw.length;
    const { columns, values } = acc.result();
    const measurement = this.measurementOf(series);
    this.st.upsertRollup.run(
      series,
      m,
      acc.count,
      this.layoutId(measurement, columns),
      encodeValues(values),
      ...this.chartCopy(measurement, columns, values),
    );
    return raw.length;
  }

  /**
   * Folds the 1-minute rollups of the next 5-minute windows into history_5m: windows up to the
   * first minute not folded from raw rows (and not the newest raw point's window, nor the
   * future), up to FOLD5_SPAN at a time, series by series, a few thousand rows per transaction;
   * the cursor moves once every series is done. A file without the tier starts from its oldest
   * minute. Returns the series folded (0: caught up).
   */
  rollup5Chunk(): number {
    if (this.closed) return 0;
    if (!this.fold5) {
      const pending = (this.st.pendingFrom.get(this.cursor) as { m: number | null }).m ?? Infinity;
      // The newest raw time per series on the (series, time) index (rows may come in any order).
      const newest =
        this.db
          .prepare<{ m: number | null }>('SELECT max((SELECT max(time) FROM history_raw WHERE series = s.id)) AS m FROM series s')
          .get()?.m ?? Infinity;
      const target = Math.floor(Math.min(pending, newest, Date.now()) / FIVE) * FIVE;
      if (this.cursor5 === undefined) {
        // min(time) per series on the (series, time) index: the table has no index on time alone.
        const oldest = this.db
          .prepare<{ m: number | null }>('SELECT min((SELECT min(time) FROM history_1m WHERE series = s.id)) AS m FROM series s')
          .get()?.m;
        this.cursor5 = Math.min(target, oldest === null || oldest === undefined ? Infinity : Math.floor(oldest / FIVE) * FIVE);
        this.st.setCursor5.run(String(this.cursor5));
      }
      if (this.cursor5 >= target) return 0;
      const series = this.db
        .prepare<{ id: number }>('SELECT id FROM series')
        .all()
        .map((r) => r.id);
      this.fold5 = { end: Math.min(target, this.cursor5 + FOLD5_SPAN), series, pos: 0 };
    }
    const f = this.fold5;
    const start = this.cursor5!;
    // The position moves once the transaction commits (a failed one is retried from the same series).
    let pos = f.pos;
    this.db.transaction(() => {
      for (let rows = 0; pos < f.series.length && rows < ROLLUP_CHUNK;) rows += this.foldFive(f.series[pos++]!, start, f.end);
      if (pos === f.series.length) this.st.setCursor5.run(String(f.end));
    })();
    const done = pos - f.pos;
    f.pos = pos;
    if (f.pos === f.series.length) {
      this.cursor5 = f.end;
      this.fold5 = undefined;
    }
    return Math.max(done, 1);
  }

  /** A rollup row's charted fields (CHART_FIELDS) on their own: their layout id and values. */
  private chartCopy(measurement: string, columns: readonly Column[], values: readonly StoredValue[]): [number, Buffer] {
    const charted = CHART_FIELDS[measurement] ?? [];
    const chartColumns: Column[] = [];
    const chartValues: StoredValue[] = [];
    columns.forEach((c, i) => {
      if (charted.includes(c[0])) {
        chartColumns.push(c);
        chartValues.push(values[i]!);
      }
    });
    return [this.layoutId(measurement, chartColumns), encodeValues(chartValues)];
  }

  /** One series' 5-minute rollups of [start, end) from its 1-minute ones; returns the minute rows read. */
  private foldFive(series: number, start: number, end: number): number {
    const rows = this.st.minutesIn.all(series, start, end) as Row[];
    let acc: Rollup | undefined;
    let window = -Infinity;
    const measurement = this.measurementOf(series);
    const put = (): void => {
      if (!acc?.count) return;
      const { columns, values } = acc.result();
      this.st.upsertRollup5.run(
        series,
        window,
        acc.count,
        this.layoutId(measurement, columns),
        encodeValues(values),
        ...this.chartCopy(measurement, columns, values),
      );
    };
    for (const r of rows) {
      const w = Math.floor(r.time / FIVE) * FIVE;
      if (w !== window) {
        put();
        acc = new Rollup();
        window = w;
      }
      const layout = this.layouts.get(r.layout) ?? this.loadLayout(r.layout);
      acc!.addRow(layout.columns, decodeValues(r.v), r.time, r.n ?? 1);
    }
    put();
    return rows.length;
  }

  /** Deletes what is older than the retentions, beyond maxPoints raw rows, and beyond maxBytes. */
  prune(now = Date.now()): number {
    if (this.closed) return 0;
    let deleted = 0;
    try {
      // Per series, on the (series, time) index, in transactions of a few hundred series.
      const series = this.db
        .prepare<{ id: number }>('SELECT id FROM series')
        .all()
        .map((r) => r.id);
      const raw = this.db.prepare('DELETE FROM history_raw WHERE series = ? AND time < ? AND id <= ?');
      const rollups = this.db.prepare('DELETE FROM history_1m WHERE series = ? AND time < ?');
      const rollups5 = this.db.prepare('DELETE FROM history_5m WHERE series = ? AND time < ?');
      const some = this.db.transaction((ids: number[]) => {
        let n = 0;
        for (const id of ids) {
          n += raw.run(id, now - this.rawRetentionMs, this.cursor).changes;
          n += rollups.run(id, now - this.opts.retentionMs).changes;
          n += rollups5.run(id, now - this.opts.retentionMs).changes;
        }
        return n;
      });
      for (let i = 0; i < series.length; i += 500) deleted += some(series.slice(i, i + 500));
      deleted += this.pruneByCount();
      deleted += this.pruneBySize();
      if (deleted) this.logger.debug({ deleted }, 'embedded history pruned');
    } catch (err) {
      this.logger.error({ error: (err as Error).message }, 'embedded history: prune failed');
    }
    return deleted;
  }

  /** Bytes the history's file holds in use (pages not on the free list) and on disk. */
  sizeBytes(): { used: number; file: number } {
    const page = Number(this.db.pragma('page_size', { simple: true }));
    const pages = Number(this.db.pragma('page_count', { simple: true }));
    const free = Number(this.db.pragma('freelist_count', { simple: true }));
    return { used: (pages - free) * page, file: pages * page };
  }

  /**
   * Keeps at most maxPoints raw rows: ids only grow, so the newest maxPoints rows are those above
   * max(id) - maxPoints (replaced rows leave gaps, so slightly fewer may be kept). Cheap: rowid ranges.
   * Rows not yet rolled up stay.
   */
  private pruneByCount(): number {
    let deleted = 0;
    const maxId = (this.st.maxRawId.get() as { m: number | null } | undefined)?.m ?? 0;
    const cut = maxId - this.opts.maxPoints;
    if (cut <= 0) return 0;
    // Raw rows leave only once folded into the rollups.
    while (this.cursor < cut && this.rollupChunk(true) > 0);
    for (let n = PRUNE_CHUNK; n === PRUNE_CHUNK;) {
      n = this.st.deleteRawUpTo.run(cut).changes;
      deleted += n;
    }
    return deleted;
  }

  /**
   * Over maxBytes: the oldest raw rows go (keeping the last RAW_FLOOR_MS), then the oldest
   * minute of rollups, a chunk at a time until the pages in use fit. Freed pages are reused
   * by later writes; with auto_vacuum=INCREMENTAL (new files) a file above the bound shrinks.
   */
  private pruneBySize(): number {
    const max = this.opts.maxBytes ?? 0;
    if (!max) return 0;
    let deleted = 0;
    const target = max * 0.95;
    // Newest and oldest by id: rows come in about in time order (no index on time alone).
    const rawChunk = this.db.prepare(
      `DELETE FROM history_raw WHERE id IN (SELECT id FROM history_raw WHERE id <= ? AND time < ? ORDER BY id LIMIT ${SIZE_CHUNK})`,
    );
    const rollupChunk = this.db.prepare(`DELETE FROM history_1m WHERE id IN (SELECT id FROM history_1m ORDER BY id LIMIT ${SIZE_CHUNK})`);
    const rollup5Chunk = this.db.prepare(`DELETE FROM history_5m WHERE id IN (SELECT id FROM history_5m ORDER BY id LIMIT ${SIZE_CHUNK})`);
    for (let guard = 0; guard < 100_000 && this.sizeBytes().used > target; guard++) {
      const floor = ((this.st.newestRawTime.get() as { m: number } | undefined)?.m ?? 0) - RAW_FLOOR_MS;
      // The oldest raw rows (folded into rollups) down to the floor, then the oldest 1-minute
      // rollups (the 5-minute ones keep the range for charts), then the oldest 5-minute ones,
      // and when none are left the raw floor gives way too.
      const n =
        rawChunk.run(this.cursor, floor).changes ||
        rollupChunk.run().changes ||
        rollup5Chunk.run().changes ||
        rawChunk.run(this.cursor, Infinity).changes;
      if (n === 0) break;
      deleted += n;
    }
    const { used, file } = this.sizeBytes();
    if (file > max && Number(this.db.pragma('auto_vacuum', { simple: true })) === 2) {
      this.db.pragma(
        `incremental_vacuum(${Math.ceil((file - Math.max(used, target)) / Number(this.db.pragma('page_size', { simple: true })))})`,
      );
    }
    if (deleted) {
      if (this.once.enter('size', 'pruning'))
        this.logger.warn({ maxBytes: max }, 'embedded history: at store.historyMaxBytes; the oldest history is pruned');
    }
    return deleted;
  }

  /** Rows of the table written by an older collector (one JSON object per point) move to history_raw once. */
  private migrateLegacy(): void {
    const legacy = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'points'").get();
    if (!legacy) return;
    const read = this.db.prepare<{ id: number; measurement: string; tags: string; time: number; fields: string }>(
      `SELECT p.id AS id, s.measurement AS measurement, s.tags AS tags, p.time AS time, p.fields AS fields
       FROM points p JOIN series s ON s.id = p.series WHERE p.id > ? ORDER BY p.id LIMIT ${PRUNE_CHUNK}`,
    );
    let moved = 0;
    for (let after = 0; ;) {
      const rows = read.all(after);
      if (rows.length === 0) break;
      this.commit(
        rows.map((r) => ({
          measurement: r.measurement,
          tags: JSON.parse(r.tags) as Tags,
          time: r.time,
          fields: JSON.parse(r.fields) as Record<string, FieldValue>,
        })),
      );
      moved += rows.length;
      after = rows[rows.length - 1]!.id;
    }
    this.db.exec('DROP TABLE points');
    this.logger.info({ points: moved }, 'embedded history: moved points to the compact table (history_raw)');
  }

  private seriesId(measurement: string, tags: Tags): number {
    const canon = canonicalTags(measurement, tags);
    const key = `${measurement}\u0000${canon}`;
    let id = this.seriesIds.get(key);
    if (id === undefined) {
      id =
        (this.st.findSeries.get(measurement, canon) as { id: number } | undefined)?.id ??
        Number(this.st.insertSeries.run(measurement, canon).lastInsertRowid);
      this.seriesIds.set(key, id);
    }
    return id;
  }

  private measurementOf(series: number): string {
    let m = this.seriesMeasurement.get(series);
    if (m === undefined) {
      m = this.db.prepare<{ measurement: string }>('SELECT measurement FROM series WHERE id = ?').get(series)!.measurement;
      this.seriesMeasurement.set(series, m);
    }
    return m;
  }

  /** The layout of a raw row with these field names (cached by the names, no JSON built). */
  private rawLayoutId(measurement: string, names: string[]): number {
    const key = `${measurement}\u0001${names.join('\u0001')}`;
    let id = this.rawLayoutIds.get(key);
    if (id === undefined) {
      id = this.layoutId(
        measurement,
        names.map((f) => [f, 'raw'] as const),
      );
      this.rawLayoutIds.set(key, id);
    }
    return id;
  }

  private layoutId(measurement: string, columns: readonly Column[]): number {
    const json = JSON.stringify(columns);
    const key = `${measurement}\u0000${json}`;
    let id = this.layoutIds.get(key);
    if (id === undefined) {
      id =
        (this.st.findLayout.get(measurement, json) as { id: number } | undefined)?.id ??
        Number(this.st.insertLayout.run(measurement, json).lastInsertRowid);
      this.layoutIds.set(key, id);
      this.layouts.set(id, { measurement, columns: [...columns] });
    }
    return id;
  }

  private loadLayout(id: number): Layout {
    const r = this.db
      .prepare<{ measurement: string; columns: string }>('SELECT measurement, columns FROM history_layouts WHERE id = ?')
      .get(id);
    if (!r) throw new Error(`embedded history: layout ${id} is missing`);
    const layout = { measurement: r.measurement, columns: JSON.parse(r.columns) as Column[] };
    this.layouts.set(id, layout);
    return layout;
  }

  private scheduleRollup(delayMs: number): void {
    if (this.closed) return;
    this.rollupTimer = setTimeout(() => {
      let more = false;
      try {
        this.rollupChunk();
        // 5-minute windows: go on at once while there are some to fold.
        more = this.rollupMore || this.rollup5Chunk() > 0;
        this.once.clear('rollup');
      } catch (err) {
        if (this.once.enter('rollup', 'failing'))
          this.logger.error({ error: (err as Error).message }, 'embedded history: rollup failed; retrying');
      }
      // More to do: go on at once (each chunk is its own short transaction).
      this.scheduleRollup(more ? 0 : (this.opts.rollupIntervalMs ?? 10_000));
    }, delayMs);
    this.rollupTimer.unref();
  }

  private scheduleFlush(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const ok = this.flush();
      if (this.queued > 0) this.scheduleFlush(!ok ? 1000 : this.queued >= this.batchSize ? 0 : this.flushIntervalMs);
    }, delayMs);
    this.flushTimer.unref();
  }

  /** Commits one batch, then acks its reports; false when the commit failed (the batch stays queued). */
  private flush(): boolean {
    if (this.closed || this.queued === 0) return true;
    const entries: Entry[] = [];
    const batch: Point[] = [];
    for (let e = this.queue.peek(); e && (batch.length === 0 || batch.length + e.points.length <= this.batchSize); e = this.queue.peek()) {
      entries.push(this.queue.shift()!);
      for (let i = 0; i < e.points.length; i++) batch.push(e.points[i]!);
    }
    try {
      this.commit(batch);
      this.queued -= batch.length;
      this.counters.written += batch.length;
      this.lastError = undefined;
      this.noRoomSince = 0; // room freed: 'full' until the next refusal only
      for (const e of entries) e.onStored?.();
      try {
        this.pruneByCount();
        if (this.opts.maxBytes && this.sizeBytes().used > this.opts.maxBytes) this.pruneBySize();
      } catch (err) {
        this.logger.error({ error: (err as Error).message }, 'embedded history: prune failed');
      }
      if (this.once.clear('commit')) this.logger.info('embedded history: commits resumed');
      this.once.clear('queue');
      return true;
    } catch (err) {
      // SQLITE_BUSY/FULL/IOERR are transient or operator problems: keep the batch and retry.
      this.queue.unshiftAll(entries);
      // ids inserted by the rolled-back transaction are gone
      this.seriesIds.clear();
      this.layoutIds.clear();
      this.rawLayoutIds.clear();
      this.layouts.clear();
      this.lastError = (err as Error).message;
      if (this.once.enter('commit', 'failing')) {
        this.logger.error({ error: (err as Error).message, queued: this.queued }, 'embedded history: commit failed; retrying');
      }
      return false;
    }
  }

  private flushAll(): void {
    for (let guard = 0; this.queued > 0 && guard < 1000; guard++) {
      if (!this.flush()) break;
    }
  }
}
