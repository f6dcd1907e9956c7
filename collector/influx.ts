// InfluxDB 1.x sink. A report's points are encoded to line protocol once, wait in
// memory (bounded) for the next batch (batchSize points or flushInterval), and are
// acked once InfluxDB answered 2xx. When InfluxDB is away or behind, points go to the
// disk spool instead (acked once fsync'd) and drain from it, oldest first, when it
// answers again. A background loop creates the database (retrying until InfluxDB
// answers); batches InfluxDB refuses as invalid (400) are dropped and counted.
import { InfluxDB, type IPoolOptions } from 'influx';
import { Backoff, OnceLog, type Logger } from '../common/index.js';
import type { InfluxConfig } from './config.js';
import { InfluxWriter, type WriteOutcome } from './influx-write.js';
import { batchLines, releaseLines, type Batch } from './batch.js';
import type { FieldValue, Point, Tags } from './points.js';
import { sumSeries } from './downsample.js';
import { victoriaQuery } from './victoria.js';
import { Fifo, type MetricSink, type PointQuery, type SinkStats, type StorageState } from './sink.js';
import { Spool, type SpoolOptions } from './spool.js';

// The pool must not park the host on its own timers: our loop owns retries.
const noPoolBackoff: NonNullable<IPoolOptions['backoff']> = {
  getDelay: () => 0,
  next() {
    return this;
  },
  reset() {
    return this;
  },
};

interface HttpError extends Error {
  res?: { statusCode?: number };
}
const statusOf = (err: unknown): number | undefined => (err as HttpError)?.res?.statusCode;

