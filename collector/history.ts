// Embedded metric history in the store's SQLite file, used when no InfluxDB is
// configured. Points are queued (write() never touches the disk; a full queue says
// no room), committed in batched transactions (synchronous=FULL: a commit is on disk
// when it returns, and only then are the reports acked) with INSERT OR REPLACE keyed by (series, time) so replayed
// reports are idempotent, and pruned by age and by count in small chunks.
import { OnceLog, type Logger } from '../common/index.js';
import { MEASUREMENTS } from '../proto/index.js';
import type { FieldValue, Point, Tags } from './points.js';
import { downsample, sumSeries } from './downsample.js';
import { Fifo, type MetricSink, type PointQuery, type SinkStats, type StorageState } from './sink.js';

export type { PointQuery } from './sink.js';
import type { Database, Statement } from './sqlite.js';
import type { Store } from './store.js';

export interface HistoryOptions {
  retentionMs: number;
  maxPoints: number;
  /** How long points may wait in the queue before a commit. */
  flushIntervalMs?: number;
  /** Points per transaction. */
  batchSize?: number;
  maxQueuePoints?: number;
  pruneIntervalMs?: number;
  /** Internal, for the benchmark's peer only: the old behaviour (ack once queued, synchronous=NORMAL). */
  ackOnQueue?: boolean;
}

const PRUNE_CHUNK = 20_000;

interface Entry {
  points: Point[];
  onStored?: () => void;
}

