// InfluxDB 1.x sink (the `influx` package). Ingest only ever touches the bounded
// queue; a background loop creates the database (retrying until InfluxDB answers),
// writes batches of batchSize every flushInterval with ms precision, retries failed
// batches with backoff, and drops (counting) batches InfluxDB refuses as invalid.
import { FieldType, InfluxDB, type IPoolOptions, type ISchemaOptions } from 'influx';
import { Backoff, OnceLog, type Logger } from '../common/index.js';
import { MEASUREMENTS, type FieldType as SchemaFieldType } from '../proto/index.js';
import type { InfluxConfig } from './config.js';
import type { FieldValue, Point, Tags } from './points.js';
import { victoriaQuery } from './victoria.js';
import { BoundedQueue, type MetricSink, type PointQuery, type SinkStats } from './sink.js';

const TYPE: Record<SchemaFieldType, FieldType> = {
  int: FieldType.INTEGER,
  float: FieldType.FLOAT,
  string: FieldType.STRING,
};

// The pool must not park the host on its own timers: our loop owns retries.
const noPoolBackoff: NonNullable<IPoolOptions['backoff']> = {
  getDelay: () => 0,
  next() { return this; },
  reset() { return this; },
};

interface HttpError extends Error { res?: { statusCode?: number } }
const statusOf = (err: unknown): number | undefined => (err as HttpError)?.res?.statusCode;

/** InfluxDB's own message from a RequestError ("A 400 Bad Request error occurred: {"error":"..."}"). */
function serverMessage(err: unknown): string {
  const msg = (err as Error)?.message ?? String(err);
  const body = msg.replace(/^A \d+ [^:]*error occurred: /, '');
  try {
    const j = JSON.parse(body) as { error?: string };
    if (typeof j.error === 'string') return j.error;
  } catch { /* not JSON */ }
  return body.trim() || msg;
}

export function influxClient(cfg: InfluxConfig, requestTimeoutMs = 10_000): InfluxDB {
  const url = new URL(cfg.url);
  return new InfluxDB({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    path: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
    database: cfg.database,
    username: cfg.username,
    password: cfg.password,
    pool: { maxRetries: 0, requestTimeout: requestTimeoutMs, backoff: noPoolBackoff },
  });
}

export class InfluxSink implements MetricSink {
  readonly kind = 'influx';
  private readonly influx: InfluxDB;
  private readonly queue: BoundedQueue<Point>;
  private inflight = 0;
  private dbReady = false;
  private closed = false;
  private flushing = false;
  private retryAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private dbTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(250, 10_000);
  private readonly dbBackoff = new Backoff(250, 5_000);
  private readonly once = new OnceLog();
  private readonly counters: SinkStats = { accepted: 0, written: 0, droppedQueueFull: 0, droppedRejected: 0 };
  private droppedSinceLog = 0;
  /** Field names registered with the client per measurement that accepts unlisted (float) fields. */
  private readonly extraFields = new Map<string, Record<string, FieldType>>();

  constructor(private readonly cfg: InfluxConfig, private readonly logger: Logger) {
    this.influx = influxClient(cfg);
    this.queue = new BoundedQueue<Point>(cfg.maxQueuePoints);
    for (const def of Object.values(MEASUREMENTS)) {
      const fields: Record<string, FieldType> = {};
      for (const [name, fd] of Object.entries(def.fields)) fields[name] = TYPE[fd.type];
      if (def.otherNumericFields === 'float') this.extraFields.set(def.name, fields);
      this.influx.addSchema({ measurement: def.name, tags: [...def.tags], fields });
    }
  }

  /** Starts the database check and the flush loop; never waits for InfluxDB. */
  start(): void {
    this.ensureDatabase();
    this.schedule(this.cfg.flushIntervalMs);
  }

  write(points: Point[]): void {
    if (this.closed) return;
    let dropped = 0;
    for (let i = 0; i < points.length; i++) dropped += this.queue.push(points[i]!);
    this.counters.accepted += points.length;
    if (dropped) this.noteDropped(dropped);
    if (this.queue.length >= this.cfg.batchSize && !this.flushing && this.dbReady && Date.now() >= this.retryAt) {
      this.schedule(0);
    }
  }

