// The disk spool: points InfluxDB could not take yet, fsync'd before they are acked,
// drained oldest first when it answers again. A directory of segment files
// (seg-<n>.log), each a run of records: u32 payload length, u32 CRC-32 of the
// payload, payload (u32 point count + line protocol). Appends are group-committed:
// every record appended while a write+fdatasync is running goes out in the next one,
// so one fsync covers many reports. On open, segments are replayed in order and a torn
// tail (a record cut short by a crash, or failing its CRC) is truncated away.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Backoff, errorText, type Logger } from '../common/index.js';

export interface SpoolOptions {
  dir: string;
  /** Bound on the bytes on disk (all segments); append() refuses beyond it. */
  maxBytes: number;
  /** A new segment starts once the current one would pass this size. */
  segmentBytes: number;
}

/** A stored record read back: `points` points of line protocol. */
export interface SpoolRecord {
  points: number;
  lines: Buffer;
}

const HEADER = 8;
const COUNT = 4;
const SEGMENT_RE = /^seg-(\d{16})\.log$/;

interface RecordRef {
  offset: number;
  length: number;
  points: number;
}

interface Segment {
  n: number;
  file: string;
  fd: number;
  /** Bytes durably written (fdatasync'd). */
  size: number;
  records: RecordRef[];
  /** Index of the first record not yet consumed. */
  head: number;
  /** A group commit is writing to it: it must not be deleted even when fully consumed. */
  busy?: boolean;
}

interface PendingAppend {
  record: Buffer;
  points: number;
  done: () => void;
}

const segmentName = (n: number): string => `seg-${String(n).padStart(16, '0')}.log`;

/** The record framing for one payload (exported for tests that forge torn tails). */
export function encodeRecord(points: number, lines: Buffer): Buffer {
  const rec = Buffer.allocUnsafe(HEADER + COUNT + lines.length);
  rec.writeUInt32LE(COUNT + lines.length, 0);
  rec.writeUInt32LE(points, HEADER);
  lines.copy(rec, HEADER + COUNT);
  rec.writeUInt32LE(crc32(rec.subarray(HEADER)), 4);
  return rec;
}

export class Spool {
  private readonly segments: Segment[] = [];
  private pending: PendingAppend[] = [];
  private pendingBytes = 0;
  private pendingPoints = 0;
  private writingPoints = 0;
  private writingBytes = 0;
  private writing = false;
  private closed = false;
  private failing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(100, 5_000);
  private totalBytes = 0;
  /** Segment numbers only grow (a deleted file's name is never reused while its unlink may be pending). */
  private nextN = 1;
  private recordCount = 0;
  private pointCount = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly removing = new Set<Promise<void>>();
  /** fdatasync calls since open (group commit: far fewer than appends). */
  syncs = 0;

  private constructor(
    private readonly opts: SpoolOptions,
    private readonly logger: Logger,
  ) {}

  /** Opens (creating) the directory and replays what a previous run left, truncating a torn tail. */
  static open(opts: SpoolOptions, logger: Logger): Spool {
    const s = new Spool(opts, logger);
    fs.mkdirSync(opts.dir, { recursive: true });
    const names = fs
      .readdirSync(opts.dir)
      .filter((f) => SEGMENT_RE.test(f))
      .sort();
    for (const name of names) s.load(Number(SEGMENT_RE.exec(name)![1]), path.join(opts.dir, name));
    if (s.recordCount)
      logger.info(
        { dir: opts.dir, records: s.recordCount, points: s.pointCount, bytes: s.totalBytes },
        'spool: replaying points a previous run left',
      );
    return s;
  }

  /** Bytes on disk plus bytes accepted but not yet written. */
  get bytes(): number {
    return this.totalBytes + this.pendingBytes + this.writingBytes;
  }
  get maxBytes(): number {
    return this.opts.maxBytes;
  }
  /** Durable records not yet consumed. */
  get records(): number {
    return this.recordCount;
  }
  /** Points in records not yet consumed, durable or on their way to disk. */
  get points(): number {
    return this.pointCount + this.pendingPoints + this.writingPoints;
  }
  /** Nothing stored and nothing on its way to disk. */
  get empty(): boolean {
    return this.recordCount === 0 && this.pending.length === 0 && !this.writing;
  }
  /** True while the disk refuses writes (records wait in memory, the spool says it has no room). */
  get broken(): boolean {
    return this.failing;
  }

  hasRoom(payloadBytes: number): boolean {
    return !this.failing && !this.closed && this.bytes + HEADER + COUNT + payloadBytes <= this.opts.maxBytes;
  }

