// Where points go. write() never blocks and never throws: the sink queues the
// points (bounded, oldest dropped and counted) and stores them in the background.
import type { Point } from './points.js';

export interface PointQuery {
  measurement: string;
  /** Every given tag must match exactly. */
  tags?: Record<string, string>;
  /** Inclusive time range, unix ms. */
  from?: number;
  to?: number;
  /** Default 10000. */
  limit?: number;
}

export interface SinkStats {
  /** Points accepted by write() since start. */
  accepted: number;
  /** Points stored (written to InfluxDB or committed to SQLite). */
  written: number;
  /** Points dropped because the queue was full (oldest first). */
  droppedQueueFull: number;
  /** Points dropped because the backend refused them as invalid (e.g. HTTP 400). */
  droppedRejected: number;
}

export interface MetricSink {
  readonly kind: 'influx' | 'embedded';
  /** Queues the points; returns once they are accepted (never waits on the backend). */
  write(points: Point[]): void;
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

/** The same sink, and every batch it accepts also handed to `observe` (alert evaluation). */
export function observedSink(sink: MetricSink, observe: (points: Point[]) => void): MetricSink {
  return {
    kind: sink.kind,
    write(points) { sink.write(points); observe(points); },
    queueLength: () => sink.queueLength(),
    stats: () => sink.stats(),
    drain: (timeoutMs) => sink.drain(timeoutMs),
    query: (q) => sink.query(q),
    close: () => sink.close(),
  };
}

/** FIFO ring buffer with a hard cap: pushing onto a full queue drops the oldest entries. */
export class BoundedQueue<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(readonly max: number, initial = 1024) {
    this.buf = new Array<T | undefined>(Math.min(max, initial));
  }

  get length(): number { return this.size; }

  /** Appends; returns how many of the oldest entries were dropped to make room. */
  push(v: T): number {
    let dropped = 0;
    if (this.size === this.max) {
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) % this.buf.length;
      this.size--;
      dropped = 1;
    } else if (this.size === this.buf.length) {
      this.grow();
    }
    this.buf[(this.head + this.size) % this.buf.length] = v;
    this.size++;
    return dropped;
  }

  /** Removes and returns up to n oldest entries. */
  take(n: number): T[] {
    const k = Math.min(n, this.size);
    const out = new Array<T>(k);
    for (let i = 0; i < k; i++) {
      out[i] = this.buf[this.head] as T;
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) % this.buf.length;
    }
    this.size -= k;
    return out;
  }

  /** Puts entries back at the front (a failed batch keeps its place); beyond the cap the oldest are dropped. */
  unshiftAll(items: T[]): number {
    let room = this.max - this.size;
    let dropped = 0;
    // Walk backwards so items keep their order in front of the queue.
    for (let i = items.length - 1; i >= 0; i--) {
      if (room === 0) { dropped = i + 1; break; }
      if (this.size === this.buf.length) this.grow();
      this.head = (this.head - 1 + this.buf.length) % this.buf.length;
      this.buf[this.head] = items[i];
      this.size++;
      room--;
    }
    return dropped;
  }

  private grow(): void {
    const next = new Array<T | undefined>(Math.min(this.max, Math.max(16, this.buf.length * 2)));
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}
