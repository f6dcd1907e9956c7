// Where points go. write() never blocks and never throws: the sink takes the points
// when a buffer has room (else says no: backpressure), stores them in the background,
// and calls onStored once they are stored (InfluxDB answered 2xx, the SQLite
// transaction committed, or they are fsync'd in the disk spool).
import type { Batch } from './batch.js';
import type { Point } from './points.js';

export interface PointQuery {
  measurement: string;
  /** Every given tag must match exactly. */
  tags?: Record<string, string>;
  /** Inclusive time range, unix ms. */
  from?: number;
  to?: number;
  /** Default 10000; with stepMs, the number of buckets returned (all series together). */
  limit?: number;
  /** Only these fields (default: all). */
  fields?: string[];
  /**
   * Downsampling: one point per series per bucket of stepMs, stamped with the bucket's start
   * (buckets aligned on multiples of stepMs since the epoch, as InfluxQL's GROUP BY time()),
   * numeric fields aggregated by `agg`; string fields are left out. Requires `from`.
   */
  stepMs?: number;
  /** How a bucket's values become one; default mean. */
  agg?: Aggregate;
  /**
   * With stepMs: after the per-series aggregation, the series that share these tags' values are
   * summed per bucket (the other tags are dropped); [] sums every series into one.
   */
  sumBy?: string[];
}

export const AGGREGATES = ['mean', 'max', 'min', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface SinkStats {
  /** Points accepted by write() since start. */
  accepted: number;
  /** Points stored (written to InfluxDB or committed to SQLite). */
  written: number;
  /** Points put in the disk spool since start (InfluxDB away or behind). */
  spooled: number;
  /** Points dropped because the backend refused them as invalid (e.g. HTTP 400). */
  droppedRejected: number;
  /** Points written without a way to retry (collector events) while no buffer had room. */
  droppedNoRoom: number;
  /** InfluxDB / VictoriaMetrics sink: line-protocol bytes written, and the bytes sent for them (gzip'd when influx.gzip). */
  bodyBytes?: number;
  sentBytes?: number;
}

/** What the storage path is doing, for /healthz and the built-in alerts. */
export interface StorageState {
  /**
   * ok: storing as it comes; spooling: InfluxDB away or behind, points go to disk; full: a
   * report was refused for want of room (backpressure) and no room has been freed since.
   */
  state: 'ok' | 'spooling' | 'full';
  /** Why, in words (the backend's last error), when not ok. */
  reason?: string;
  spool?: { bytes: number; maxBytes: number; points: number; broken: boolean };
}

export interface MetricSink {
  readonly kind: 'influx' | 'embedded';
  /**
   * Takes the points (never waits on the backend); `onStored` runs once they are stored.
   * Returns false when no buffer has room: the caller keeps them and tries again later.
   * Without `onStored` nobody can retry, so refused points are dropped and counted.
   * A report comes as a SinkBatch (batch.ts): each sink asks for the form it stores.
   */
  write(batch: Batch, onStored?: () => void): boolean;
  /**
   * Stores the points if a buffer has room now, else lets them go, uncounted, and leaves the
   * storage state alone. For the collector's own storage events: they reach the alerts
   * directly, and a refused one must not keep the storage 'full' it reports on.
   */
  offer(batch: Batch): boolean;
  storage(): StorageState;
  /** Points accepted but not yet stored. */
  queueLength(): number;
  stats(): SinkStats;
  /** Resolves once everything queued is stored, or after `timeoutMs` (tests, shutdown). */
  drain(timeoutMs?: number): Promise<boolean>;
  /** Stored points of one measurement, oldest first (the API's history view). */
  query(q: PointQuery): Promise<Point[]>;
  /** Tries to store what is queued (bounded wait), then stops. */
  close(): Promise<void>;
}

/** The same sink, and every batch it takes also handed to `observe` (alert evaluation). */
export function observedSink(sink: MetricSink, observe: (batch: Batch) => void): MetricSink {
  return {
    kind: sink.kind,
    write(batch, onStored) {
      const ok = sink.write(batch, onStored);
      if (ok) observe(batch);
      return ok;
    },
    offer: (batch) => sink.offer(batch),
    storage: () => sink.storage(),
    queueLength: () => sink.queueLength(),
    stats: () => sink.stats(),
    drain: (timeoutMs) => sink.drain(timeoutMs),
    query: (q) => sink.query(q),
    close: () => sink.close(),
  };
}

/**
 * The collector's own events (host up/down, folded failovers): to the rules first, so that a
 * refused host.up cannot leave HostSilent firing, then to the sink. A refusal is counted as a
 * drop (MetricsDropped): the event is missing from the history. Returns whether it was stored.
 */
export function emitEvents(points: Point[], rules: ((points: Point[]) => void) | undefined, sink: MetricSink): boolean {
  rules?.(points);
  return sink.write(points);
}

/** FIFO with O(1) push and shift (an array with a moving head); nothing is ever dropped. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(v: T): void {
    this.items.push(v);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }

  /** Puts entries back at the front, in their order (a failed batch keeps its place). */
  unshiftAll(list: T[]): void {
    this.items = (list as (T | undefined)[]).concat(this.items.slice(this.head));
    this.head = 0;
  }
}