  /**
   * Queues a record for the next group commit; `onDurable` runs once it is fsync'd.
   * Returns false (nothing queued) when the spool has no room.
   */
  append(points: number, lines: Buffer, onDurable: () => void): boolean {
    if (!this.hasRoom(lines.length)) return false;
    const record = encodeRecord(points, lines);
    this.pending.push({ record, points, done: onDurable });
    this.pendingBytes += record.length;
    this.pendingPoints += points;
    if (!this.writing && !this.failing) {
      this.writing = true;
      setImmediate(() => {
        void this.commit();
      });
    }
    return true;
  }

  /** The oldest durable records, up to `maxPoints` points (at least one record), not consumed. */
  async read(maxPoints: number): Promise<SpoolRecord[]> {
    const out: SpoolRecord[] = [];
    let points = 0;
    for (const seg of this.segments) {
      let i = seg.head;
      const first = i;
      while (i < seg.records.length && ((out.length === 0 && i === first) || points + seg.records[i]!.points <= maxPoints)) {
        points += seg.records[i]!.points;
        i++;
      }
      if (i > first) {
        const start = seg.records[first]!.offset;
        const end = seg.records[i - 1]!.offset + seg.records[i - 1]!.length;
        const buf = Buffer.allocUnsafe(end - start);
        const { bytesRead } = await readAt(seg.fd, buf, start);
        if (bytesRead !== buf.length) throw new Error(`spool: short read in ${seg.file}`);
        for (let k = first; k < i; k++) {
          const r = seg.records[k]!;
          const at = r.offset - start;
          out.push({ points: r.points, lines: buf.subarray(at + HEADER + COUNT, at + r.length) });
        }
      }
      if (i < seg.records.length || points >= maxPoints) break;
    }
    return out;
  }

  /** Forgets the `n` oldest records (stored elsewhere now); fully consumed segments are deleted. */
  consume(n: number): void {
    while (n > 0 && this.segments.length) {
      const seg = this.segments[0]!;
      const take = Math.min(n, seg.records.length - seg.head);
      for (let k = seg.head; k < seg.head + take; k++) this.pointCount -= seg.records[k]!.points;
      seg.head += take;
      this.recordCount -= take;
      n -= take;
      const active = this.segments.length === 1;
      if (seg.head < seg.records.length) break;
      // The active segment goes too once everything is consumed and nothing is being written to it.
      if (seg.busy || (active && (this.writing || this.pending.length))) break;
      this.segments.shift();
      this.totalBytes -= seg.size;
      this.remove(seg);
    }
  }

  /** Resolves once every appended record is durable (or the spool is closed). */
  idle(): Promise<void> {
    if (!this.writing && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // A failing disk never gets idle: what is still pending was never acked (the agents resend it).
    if (!this.failing) await this.idle();
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const seg of this.segments) fs.closeSync(seg.fd);
    this.segments.length = 0;
    await Promise.all(this.removing);
  }

  /** Closes and deletes a segment file in the background (close() waits for it). */
  private remove(seg: Segment): void {
    const p = new Promise<void>((resolve) => fs.close(seg.fd, () => fs.unlink(seg.file, () => resolve())));
    this.removing.add(p);
    void p.then(() => this.removing.delete(p));
  }

  private load(n: number, file: string): void {
    const data = fs.readFileSync(file);
    const records: RecordRef[] = [];
    let at = 0;
    let points = 0;
    while (at + HEADER <= data.length) {
      const len = data.readUInt32LE(at);
      if (len < COUNT || at + HEADER + len > data.length) break;
      const payload = data.subarray(at + HEADER, at + HEADER + len);
      if (crc32(payload) !== data.readUInt32LE(at + 4)) break;
      const count = payload.readUInt32LE(0);
      records.push({ offset: at, length: HEADER + len, points: count });
      points += count;
      at += HEADER + len;
    }
    if (at < data.length) {
      fs.truncateSync(file, at);
      this.logger.warn(
        { file, keptBytes: at, droppedBytes: data.length - at },
        'spool: torn tail truncated (a write cut short by a crash; it was never acked)',
      );
    }
    if (records.length === 0) {
      fs.unlinkSync(file);
      this.nextN = Math.max(this.nextN, n + 1);
      return;
    }
    this.nextN = Math.max(this.nextN, n + 1);
    const fd = fs.openSync(file, 'a+');
    this.segments.push({ n, file, fd, size: at, records, head: 0 });
    this.totalBytes += at;
    this.recordCount += records.length;
    this.pointCount += points;
  }