  queueLength(): number { return this.queue.length + this.inflight; }
  stats(): SinkStats { return { ...this.counters }; }

  async drain(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queueLength() > 0) {
      if (Date.now() >= deadline) return false;
      if (!this.flushing && this.dbReady && Date.now() >= this.retryAt) this.schedule(0);
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** InfluxQL over the same PointQuery the embedded store answers; tags come back per series. */
  async query(q: PointQuery): Promise<Point[]> {
    if (this.cfg.flavor === 'victoriametrics') return victoriaQuery(this.cfg, q);
    const where: string[] = [];
    for (const [k, v] of Object.entries(q.tags ?? {})) where.push(`${ident(k)} = ${literal(v)}`);
    if (q.from !== undefined) where.push(`time >= ${Math.trunc(q.from)}ms`);
    if (q.to !== undefined) where.push(`time <= ${Math.trunc(q.to)}ms`);
    const limit = q.limit ?? 10_000;
    const influxql = `SELECT * FROM ${ident(q.measurement)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY * ORDER BY time ASC LIMIT ${limit}`;
    const raw = await this.influx.queryRaw(influxql, { precision: 'ms' }) as { results?: { series?: RawSeries[]; error?: string }[] };
    const result = raw.results?.[0];
    if (result?.error) throw new Error(`influx: ${result.error}`);
    const out: Point[] = [];
    for (const series of result?.series ?? []) {
      const tags: Tags = {};
      for (const [k, v] of Object.entries(series.tags ?? {})) if (v !== '') tags[k] = v;
      const timeAt = series.columns.indexOf('time');
      for (const row of series.values) {
        const fields: Record<string, FieldValue> = {};
        series.columns.forEach((c, i) => { const v = row[i]; if (i !== timeAt && v !== null && v !== undefined) fields[c] = v as FieldValue; });
        out.push({ measurement: q.measurement, tags, fields, time: Number(row[timeAt]) });
      }
    }
    // GROUP BY * limits per series: merge into one time order and apply the limit overall.
    out.sort((a, b) => a.time - b.time);
    return out.slice(0, limit);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const left = this.dbReady ? await this.drain(5_000) : this.queueLength() === 0;
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.dbTimer);
    if (!left) this.logger.warn({ points: this.queueLength() }, 'influx: points still queued at shutdown are lost');
  }

  private noteDropped(n: number): void {
    this.counters.droppedQueueFull += n;
    this.droppedSinceLog += n;
    if (this.once.enter('queue', 'full')) {
      this.logger.warn({ maxQueuePoints: this.cfg.maxQueuePoints }, 'influx: queue full, dropping the oldest points until InfluxDB catches up');
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { void this.flush(); }, delayMs);
    this.timer.unref();
  }

  private ensureDatabase(): void {
    if (this.closed) return;
    clearTimeout(this.dbTimer);
    this.influx.createDatabase(this.cfg.database).then(
      () => this.databaseReady(),
      async (err: unknown) => {
        // A non-admin user cannot CREATE DATABASE; that is fine if it exists already.
        const status = statusOf(err);
        if (status === 401 || status === 403) {
          const names = await this.influx.getDatabaseNames().catch(() => [] as string[]);
          if (names.includes(this.cfg.database)) return this.databaseReady();
        }
        if (this.once.enter('db', 'failing')) {
          this.logger.warn({ url: this.cfg.url, database: this.cfg.database, error: serverMessage(err) },
            'influx: cannot create/check the database yet; retrying in the background (points are queued)');
        }
        if (this.closed) return;
        this.dbTimer = setTimeout(() => this.ensureDatabase(), this.dbBackoff.next());
        this.dbTimer.unref();
      },
    );
  }

  private databaseReady(): void {
    if (this.closed) return;
    this.dbReady = true;
    this.dbBackoff.reset();
    this.once.clear('db');
    this.logger.info({ url: this.cfg.url, database: this.cfg.database }, 'influx: database ready');
    this.schedule(0);
  }