const sqlString = (v: string): string => `'${v.replaceAll("'", "''")}'`;

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
  private readonly findSeries: Statement<{ id: number }>;
  private readonly insertSeries: Statement;
  private readonly insertPoint: Statement;
  private readonly commit: (batch: Point[]) => void;
  private readonly counters: SinkStats = { accepted: 0, written: 0, spooled: 0, droppedRejected: 0, droppedNoRoom: 0 };
  private readonly once = new OnceLog();
  private flushTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxIdStmt: Statement<{ m: number | null }>;
  private readonly deleteUpTo: Statement;

  constructor(
    store: Store,
    private readonly opts: HistoryOptions,
    private readonly logger: Logger,
  ) {
    this.db = store.db;
    this.flushIntervalMs = opts.flushIntervalMs ?? 200;
    this.batchSize = opts.batchSize ?? 5000;
    this.maxQueuePoints = opts.maxQueuePoints ?? 500_000;
    // Acks mean committed: a commit must survive a power loss, not only a crash (WAL + NORMAL does not).
    if (!opts.ackOnQueue) this.db.pragma('synchronous = FULL');
    this.findSeries = this.db.prepare('SELECT id FROM series WHERE measurement = ? AND tags = ?');
    this.insertSeries = this.db.prepare('INSERT INTO series (measurement, tags) VALUES (?, ?)');
    this.insertPoint = this.db.prepare('INSERT OR REPLACE INTO points (series, time, fields) VALUES (?, ?, ?)');
    this.maxIdStmt = this.db.prepare('SELECT max(id) AS m FROM points');
    this.deleteUpTo = this.db.prepare(
      `DELETE FROM points WHERE id IN (SELECT id FROM points WHERE id <= ? ORDER BY id LIMIT ${PRUNE_CHUNK})`,
    );
    this.commit = this.db.transaction((batch: Point[]) => {
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        this.insertPoint.run(this.seriesId(p.measurement, p.tags), Math.trunc(p.time), JSON.stringify(p.fields));
      }
    });
  }

  start(): void {
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), this.opts.pruneIntervalMs ?? 60_000);
    this.pruneTimer.unref();
  }

  write(points: Point[], onStored?: () => void): boolean {
    if (this.closed) return false;
    if (this.queued + points.length > this.maxQueuePoints && this.queued > 0) {
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

  async drain(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queued > 0) {
      this.flush();
      if (this.queued === 0) break;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushAll();
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearInterval(this.pruneTimer);
  }

  async query(q: PointQuery): Promise<Point[]> {
    return this.queryPoints(q);
  }

  /** Points of one measurement, oldest first (tests and the API's history views). */
  queryPoints(q: PointQuery): Point[] {
    if (q.stepMs !== undefined) return this.queryBuckets(q, q.stepMs);
    const { where, args } = this.where(q);
    args.push(q.limit ?? 10_000);
    const keep = q.fields;
    return this.db
      .prepare<{ tags: string; time: number; fields: string }>(
        `SELECT s.tags AS tags, p.time AS time, p.fields AS fields FROM series s CROSS JOIN points p ON p.series = s.id WHERE ${where}
         ORDER BY p.time, p.series LIMIT ?`,
      )
      .all(...args)
      .map((r) => {
        let fields = JSON.parse(r.fields) as Record<string, FieldValue>;
        if (keep) fields = Object.fromEntries(keep.filter((f) => fields[f] !== undefined).map((f) => [f, fields[f]!]));
        return { measurement: q.measurement, tags: JSON.parse(r.tags) as Tags, fields, time: r.time };
      });
  }

  /**
   * One point per (series, bucket), aggregated by SQLite itself (GROUP BY series, time / step) over
   * the named fields; without names, a measurement's numeric schema fields, else (INFO's open
   * field set) the raw points downsampled here.
   */
  private queryBuckets(q: PointQuery, stepMs: number): Point[] {
    const def = MEASUREMENTS[q.measurement];
    const names =
      q.fields ??
      (def && def.otherNumericFields === 'drop' ? Object.keys(def.fields).filter((f) => def.fields[f]!.type !== 'string') : undefined);
    const limit = q.limit ?? 10_000;
    if (!names) {
      const buckets = downsample(this.queryPoints({ ...q, stepMs: undefined, limit: Number.MAX_SAFE_INTEGER }), stepMs, q.agg);
      return (q.sumBy ? sumSeries(buckets, q.sumBy) : buckets).slice(0, limit);
    }
    const { where, args } = this.where(q);
    const agg = q.agg ?? 'mean';
    const fn = { mean: 'avg', max: 'max', min: 'min', last: '' }[agg];
    // `last`: SQLite gives bare columns the values of the row that max(time) picked
    // (https://www.sqlite.org/lang_select.html#bareagg).
    const cols = names.map((f, i) => `${fn}(json_extract(p.fields, ${sqlString(`$.${JSON.stringify(f)}`)})) AS f${i}`);
    let sql = `SELECT s.tags AS tags, (p.time / ${Math.trunc(stepMs)}) * ${Math.trunc(stepMs)} AS bucket${agg === 'last' ? ', max(p.time) AS lastTime' : ''}, ${cols.join(', ')}
      FROM series s CROSS JOIN points p ON p.series = s.id WHERE ${where}
      GROUP BY p.series, bucket`;
    const by = q.sumBy;
    if (by) {
      const keys = by.map((t, i) => `json_extract(tags, ${sqlString(`$.${JSON.stringify(t)}`)}) AS t${i}`);
      sql = `SELECT bucket${keys.map((k) => `, ${k}`).join('')}, ${names.map((_, i) => `sum(f${i}) AS f${i}`).join(', ')}
        FROM (${sql}) GROUP BY bucket${by.map((_, i) => `, t${i}`).join('')} ORDER BY bucket LIMIT ?`;
    } else sql += ' ORDER BY bucket, p.series LIMIT ?';
    args.push(limit);
    return this.db
      .prepare<Record<string, unknown> & { tags: string; bucket: number }>(sql)
      .all(...args)
      .map((r) => {
        const fields: Record<string, FieldValue> = {};
        names.forEach((f, i) => {
          const v = r[`f${i}`];
          if (typeof v === 'number') fields[f] = v;
        });
        let tags: Tags;
        if (by) {
          tags = {};
          by.forEach((t, i) => {
            const v = r[`t${i}`];
            if (typeof v === 'string') tags[t] = v;
          });
        } else tags = JSON.parse(r.tags) as Tags;
        return { measurement: q.measurement, tags, fields, time: r.bucket };
      })
      .filter((p) => Object.keys(p.fields).length > 0);
  }

  /**
   * The WHERE of both queries. They name `series s CROSS JOIN points p`: SQLite then walks the
   * matching series and each one's (series, time) index range, instead of every point of the
   * time range of every measurement (https://www.sqlite.org/optoverview.html#crossjoin).
   */
  private where(q: PointQuery): { where: string; args: unknown[] } {
    let where = 's.measurement = ?';
    const args: unknown[] = [q.measurement];
    for (const [k, v] of Object.entries(q.tags ?? {})) {
      where += ' AND json_extract(s.tags, ?) = ?';
      args.push(`$.${JSON.stringify(k)}`, v);
    }
    if (q.from !== undefined) {
      where += ' AND p.time >= ?';
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where += ' AND p.time <= ?';
      args.push(q.to);
    }
    return { where, args };
  }

  /** Deletes points older than the retention and beyond maxPoints (oldest inserted first). */
  prune(now = Date.now()): number {
    if (this.closed) return 0;
    let deleted = 0;
    try {
      const byAge = this.db.prepare(`DELETE FROM points WHERE id IN (SELECT id FROM points WHERE time < ? LIMIT ${PRUNE_CHUNK})`);
      for (let n = PRUNE_CHUNK; n === PRUNE_CHUNK;) {
        n = byAge.run(now - this.opts.retentionMs).changes;
        deleted += n;
      }
      deleted += this.pruneByCount();
      if (deleted) this.logger.debug({ deleted }, 'embedded history pruned');
    } catch (err) {
      this.logger.error({ error: (err as Error).message }, 'embedded history: prune failed');
    }
    return deleted;
  }

  /**
   * Keeps at most maxPoints rows: ids only grow, so the newest maxPoints rows are those above
   * max(id) - maxPoints (replaced rows leave gaps, so slightly fewer may be kept). Cheap: rowid ranges.
   */
  private pruneByCount(): number {
    let deleted = 0;
    const maxId = this.maxIdStmt.get()?.m ?? 0;
    const cut = maxId - this.opts.maxPoints;
    if (cut <= 0) return 0;
    for (let n = PRUNE_CHUNK; n === PRUNE_CHUNK;) {
      n = this.deleteUpTo.run(cut).changes;
      deleted += n;
    }
    return deleted;
  }

  private seriesId(measurement: string, tags: Tags): number {
    const canon = canonicalTags(measurement, tags);
    const key = `${measurement}\u0000${canon}`;
    let id = this.seriesIds.get(key);
    if (id === undefined) {
      id = this.findSeries.get(measurement, canon)?.id ?? Number(this.insertSeries.run(measurement, canon).lastInsertRowid);
      this.seriesIds.set(key, id);
    }
    return id;
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
      for (const e of entries) e.onStored?.();
      try {
        this.pruneByCount();
      } catch (err) {
        this.logger.error({ error: (err as Error).message }, 'embedded history: prune failed');
      }
      if (this.once.clear('commit')) this.logger.info('embedded history: commits resumed');
      this.once.clear('queue');
      return true;
    } catch (err) {
      // SQLITE_BUSY/FULL/IOERR are transient or operator problems: keep the batch and retry.
      this.queue.unshiftAll(entries);
      this.seriesIds.clear(); // ids inserted by the rolled-back transaction are gone
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