  /** The segment the next record of `size` bytes goes to (a new one past segmentBytes). */
  private segmentFor(size: number): { seg: Segment; created: boolean } {
    const last = this.segments[this.segments.length - 1];
    if (last && (last.size + size <= this.opts.segmentBytes || last.size === 0)) return { seg: last, created: false };
    const n = this.nextN++;
    const file = path.join(this.opts.dir, segmentName(n));
    const fd = fs.openSync(file, 'a+');
    const seg: Segment = { n, file, fd, size: 0, records: [], head: 0 };
    this.segments.push(seg);
    return { seg, created: true };
  }

  /** One group commit: everything pending is written and fdatasync'd, then acknowledged. */
  private async commit(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.writingBytes = this.pendingBytes;
    this.pendingBytes = 0;
    this.writingPoints = this.pendingPoints;
    this.pendingPoints = 0;
    const touched: { seg: Segment; start: number; bufs: Buffer[]; refs: RecordRef[]; points: number }[] = [];
    let created = false;
    try {
      for (const p of batch) {
        const { seg, created: c } = this.segmentFor(p.record.length);
        created ||= c;
        let t = touched[touched.length - 1];
        if (!t || t.seg !== seg) touched.push((t = { seg, start: seg.size, bufs: [], refs: [], points: 0 }));
        const offset = t.start + t.bufs.reduce((a, b) => a + b.length, 0);
        t.bufs.push(p.record);
        t.refs.push({ offset, length: p.record.length, points: p.points });
        t.points += p.points;
        // Reserve the space so the next record's segment choice sees it.
        seg.size += p.record.length;
      }
      for (const t of touched) {
        t.seg.size = t.start;
        t.seg.busy = true;
      }
      for (const t of touched) {
        await writevAll(t.seg.fd, t.bufs, t.start);
        await datasync(t.seg.fd);
        this.syncs++;
      }
      if (created) await syncDir(this.opts.dir);
    } catch (err) {
      for (const t of touched) t.seg.busy = false;
      await this.writeFailed(err, batch, touched);
      return;
    }
    for (const t of touched) {
      const len = t.refs.length ? t.refs[t.refs.length - 1]!.offset + t.refs[t.refs.length - 1]!.length - t.start : 0;
      t.seg.size = t.start + len;
      t.seg.records.push(...t.refs);
      t.seg.busy = false;
      this.totalBytes += len;
      this.recordCount += t.refs.length;
      this.pointCount += t.points;
    }
    this.writingBytes = 0;
    this.writingPoints = 0;
    if (this.failing) {
      this.failing = false;
      this.backoff.reset();
      this.logger.info({ dir: this.opts.dir }, 'spool: writes work again');
    }
    for (const p of batch) p.done();
    this.next();
  }

  private next(): void {
    if (this.pending.length && !this.closed) {
      setImmediate(() => {
        void this.commit();
      });
      return;
    }
    this.writing = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** A write or fsync failed (ENOSPC, EIO): cut the segments back, keep the records, retry later. */
  private async writeFailed(err: unknown, batch: PendingAppend[], touched: { seg: Segment; start: number }[]): Promise<void> {
    for (const t of touched) {
      t.seg.size = t.start;
      try {
        fs.ftruncateSync(t.seg.fd, t.start);
      } catch {
        /* retried with the next attempt */
      }
    }
    // Segments created for this batch and left empty are dropped from the list (their files stay empty).
    while (this.segments.length > 1 && this.segments[this.segments.length - 1]!.records.length === 0) {
      this.remove(this.segments.pop()!);
    }
    this.pending = batch.concat(this.pending);
    this.pendingBytes += this.writingBytes;
    this.writingBytes = 0;
    this.pendingPoints += this.writingPoints;
    this.writingPoints = 0;
    if (!this.failing) {
      this.failing = true;
      this.logger.error(
        { dir: this.opts.dir, error: errorText(err) },
        'spool: write failed; the spool takes nothing new until it works again (agents keep their reports)',
      );
    }
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      void this.commit();
    }, this.backoff.next());
    this.retryTimer.unref();
  }
}

function readAt(fd: number, buf: Buffer, position: number): Promise<{ bytesRead: number }> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, 0, buf.length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead }))),
  );
}

async function writevAll(fd: number, bufs: Buffer[], position: number): Promise<void> {
  let list = bufs;
  let pos = position;
  while (list.length) {
    const written = await new Promise<number>((resolve, reject) => fs.writev(fd, list, pos, (err, n) => (err ? reject(err) : resolve(n))));
    pos += written;
    let skip = written;
    const rest: Buffer[] = [];
    for (const b of list) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip ? b.subarray(skip) : b);
      skip = 0;
    }
    list = rest;
  }
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

async function syncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