  /** Registers unlisted numeric fields (written as float) with the client's schema. */
  private registerExtraFields(batch: Point[]): void {
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      const known = this.extraFields.get(p.measurement);
      if (!known) continue;
      let added = false;
      for (const f in p.fields) {
        if (known[f] === undefined) { known[f] = FieldType.FLOAT; added = true; }
      }
      if (added) {
        const def = MEASUREMENTS[p.measurement]!;
        const schema: ISchemaOptions = { measurement: def.name, tags: [...def.tags], fields: { ...known } };
        this.influx.addSchema(schema);
      }
    }
  }

  private async flush(): Promise<void> {
    if (this.closed || this.flushing) return;
    if (!this.dbReady || this.queue.length === 0) {
      this.schedule(this.cfg.flushIntervalMs);
      return;
    }
    this.flushing = true;
    const batch = this.queue.take(this.cfg.batchSize);
    this.inflight = batch.length;
    let next = this.cfg.flushIntervalMs;
    try {
      let request: Promise<void> | undefined;
      try {
        this.registerExtraFields(batch);
        request = this.influx.writePoints(batch.map(toIPoint), { precision: 'ms' });
      } catch (err) {
        // The client refused to encode a point: a bug on our side, never worth a retry.
        this.rejected(undefined, (err as Error).message, batch, batch.length);
      }
      if (request) await this.written(request, batch.length);
      if (this.queue.length >= this.cfg.batchSize) next = 0;
    } catch (err) {
      next = this.handleWriteError(err, batch);
    } finally {
      this.inflight = 0;
      this.flushing = false;
    }
    this.schedule(next);
  }

  /** Awaits a batch write and records the success. */
  private async written(request: Promise<void>, n: number): Promise<void> {
    await request;
    this.counters.written += n;
    this.backoff.reset();
    this.retryAt = 0;
    if (this.once.clear('write')) this.logger.info({ queued: this.queue.length }, 'influx: writes resumed');
    if (this.droppedSinceLog && this.once.clear('queue')) {
      this.logger.warn({ dropped: this.droppedSinceLog }, 'influx: queue drained below its limit; points were dropped meanwhile');
      this.droppedSinceLog = 0;
    }
  }

  private rejected(status: number | undefined, error: string, batch: Point[], dropped: number): void {
    this.counters.droppedRejected += dropped;
    this.counters.written += batch.length - dropped;
    this.logger.error({ status, error, points: batch.length, dropped }, 'influx: write rejected as invalid; batch dropped, not retried');
  }

  /** Returns the delay before the next flush. */
  private handleWriteError(err: unknown, batch: Point[]): number {
    const status = statusOf(err);
    if (status === 400) {
      // Invalid data (e.g. a field type conflict): retrying cannot help. InfluxDB keeps
      // the valid points of a partial write and says how many it dropped.
      const message = serverMessage(err);
      const m = /dropped=(\d+)/.exec(message);
      this.rejected(status, message, batch, m ? Math.min(Number(m[1]), batch.length) : batch.length);
      return 0;
    }
    const lost = this.queue.unshiftAll(batch);
    if (lost) this.noteDropped(lost);
    if (status === 404 && /database not found/i.test(serverMessage(err))) {
      this.dbReady = false;
      this.ensureDatabase();
      return this.cfg.flushIntervalMs;
    }
    const delay = this.backoff.next();
    this.retryAt = Date.now() + delay;
    if (this.once.enter('write', 'failing')) {
      this.logger.warn({ status, error: serverMessage(err), queued: this.queueLength() },
        'influx: write failed; retrying with backoff (ingest continues, points are queued)');
    }
    return delay;
  }
}

interface RawSeries { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }

const ident = (name: string): string => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const literal = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function toIPoint(p: Point): { measurement: string; tags: Record<string, string>; fields: Record<string, number | string>; timestamp: number } {
  return { measurement: p.measurement, tags: p.tags, fields: p.fields, timestamp: p.time };
}
