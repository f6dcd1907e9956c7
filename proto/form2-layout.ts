// Cursors over a laid-out form-2 sample (form2-reader.ts readSampleLayout): a column's values read
// one at a time straight from the sample's bytes, with no column arrays, value objects or strings
// made (a string is a byte range; text() makes it a string when one is wanted). What the collector
// reads of every sample on ingest (line protocol, rules, the latest sample's picks) goes this way.
import { COLUMN_SLOT, Reader, utf8Text, type SampleLayout } from './form2-reader.js';

const NO_BYTES = Buffer.alloc(0);

export { utf8Text };

/** The INFO columns an InfoCursor walks: by schema index (the field of the indexes) or by name (the field of the names). */
export const INFO_INT = 8;
export const INFO_FLOAT = 10;
export const INFO_STR = 12;
export const OTHER_INT = 38;
export const OTHER_FLOAT = 14;
export const OTHER_STR = 16;
/** Each INFO column's values: the field after its indexes or names (redis.proto). */
const VALUES_OF: Record<number, number> = { 8: 9, 10: 11, 12: 13, 38: 39, 14: 15, 16: 17 };

/**
 * The string whose tag is at `r.pos`: its byte range into `out` ([start, end]); `r` moves past it.
 * The layout checked the string's tag and length already.
 */
function stringAt(r: Reader, out: Int32Array, k: number): void {
  const buf = r.buf;
  let p = r.pos;
  while (buf[p++]! >= 0x80);
  let length = buf[p]!;
  if (length < 0x80) p++;
  else {
    r.pos = p;
    length = r.uint32();
    p = r.pos;
  }
  out[k] = p;
  out[k + 1] = p + length;
  r.pos = p + length;
}

/** A packed double column's values copied out of the sample's bytes: one copy, then plain array reads. */
class Doubles {
  values = new Float64Array(64);

  /** The doubles of `bytes` from `start` to `end` (a multiple of 8 bytes) into `values`. */
  read(bytes: Buffer, start: number, end: number): void {
    if (this.values.length < (end - start) / 8) this.values = new Float64Array(Math.max((end - start) / 8, 2 * this.values.length));
    // A double a step through a DataView (TurboFan inlines it): Buffer#copy makes a view of the source per call.
    const view = viewOf(bytes);
    const values = this.values;
    for (let p = bytes.byteOffset + start, i = 0, n = (end - start) / 8; i < n; p += 8) values[i++] = view.getFloat64(p, true);
  }
}

// The DataView of the memory the last sample read was in (a report's samples share one).
let lastMemory: ArrayBufferLike | null = null;
let lastView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** A DataView of all the memory under `bytes` (offsets into it are bytes.byteOffset + offsets into `bytes`). */
function viewOf(bytes: Buffer): DataView<ArrayBufferLike> {
  if (bytes.buffer !== lastMemory) {
    lastMemory = bytes.buffer;
    lastView = new DataView(bytes.buffer);
  }
  return lastView;
}

/** Walks one INFO column of a laid-out sample: key (schema index) or name, and value, pair by pair. */
export class InfoCursor {
  bytes: Buffer = NO_BYTES;
  /** Schema index of the current pair (INFO_INT, INFO_FLOAT, INFO_STR). */
  key = 0;
  /** Where its value (a string column) or its name (OTHER_*) is in `bytes`: value start, end, name start, end. */
  readonly at = new Int32Array(4);
  /** Pairs in the column. */
  pairs = 0;
  /** Where the column's keys (indexes or names) lie in `bytes`. */
  keysStart = 0;
  keysEnd = 0;
  private readonly keys = new Reader(NO_BYTES, 0, 0);
  private readonly values = new Reader(NO_BYTES, 0, 0);
  private readonly numbers = new Doubles();
  /** Pairs read. */
  private j = 0;
  private named = false;
  private strings = false;
  private valuesStart = 0;
  /** The current string value's record (its tag), in a string column. */
  private stringAt = 0;

  /** `bulk`: a number column is copied out at open() (a reader of most values); otherwise each value is read where it is. */
  constructor(private readonly bulk = false) {}

  /** Opens column `column` of a sample laid out as `layout` in `bytes`. */
  open(bytes: Buffer, layout: SampleLayout, column: number): void {
    const k = 3 * COLUMN_SLOT[column]!;
    const v = 3 * COLUMN_SLOT[VALUES_OF[column]!]!;
    this.bytes = bytes;
    this.named = column === OTHER_INT || column === OTHER_FLOAT || column === OTHER_STR;
    this.strings = column === INFO_STR || column === OTHER_STR;
    this.j = 0;
    if (layout[k]! < 0 || layout[v]! < 0) {
      this.pairs = this.keysStart = this.keysEnd = 0;
      return;
    }
    this.pairs = Math.min(layout[k + 2]!, layout[v + 2]!);
    this.keysStart = layout[k]!;
    this.keysEnd = layout[k + 1]!;
    this.keys.at(bytes, layout[k]!, layout[k + 1]!);
    this.values.at(bytes, layout[v]!, layout[v + 1]!);
    this.valuesStart = layout[v]!;
    if (this.bulk && !this.strings) this.numbers.read(bytes, layout[v]!, layout[v + 1]!);
  }

