// Encoded reports the collector has not acknowledged yet, in seq order, bounded by
// count and by bytes; when full the oldest go first (and are counted).

export interface BufferedReport {
  seq: number;
  /** The encoded AgentMessage{report}, exactly what goes on the wire. */
  bytes: Buffer;
  /** Its report form (proto/form2.ts); 1 when absent. */
  form?: number;
}

export class ReportBuffer {
  private items: BufferedReport[] = [];
  private head = 0;
  private totalBytes = 0;
  private lastSeq = 0;
  /** Reports dropped since start (buffer full), oldest first. */
  dropped = 0;

  constructor(
    readonly maxReports: number,
    readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }
  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * Appends a report (seq must grow), dropping the oldest until it fits. Returns how
   * many were dropped; a report larger than the whole byte budget is itself dropped.
   */
  push(report: BufferedReport): number {
    if (report.seq <= this.lastSeq) throw new Error(`seq ${report.seq} not after ${this.lastSeq}`);
    this.lastSeq = report.seq;
    if (report.bytes.length > this.maxBytes) {
      this.dropped++;
      return 1;
    }
    let dropped = 0;
    while (this.size > 0 && (this.size >= this.maxReports || this.totalBytes + report.bytes.length > this.maxBytes)) {
      this.shift();
      dropped++;
    }
    this.dropped += dropped;
    this.items.push(report);
    this.totalBytes += report.bytes.length;
    return dropped;
  }

  /** Cumulative ack: forgets every report with seq <= `seq`. Returns how many. */
  ack(seq: number): number {
    let n = 0;
    while (this.size > 0 && this.items[this.head]!.seq <= seq) {
      this.shift();
      n++;
    }
    return n;
  }

  /** The first report with seq > `seq` (what to send after `seq`), or undefined. */
  after(seq: number): BufferedReport | undefined {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.items[lo];
  }

  /** Removes (counting as dropped) every report larger than `maxBytes`; returns how many. */
  dropLargerThan(maxBytes: number): number {
    const keep = this.items.slice(this.head).filter((r) => r.bytes.length <= maxBytes);
    const n = this.size - keep.length;
    if (n === 0) return 0;
    this.items = keep;
    this.head = 0;
    this.totalBytes = keep.reduce((a, r) => a + r.bytes.length, 0);
    return n;
  }

  first(): BufferedReport | undefined {
    return this.size > 0 ? this.items[this.head] : undefined;
  }
  last(): BufferedReport | undefined {
    return this.size > 0 ? this.items[this.items.length - 1] : undefined;
  }

  /** Seqs currently held, oldest first (for tests and diagnostics). */
  seqs(): number[] {
    return this.items.slice(this.head).map((r) => r.seq);
  }

  private shift(): void {
    const r = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as BufferedReport;
    this.head++;
    this.totalBytes -= r.bytes.length;
    // Compact now and then instead of Array.shift() on every removal.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
  }
}
