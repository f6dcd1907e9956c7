// Embedded metric history in the store's SQLite file, used when no InfluxDB is
// configured. Points are queued (write() never touches the disk), committed in
// batched transactions with INSERT OR REPLACE keyed by (series, time) so replayed
// reports are idempotent, and pruned by age and by count in small chunks.
import { OnceLog, type Logger } from '../common/index.js';
import { MEASUREMENTS } from '../proto/index.js';
import type { FieldValue, Point, Tags } from './points.js';
import { BoundedQueue, type MetricSink, type PointQuery, type SinkStats } from './sink.js';

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
}

const PRUNE_CHUNK = 20_000;

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
  private readonly queue: BoundedQueue<Point>;
  private readonly seriesIds = new Map<string, number>();
  private readonly findSeries: Statement<{ id: number }>;
  private readonly insertSeries: Statement;
  private readonly insertPoint: Statement;
  private readonly commit: (batch: Point[]) => void;
  private readonly counters: SinkStats = { accepted: 0, written: 0, droppedQueueFull: 0, droppedRejected: 0 };
  private readonly once = new OnceLog();
  private flushTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxIdStmt: Statement<{ m: number | null }>;
  private readonly deleteUpTo: Statement;

  constructor(store: Store, private readonly opts: HistoryOptions, private readonly logger: Logger) {
    this.db = store.db;
    this.flushIntervalMs = opts.flushIntervalMs ?? 200;
    this.batchSize = opts.batchSize ?? 5000;
    this.queue = new BoundedQueue<Point>(opts.maxQueuePoints ?? 500_000);
    this.findSeries = this.db.prepare('SELECT id FROM series WHERE measurement = ? AND tags = ?');
    this.insertSeries = this.db.prepare('INSERT INTO series (measurement, tags) VALUES (?, ?)');
    this.insertPoint = this.db.prepare('INSERT OR REPLACE INTO points (series, time, fields) VALUES (?, ?, ?)');
    this.maxIdStmt = this.db.prepare('SELECT max(id) AS m FROM points');
    this.deleteUpTo = this.db.prepare(`DELETE FROM points WHERE id IN (SELECT id FROM points WHERE id <= ? ORDER BY id LIMIT ${PRUNE_CHUNK})`);
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

  write(points: Point[]): void {
    if (this.closed) return;
    let dropped = 0;
    for (let i = 0; i < points.length; i++) dropped += this.queue.push(points[i]!);
    this.counters.accepted += points.length;
    if (dropped) {
      this.counters.droppedQueueFull += dropped;
      if (this.once.enter('queue', 'full')) this.logger.warn({ dropped }, 'embedded history: queue full, dropping the oldest points');
    }
    if (this.queue.length >= this.batchSize) this.scheduleFlush(0);
    else if (!this.flushTimer) this.scheduleFlush(this.flushIntervalMs);
  }

  queueLength(): number { return this.queue.length; }
  stats(): SinkStats { return { ...this.counters }; }

  async drain(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0) {
      this.flush();
      if (this.queue.length === 0) break;
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

  async query(q: PointQuery): Promise<Point[]> { return this.queryPoints(q); }

  /** Points of one measurement, oldest first (tests and the API's history views). */
  queryPoints(q: PointQuery): Point[] {
    let sql = `SELECT s.tags AS tags, p.time AS time, p.fields AS fields
      FROM points p JOIN series s ON s.id = p.series WHERE s.measurement = ?`;
    const args: unknown[] = [q.measurement];
    for (const [k, v] of Object.entries(q.tags ?? {})) {
      sql += ' AND json_extract(s.tags, ?) = ?';
      args.push(`$.${JSON.stringify(k)}`, v);
    }
    if (q.from !== undefined) { sql += ' AND p.time >= ?'; args.push(q.from); }
    if (q.to !== undefined) { sql += ' AND p.time <= ?'; args.push(q.to); }
    sql += ' ORDER BY p.time, p.series LIMIT ?';
    args.push(q.limit ?? 10_000);
    return this.db.prepare<{ tags: string; time: number; fields: string }>(sql).all(...args).map((r) => ({
      measurement: q.measurement,
      tags: JSON.parse(r.tags) as Tags,
      fields: JSON.parse(r.fields) as Record<string, FieldValue>,
      time: r.time,
    }));
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
      if (this.queue.length > 0) this.scheduleFlush(!ok ? 1000 : this.queue.length >= this.batchSize ? 0 : this.flushIntervalMs);
    }, delayMs);
    this.flushTimer.unref();
  }

  /** Commits one batch; false when the commit failed (the batch is back in the queue). */
  private flush(): boolean {
    if (this.closed || this.queue.length === 0) return true;
    const batch = this.queue.take(this.batchSize);
    try {
      this.commit(batch);
      this.counters.written += batch.length;
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
      const lost = this.queue.unshiftAll(batch);
      this.counters.droppedQueueFull += lost;
      this.seriesIds.clear(); // ids inserted by the rolled-back transaction are gone
      if (this.once.enter('commit', 'failing')) {
        this.logger.error({ error: (err as Error).message, queued: this.queue.length }, 'embedded history: commit failed; retrying');
      }
      return false;
    }
  }

  private flushAll(): void {
    for (let guard = 0; this.queue.length > 0 && guard < 1000; guard++) {
      if (!this.flush()) break;
    }
  }
}
