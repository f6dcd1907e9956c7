// Cursors over a laid-out form-2 sample (form2-reader.ts readSampleLayout): a column's values read
// one at a time straight from the sample's bytes, with no column arrays, value objects or strings
// made (a string is a byte range; text() makes it a string when one is wanted). What the collector
// reads of every sample on ingest (line protocol, rules, the latest sample's picks) goes this way.
import { COLUMN_SLOT, Reader, type SampleLayout } from './form2-reader.js';

const NO_BYTES = Buffer.alloc(0);

/** Buffer's UTF-8 decode without toString's encoding switch (form2-reader.ts reads strings so too). */
interface Utf8Slicing {
  utf8Slice(start: number, end: number): string;
}
export const utf8Text = (b: Buffer, start: number, end: number): string => (b as unknown as Utf8Slicing).utf8Slice(start, end);

/** The INFO columns an InfoCursor walks: by schema index (the field of the indexes) or by name (the field of the names). */
export const INFO_INT = 8;
export const INFO_FLOAT = 10;
export const INFO_STR = 12;
export const OTHER_INT = 38;
export const OTHER_FLOAT = 14;
export const OTHER_STR = 16;
/** Each INFO column's values: the field after its indexes or names (redis.proto). */
const VALUES_OF: Record<number, number> = { 8: 9, 10: 11, 12: 13, 38: 39, 14: 15, 16: 17 };

/** The string whose tag is at `r.pos`: its byte range into `out` ([start, end]); `r` moves past it. */
function stringAt(r: Reader, out: Int32Array, k: number): void {
  r.uint32();
  const end = r.delimited();
  out[k] = r.pos;
  out[k + 1] = end;
  r.pos = end;
}

/** Walks one INFO column of a laid-out sample: key (schema index) or name, and value, pair by pair. */
export class InfoCursor {
  bytes: Buffer = NO_BYTES;
  /** Schema index of the current pair (INFO_INT, INFO_FLOAT, INFO_STR). */
  key = 0;
  /** Its value, in a number column. */
  num = 0;
  /** Where its value (a string column) or its name (OTHER_*) is in `bytes`: value start, end, name start, end. */
  readonly at = new Int32Array(4);
  /** Where the current value's record starts in `bytes`: a number's 8 bytes, a string's tag. */
  valueAt = 0;
  private readonly keys = new Reader(NO_BYTES, 0, 0);
  private readonly values = new Reader(NO_BYTES, 0, 0);
  private left = 0;
  private named = false;
  private strings = false;

  /** Opens column `column` of a sample laid out as `layout` in `bytes`. */
  open(bytes: Buffer, layout: SampleLayout, column: number): void {
    const k = 3 * COLUMN_SLOT[column]!;
    const v = 3 * COLUMN_SLOT[VALUES_OF[column]!]!;
    this.bytes = bytes;
    this.named = column === OTHER_INT || column === OTHER_FLOAT || column === OTHER_STR;
    this.strings = column === INFO_STR || column === OTHER_STR;
    if (layout[k]! < 0 || layout[v]! < 0) {
      this.left = 0;
      return;
    }
    this.left = Math.min(layout[k + 2]!, layout[v + 2]!);
    this.keys.at(bytes, layout[k]!, layout[k + 1]!);
    this.values.at(bytes, layout[v]!, layout[v + 1]!);
  }

  next(): boolean {
    if (this.left === 0) return false;
    this.left--;
    if (this.named) stringAt(this.keys, this.at, 2);
    else this.key = this.keys.uint32();
    const values = this.values;
    this.valueAt = values.pos;
    if (this.strings) stringAt(values, this.at, 0);
    else {
      this.num = this.bytes.readDoubleLE(values.pos);
      values.pos += 8;
    }
    return true;
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
  private readonly start = new Int32Array(5);
  private readonly count = new Int32Array(5);
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
      this.start[c] = layout[v]!;
      this.count[c] = layout[v]! < 0 ? 0 : layout[v + 2]!;
    }
  }

  next(): boolean {
    if (this.row >= this.rows) return false;
    const j = this.row++;
    stringAt(this.names, this.at, 0);
    for (let c = 0; c < this.columns; c++) this.num[c] = j < this.count[c]! ? this.bytes.readDoubleLE(this.start[c]! + 8 * j) : 0;
    return true;
  }

  /** The current command's name. */
  name(): string {
    return utf8Text(this.bytes, this.at[0]!, this.at[1]!);
  }
}