/** InfluxDB's own message from a RequestError ("A 400 Bad Request error occurred: {"error":"..."}"). */
function serverMessage(err: unknown): string {
  const msg = (err as Error)?.message ?? String(err);
  const body = msg.replace(/^A \d+ [^:]*error occurred: /, '');
  try {
    const j = JSON.parse(body) as { error?: string };
    if (typeof j.error === 'string') return j.error;
  } catch {
    /* not JSON */
  }
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

export interface InfluxSinkOptions {
  /** The disk spool (required unless ackOnQueue). */
  spool?: SpoolOptions;
  /**
   * Internal, for the benchmark's peer only (no config key): the old behaviour, acking
   * as soon as the points are queued in memory and dropping the oldest when it is full.
   */
  ackOnQueue?: boolean;
}

interface Entry {
  lines: Buffer;
  points: number;
  onStored?: () => void;
}

export class InfluxSink implements MetricSink {
  readonly kind = 'influx';
  private readonly influx: InfluxDB;
  private readonly writer: InfluxWriter;
  private readonly memory = new Fifo<Entry>();
  private readonly spool: Spool | undefined;
  private memPoints = 0;
  private inflight = 0;
  private dbReady = false;
  private closed = false;
  private flushing = false;
  /** Points go to the spool (InfluxDB away or behind) until it has drained. */
  private spooling = false;
  private failing = false;
  private lastError: string | undefined;
  private noRoomSince = 0;
  private retryAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private dbTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(250, 10_000);
  private readonly dbBackoff = new Backoff(250, 5_000);
  private readonly once = new OnceLog();
  private readonly counters: SinkStats = { accepted: 0, written: 0, spooled: 0, droppedRejected: 0, droppedNoRoom: 0 };

  constructor(
    private readonly cfg: InfluxConfig,
    private readonly logger: Logger,
    private readonly opts: InfluxSinkOptions = {},
  ) {
    this.influx = influxClient(cfg);
    this.writer = new InfluxWriter(cfg);
    if (!opts.ackOnQueue) {
      if (!opts.spool) throw new Error('InfluxSink: a spool is required for durable acks');
      this.spool = Spool.open(opts.spool, logger);
      this.spooling = this.spool.records > 0;
    }
  }

  /** Starts the database check and the flush loop; never waits for InfluxDB. */
  start(): void {
    this.ensureDatabase();
    this.schedule(this.cfg.flushIntervalMs);
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
    const { lines, points: n } = batchLines(batch);
    if (n === 0) {
      onStored?.();
      return true;
    }
    if (this.opts.ackOnQueue) return this.writeAckOnQueue(lines, n, onStored);
    const entry: Entry = { lines, points: n, onStored };
    const memoryRoom = this.memPoints + n <= this.cfg.maxQueuePoints;
    if (!this.spooling && this.dbReady && !this.failing && memoryRoom) {
      this.enqueue(entry);
    } else if (this.toSpool(entry)) {
      // acked once fsync'd
    } else if (memoryRoom) {
      this.enqueue(entry); // the spool is full: waits in memory, acked once written
    } else {
      if (refusalIsBackpressure) this.noRoom(n, onStored);
      return false;
    }
    this.noRoomSince = 0;
    this.counters.accepted += n;
    return true;
  }

  queueLength(): number {
    return this.memPoints + this.inflight + (this.spool?.points ?? 0);
  }
  stats(): SinkStats {
    return { ...this.counters, bodyBytes: this.writer.bytes.raw, sentBytes: this.writer.bytes.sent };
  }

  storage(): StorageState {
    const spool = this.spool && {
      bytes: this.spool.bytes,
      maxBytes: this.spool.maxBytes,
      points: this.spool.points,
      broken: this.spool.broken,
    };
    const reason = this.lastError ?? (this.dbReady ? undefined : 'the database is not ready yet');
    if (this.noRoomSince) return { state: 'full', reason: spool?.broken ? 'the spool cannot write to its disk' : reason, spool };
    if (this.spooling || (this.spool && !this.spool.empty)) return { state: 'spooling', reason, spool };
    return { state: 'ok', spool };
  }

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
    if (q.stepMs !== undefined && q.sumBy) {
      // Per-series buckets summed here: InfluxDB 1.x answers the same sum as a subquery
      // (SELECT sum(..) FROM (SELECT mean(..) .. GROUP BY time, *)) several times slower
      // (npm run bench -- query).
      const perSeries = await this.query({ ...q, sumBy: undefined, limit: Number.MAX_SAFE_INTEGER });
      return sumSeries(perSeries, q.sumBy).slice(0, q.limit ?? 10_000);
    }
    const where: string[] = [];
    for (const [k, v] of Object.entries(q.tags ?? {})) where.push(`${ident(k)} = ${literal(v)}`);
    if (q.from !== undefined) where.push(`time >= ${Math.trunc(q.from)}ms`);
    if (q.to !== undefined) where.push(`time <= ${Math.trunc(q.to)}ms`);
    const limit = q.limit ?? 10_000;
    const whereText = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    // With a step InfluxDB aggregates: GROUP BY time() buckets start on multiples of the step since
    // the epoch (https://docs.influxdata.com/influxdb/v1/query_language/explore-data/#basic-group-by-time-syntax).
    const fn = q.agg ?? 'mean';
    const select =
      q.stepMs === undefined
        ? q.fields
          ? q.fields.map(ident).join(', ')
          : '*'
        : q.fields
          ? q.fields.map((f) => `${fn}(${ident(f)}) AS ${ident(f)}`).join(', ')
          : `${fn}(*)`;
    const group = q.stepMs === undefined ? 'GROUP BY *' : `GROUP BY time(${Math.trunc(q.stepMs)}ms), * fill(none)`;
    const influxql = `SELECT ${select} FROM ${ident(q.measurement)}${whereText} ${group} ORDER BY time ASC LIMIT ${limit}`;
    // `mean(*)` names its columns mean_<field> (and sum(*) over them sum_mean_<field>).
    const prefix = q.stepMs !== undefined && !q.fields ? `${fn}_` : '';
    const raw = (await this.influx.queryRaw(influxql, { precision: 'ms' })) as { results?: { series?: RawSeries[]; error?: string }[] };
    const result = raw.results?.[0];
    if (result?.error) throw new Error(`influx: ${result.error}`);
    const out: Point[] = [];
    for (const series of result?.series ?? []) {
      const tags: Tags = {};
      for (const [k, v] of Object.entries(series.tags ?? {})) if (v !== '') tags[k] = v;
      const timeAt = series.columns.indexOf('time');
      for (const row of series.values) {
        const fields: Record<string, FieldValue> = {};
        series.columns.forEach((c, i) => {
          const v = row[i];
          if (i === timeAt || v === null || v === undefined || (q.stepMs !== undefined && typeof v !== 'number')) return;
          fields[prefix && c.startsWith(prefix) ? c.slice(prefix.length) : c] = v as FieldValue;
        });
        if (Object.keys(fields).length === 0) continue;
        out.push({ measurement: q.measurement, tags, fields, time: Number(row[timeAt]) });
      }
    }
    // GROUP BY * limits per series: merge into one time order and apply the limit overall.
    out.sort((a, b) => a.time - b.time);
    return out.slice(0, limit);
  }

  /** Stores what it can (bounded wait); what InfluxDB did not take goes to the spool. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.dbReady) await this.drain(5_000);
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.dbTimer);
    while (this.flushing) await new Promise((r) => setTimeout(r, 20));
    if (this.spool) {
      this.spillMemory();
      await this.spool.close();
    }
    this.writer.close();
    if (this.memPoints > 0) {
      this.logger.warn(
        { points: this.memPoints },
        this.opts.ackOnQueue
          ? 'influx: points still queued at shutdown are lost'
          : 'influx: points in memory at shutdown were never acked; the agents send them again',
      );
    }
  }

  private enqueue(e: Entry): void {
    this.memory.push(e);
    this.memPoints += e.points;
    if (this.memPoints >= this.cfg.batchSize && !this.flushing && this.dbReady && Date.now() >= this.retryAt) this.schedule(0);
  }

  /** Appends to the spool (acked once fsync'd); false when it has no room. */
  private toSpool(e: Entry): boolean {
    if (!this.spool || !this.spool.append(e.points, e.lines, () => e.onStored?.())) return false;
    releaseLines(e.lines); // the spool copied them
    this.counters.spooled += e.points;
    if (!this.spooling) {
      this.spooling = true;
      this.logger.warn(
        { reason: this.lastError ?? (this.dbReady ? 'InfluxDB is behind' : 'the database is not ready yet'), dir: this.opts.spool!.dir },
        "influx: spooling to disk until InfluxDB takes points again (acks continue once fsync'd)",
      );
    }
    return true;
  }

  /** Moves what waits in memory to the spool while it has room. */
  private spillMemory(): void {
    for (let e = this.memory.peek(); e; e = this.memory.peek()) {
      if (!this.toSpool(e)) break;
      this.memory.shift();
      this.memPoints -= e.points;
      this.noRoomSince = 0; // room freed in memory
    }
  }

  private noRoom(n: number, onStored: (() => void) | undefined): void {
    this.noRoomSince ||= Date.now();
    if (!onStored) this.counters.droppedNoRoom += n;
    if (this.once.enter('room', 'full')) {
      this.logger.error(
        { spool: this.spool && { bytes: this.spool.bytes, maxBytes: this.spool.maxBytes }, maxQueuePoints: this.cfg.maxQueuePoints },
        'influx: the spool and the memory queue are full; reports are not acked (agents keep them) until InfluxDB takes points again',
      );
    }
  }

  private writeAckOnQueue(lines: Buffer, n: number, onStored: (() => void) | undefined): boolean {
    while (this.memPoints + n > this.cfg.maxQueuePoints && this.memory.length) {
      const old = this.memory.shift()!;
      this.memPoints -= old.points;
      this.counters.droppedNoRoom += old.points;
      releaseLines(old.lines);
    }
    this.enqueue({ lines, points: n });
    this.counters.accepted += n;
    onStored?.();
    return true;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.flush();
    }, delayMs);
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
        this.lastError = serverMessage(err);
        if (this.once.enter('db', 'failing')) {
          this.logger.warn(
            { url: this.cfg.url, database: this.cfg.database, error: this.lastError },
            'influx: cannot create/check the database yet; retrying in the background (points are spooled)',
          );
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
    this.lastError = undefined;
    this.logger.info({ url: this.cfg.url, database: this.cfg.database }, 'influx: database ready');
    this.schedule(0);
  }

  private async flush(): Promise<void> {
    if (this.closed || this.flushing) return;
    if (!this.dbReady || Date.now() < this.retryAt) {
      // InfluxDB cannot take points now: what waits in memory goes to disk (and is acked).
      if (this.spool) this.spillMemory();
      this.schedule(this.dbReady ? Math.max(10, this.retryAt - Date.now()) : this.cfg.flushIntervalMs);
      return;
    }
    this.flushing = true;
    let next = this.cfg.flushIntervalMs;
    try {
      if (this.memory.length) next = await this.flushMemory();
      else if (this.spool && this.spool.records > 0) next = await this.flushSpool();
    } catch (err) {
      this.logger.error({ error: (err as Error).message }, 'influx: flush failed');
    } finally {
      this.inflight = 0;
      this.flushing = false;
    }
    if (this.spooling && this.spool?.empty && this.memory.length === 0) {
      this.spooling = false;
      this.once.clear('room');
      this.logger.info({ spooled: this.counters.spooled }, 'influx: spool drained; writing straight to InfluxDB again');
    }
    this.schedule(next);
  }

  /** One batch from memory; returns the delay before the next flush. */
  private async flushMemory(): Promise<number> {
    const batch: Entry[] = [];
    let points = 0;
    for (let e = this.memory.peek(); e && (batch.length === 0 || points + e.points <= this.cfg.batchSize); e = this.memory.peek()) {
      batch.push(this.memory.shift()!);
      points += e.points;
    }
    this.memPoints -= points;
    this.inflight = points;
    const out = await this.writer.write(batch.map((e) => e.lines));
    if (this.outcome(out, points)) {
      this.noRoomSince = 0; // room freed: 'full' until the next refusal only
      for (const e of batch) {
        releaseLines(e.lines);
        e.onStored?.();
      }
      return this.memPoints >= this.cfg.batchSize || (this.spool?.records ?? 0) > 0 ? 0 : this.cfg.flushIntervalMs;
    }
    this.memory.unshiftAll(batch);
    this.memPoints += points;
    if (this.spool) this.spillMemory();
    return this.retryDelay();
  }

  /** One batch from the spool, oldest first; consumed once InfluxDB took it. */
  private async flushSpool(): Promise<number> {
    const recs = await this.spool!.read(this.cfg.batchSize);
    const points = recs.reduce((a, r) => a + r.points, 0);
    this.inflight = 0;
    const out = await this.writer.write(recs.map((r) => r.lines));
    if (this.outcome(out, points)) {
      this.spool!.consume(recs.length);
      this.noRoomSince = 0;
      return 0;
    }
    return this.retryDelay();
  }

  /**
   * True when the batch is done with: stored (2xx) or refused as invalid (400, dropped
   * and counted: retrying cannot help). False when it must be retried.
   */
  private outcome(out: WriteOutcome, points: number): boolean {
    if (out.status >= 200 && out.status < 300) {
      this.counters.written += points;
      this.backoff.reset();
      this.retryAt = 0;
      this.lastError = undefined;
      if (this.failing) {
        this.failing = false;
        this.logger.info({ queued: this.queueLength() }, 'influx: writes resumed');
      }
      this.once.clear('write');
      return true;
    }
    if (out.status === 400) {
      // Invalid data (e.g. a field type conflict). InfluxDB keeps the valid points of a
      // partial write and says how many it dropped.
      const m = /dropped=(\d+)/.exec(out.error ?? '');
      const dropped = m ? Math.min(Number(m[1]), points) : points;
      this.counters.droppedRejected += dropped;
      this.counters.written += points - dropped;
      this.logger.error(
        { status: 400, error: out.error, points, dropped },
        'influx: write rejected as invalid; batch dropped, not retried',
      );
      return true;
    }
    this.lastError = out.status ? `HTTP ${out.status}: ${out.error}` : out.error;
    if (out.status === 404 && /database not found/i.test(out.error ?? '')) {
      this.dbReady = false;
      this.ensureDatabase();
    }
    this.failing = true;
    if (this.once.enter('write', 'failing')) {
      this.logger.warn(
        { status: out.status || undefined, error: out.error, queued: this.queueLength() },
        'influx: write failed; retrying with backoff (points are spooled to disk meanwhile)',
      );
    }
    return false;
  }

  private retryDelay(): number {
    const delay = this.backoff.next();
    this.retryAt = Date.now() + delay;
    return delay;
  }
}

interface RawSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

const ident = (name: string): string => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const literal = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