  next(): boolean {
    if (this.j === this.pairs) return false;
    this.j++;
    if (this.named) stringAt(this.keys, this.at, 2);
    else this.key = this.keys.uint32();
    if (this.strings) {
      this.stringAt = this.values.pos;
      stringAt(this.values, this.at, 0);
    }
    return true;
  }

  /** The current value, in a number column. */
  get num(): number {
    return this.bulk ? this.numbers.values[this.j - 1]! : this.bytes.readDoubleLE(this.valuesStart + 8 * (this.j - 1));
  }

  /** The values of a number column in a bulk cursor: the current one is columnValues[index]. */
  get columnValues(): Float64Array {
    return this.numbers.values;
  }
  get index(): number {
    return this.j - 1;
  }

  /** Where the current value's record starts in `bytes`: a number's 8 bytes, a string's tag. */
  get valueAt(): number {
    return this.strings ? this.stringAt : this.valuesStart + 8 * (this.j - 1);
  }

  /** The current string value. */
  text(): string {
    return utf8Text(this.bytes, this.at[0]!, this.at[1]!);
  }

  /** The current name (OTHER_*). */
  name(): string {
    return utf8Text(this.bytes, this.at[2]!, this.at[3]!);
  }
}

/**
 * What was worked out from an INFO column's keys (its names), kept while the next sample's keys
 * are the same bytes: an instance sends the same names every time, so nothing is made per name
 * and sample.
 */
export class KeysMemo<T> {
  private bytes = NO_BYTES;
  private pairs = 0;
  private value: T | undefined;

  /** The value kept for `cur`'s column (opened, not walked yet), or undefined. */
  get(cur: InfoCursor): T | undefined {
    const n = cur.keysEnd - cur.keysStart;
    if (n === 0 || n !== this.bytes.length || cur.pairs > this.pairs) return undefined;
    return cur.bytes.compare(this.bytes, 0, n, cur.keysStart, cur.keysEnd) === 0 ? this.value : undefined;
  }

  /** `value` worked out from every pair of `cur`'s column. */
  set(cur: InfoCursor, value: T): void {
    const n = cur.keysEnd - cur.keysStart;
    if (n === 0) return;
    if (this.bytes.length !== n) this.bytes = Buffer.allocUnsafe(n);
    cur.bytes.copy(this.bytes, 0, cur.keysStart, cur.keysEnd);
    this.pairs = cur.pairs;
    this.value = value;
  }
}

/** The string value whose record (tag) starts at `valueAt` (InfoCursor.valueAt). */
export function stringValueAt(bytes: Buffer, valueAt: number): string {
  const r = new Reader(bytes, valueAt, bytes.length);
  r.uint32();
  return r.string();
}

/** The per-command row columns a RowCursor walks: commandstats (5 numbers) and latencystats (3). */
export const CMD_ROWS = 21;
export const LAT_ROWS = 27;

/** Walks the per-command rows of a laid-out sample: the command's name bytes and its numbers (a missing number is 0, as in form2-reader.ts commandstatsOf). */
export class RowCursor {
  bytes: Buffer = NO_BYTES;
  /** The current row's command name: start and end in `bytes`. */
  readonly at = new Int32Array(2);
  /** The current row's numbers (calls, usec, usecPerCall, rejected, failed; or p50, p99, p999). */
  readonly num = new Float64Array(5);
  private readonly names = new Reader(NO_BYTES, 0, 0);
  private readonly count = new Int32Array(5);
  private readonly values = [0, 1, 2, 3, 4].map(() => new Doubles());
  private columns = 0;
  private row = 0;
  private rows = 0;

  open(bytes: Buffer, layout: SampleLayout, which: number): void {
    const k = 3 * COLUMN_SLOT[which]!;
    this.bytes = bytes;
    this.row = 0;
    this.columns = which === CMD_ROWS ? 5 : 3;
    if (layout[k]! < 0) {
      this.rows = 0;
      return;
    }
    this.rows = layout[k + 2]!;
    this.names.at(bytes, layout[k]!, layout[k + 1]!);
    for (let c = 0; c < this.columns; c++) {
      const v = 3 * COLUMN_SLOT[which + 1 + c]!;
      this.count[c] = layout[v]! < 0 ? 0 : layout[v + 2]!;
      if (this.count[c]) this.values[c]!.read(bytes, layout[v]!, layout[v + 1]!);
    }
  }

  next(): boolean {
    if (this.row >= this.rows) return false;
    const j = this.row++;
    stringAt(this.names, this.at, 0);
    for (let c = 0; c < this.columns; c++) this.num[c] = j < this.count[c]! ? this.values[c]!.values[j]! : 0;
    return true;
  }
}
