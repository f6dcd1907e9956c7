// A reader for redisfleet.v2.RedisSamples straight into the RedisSample every consumer reads:
// packed columns read in place (no per-number object, no intermediate message objects), INFO
// named from the schema index. The small nested lists (replicas, keyspace, errorstats, slowlog)
// are read the same way. Unknown fields are skipped (a newer agent may add some); truncated or
// malformed bytes throw an Error naming the offset.
// Wire format: https://protobuf.dev/programming-guides/encoding/
import type { RedisSample, Value, ReplicaInfo, KeyspaceInfo, ErrorStat, SlowlogEntry, CommandStat, LatencyStat } from './types.js';

const TWO_32 = 0x1_0000_0000;

/** Buffer's UTF-8 decode without toString's encoding switch (what protobufjs's BufferReader calls). */
interface Utf8Slicing {
  utf8Slice(start: number, end: number): string;
}
export const utf8Text = (b: Buffer, start: number, end: number): string => (b as unknown as Utf8Slicing).utf8Slice(start, end);

export class Reader {
  pos: number;
  constructor(
    public buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start;
  }

  /** The reader moved to `buf` from `start` to `end` (a cursor reuses one). */
  at(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  fail(what: string): never {
    throw new Error(`${what} at byte ${this.pos}`);
  }

  uint32(): number {
    // One- and two-byte varints (tags, lengths, schema indexes) are nearly all of them.
    if (this.pos + 1 < this.end) {
      const b0 = this.buf[this.pos]!;
      if (b0 < 0x80) {
        this.pos++;
        return b0;
      }
      const b1 = this.buf[this.pos + 1]!;
      if (b1 < 0x80) {
        this.pos += 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
    } else if (this.pos < this.end && this.buf[this.pos]! < 0x80) return this.buf[this.pos++]!;
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v >>> 0 === v ? v : v % TWO_32;
    }
    // a 64-bit varint where 32 bits were expected: keep the low 32 bits, skip the rest
    return this.skipVarintRest(v % TWO_32);
  }

  private skipVarintRest(v: number): number {
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      if (this.buf[this.pos++]! < 0x80) return v;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** An int64/uint64 varint as a number (two's complement for negatives; beyond 2^53 it rounds). */
  int64(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (shift < 28) lo += bits * 2 ** shift;
      else if (shift === 28) {
        lo += (bits & 0x0f) * 2 ** 28;
        hi += bits >>> 4;
      } else hi += bits * 2 ** (shift - 32);
      shift += 7;
      if (b < 0x80) {
        hi %= TWO_32;
        if (hi >= 0x8000_0000) return -((TWO_32 - 1 - hi) * TWO_32 + (TWO_32 - lo));
        return hi * TWO_32 + lo;
      }
    }
    return this.fail('varint longer than 10 bytes');
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated fixed32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** The end offset of a length-delimited field starting here. */
  delimited(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) this.fail('length beyond the message');
    return end;
  }

  string(): string {
    const end = this.delimited();
    const s = utf8Text(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  /** Repeated double, packed (wire type 2) or one value (wire type 1). */
  doubles(wire: number, out: number[]): void {
    if (wire === 1) {
      out.push(this.double());
      return;
    }
    const end = this.delimited();
    if ((end - this.pos) % 8) this.fail('packed doubles not a multiple of 8 bytes');
    // Sized once (not grown push by push): a third of the bytes a decode allocates otherwise.
    let j = out.length;
    out.length = j + (end - this.pos) / 8;
    for (; this.pos < end; this.pos += 8) out[j++] = this.buf.readDoubleLE(this.pos);
  }

  /** Repeated uint32, packed (wire type 2) or one value (wire type 0). */
  uint32s(wire: number, out: number[]): void {
    if (wire === 0) {
      out.push(this.uint32());
      return;
    }
    const end = this.delimited();
    const buf = this.buf;
    // Sized once: a varint ends at each byte below 0x80.
    let n = 0;
    for (let p = this.pos; p < end; p++) if (buf[p]! < 0x80) n++;
    let j = out.length;
    out.length = j + n;
    while (this.pos < end) out[j++] = this.uint32();
    if (this.pos !== end || j !== out.length) this.fail('packed varints overrun');
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.int64();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.delimited();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) this.fail('truncated field');
  }
}

/** INFO of one form-2 sample: by schema index, one column per type, and by name. */
export interface InfoColumns {
  intIndex: number[];
  intValue: number[];
  floatIndex: number[];
  floatValue: number[];
  strIndex: number[];
  strValue: string[];
  otherFloatName: string[];
  otherFloatValue: number[];
  otherStrName: string[];
  otherStrValue: string[];
  otherIntName: string[];
  otherIntValue: number[];
}

/** The columns of one sample: INFO, commandstats and latencystats as they travel. */
export interface SampleColumns extends InfoColumns {
  cmd: string[];
  cmdNum: number[][]; // calls, usec, usecPerCall, rejected, failed
  lat: string[];
  latNum: number[][]; // p50, p99, p999
}

const RATE_COUNT = 8;

function emptyColumns(): SampleColumns {
  return {
    intIndex: [],
    intValue: [],
    floatIndex: [],
    floatValue: [],
    strIndex: [],
    strValue: [],
    otherFloatName: [],
    otherFloatValue: [],
    otherStrName: [],
    otherStrValue: [],
    otherIntName: [],
    otherIntValue: [],
    cmd: [],
    cmdNum: [[], [], [], [], []],
    lat: [],
    latNum: [[], [], []],
  };
}

/** A sample without INFO, commandstats and latencystats (what form2.ts keeps in columns until asked). */
export type SampleFields = Omit<RedisSample, 'info' | 'commandstats' | 'latencystats'>;

function emptyFields(): SampleFields {
  return {
    address: '',
    cluster: '',
    group: '',
    up: false,
    error: '',
    sampledAtMs: 0,
    role: '',
    replicas: [],
    keyspace: [],
    errorstats: [],
    maxmemory: 0,
    maxclients: 0,
    unavailable: [],
    slowlog: [],
  };
}

/**
 * Where a sample's columns lie in its bytes, their values not read (form2-layout.ts walks them):
 * per column (COLUMN_SLOT), at 3 × slot its first byte, then its end and how many values it
 * holds (a packed column: its payload; a repeated string: from the first one's tag). Start -1:
 * the column is absent.
 */
export type SampleLayout = number[];

/** The column fields and how each travels (proto/redisfleet/v2/redis.proto). */
const VARINTS = 0;
const DOUBLES = 1;
const STRINGS = 2;
const COLUMN_KIND: Record<number, number> = {
  8: VARINTS,
  9: DOUBLES,
  10: VARINTS,
  11: DOUBLES,
  12: VARINTS,
  13: STRINGS,
  14: STRINGS,
  15: DOUBLES,
  16: STRINGS,
  17: STRINGS,
  21: STRINGS,
  22: DOUBLES,
  23: DOUBLES,
  24: DOUBLES,
  25: DOUBLES,
  26: DOUBLES,
  27: STRINGS,
  28: DOUBLES,
  29: DOUBLES,
  30: DOUBLES,
  38: STRINGS,
  39: DOUBLES,
};
/** Field number → its slot in a SampleLayout (-1: not a column). */
export const COLUMN_SLOT = new Int8Array(40).fill(-1);
Object.keys(COLUMN_KIND).forEach((f, slot) => (COLUMN_SLOT[Number(f)] = slot));
const LAYOUT_LENGTH = 3 * Object.keys(COLUMN_KIND).length;

function emptyLayout(): SampleLayout {
  const L = new Array<number>(LAYOUT_LENGTH).fill(0);
  for (let k = 0; k < LAYOUT_LENGTH; k += 3) L[k] = -1;
  return L;
}

function sameBytes(buf: Buffer, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/**
 * One column field (its tag at `at`) into the layout; false when it does not travel the way the
 * agent writes it (unpacked, a packed column in two parts, strings not together, a varint longer
 * than uint32 reads): such a sample is read into columns instead, which also says what is wrong.
 */
function layoutColumn(r: Reader, field: number, wire: number, L: SampleLayout, at: number): boolean {
  if (wire !== 2) return false;
  const k = 3 * COLUMN_SLOT[field]!;
  const kind = COLUMN_KIND[field];
  const tagLength = r.pos - at;
  const end = r.delimited();
  if (kind === STRINGS) {
    if (L[k]! < 0) {
      L[k] = at;
      L[k + 2] = 0;
    } else if (L[k + 1] !== at) return false;
    // The strings that follow under the same tag, taken here (not one by one through the sample's switch).
    const buf = r.buf;
    let count = 1;
    r.pos = end;
    while (r.pos + tagLength < r.end && sameBytes(buf, at, r.pos, tagLength)) {
      r.pos += tagLength;
      r.pos = r.delimited();
      count++;
    }
    L[k + 1] = r.pos;
    L[k + 2]! += count;
    return true;
  }
  if (L[k]! >= 0) return false;
  const start = r.pos;
  let count: number;
  if (kind === DOUBLES) {
    if ((end - start) % 8) r.fail('packed doubles not a multiple of 8 bytes');
    count = (end - start) / 8;
  } else {
    count = 0;
    let run = 0;
    const buf = r.buf;
    for (let p = start; p < end; p++) {
      if (buf[p]! < 0x80) {
        count++;
        run = 0;
      } else if (++run >= 5) return false;
    }
    if (run) return false;
  }
  L[k] = start;
  L[k + 1] = end;
  L[k + 2] = count;
  r.pos = end;
  return true;
}

/**
 * One sample's own fields into `s` and its columns into `c`; or, given a layout `L`, where its
 * columns lie into `L` (`c` untouched): false when they cannot be laid out (layoutColumn).
 */
function readSampleParts(r: Reader, end: number, s: SampleFields, c: SampleColumns, L?: SampleLayout): boolean {
  let rates: number[] | null = null;
  let headroom: number[] | null = null;
  let limitSource = '';
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (L && field < COLUMN_SLOT.length && COLUMN_SLOT[field]! >= 0) {
      if (!layoutColumn(r, field, wire, L, at)) return false;
      continue;
    }
    switch (field) {
      case 1:
        s.address = r.string();
        break;
      case 2:
        s.cluster = r.string();
        break;
      case 3:
        s.group = r.string();
        break;
      case 4:
        s.up = r.int64() !== 0;
        break;
      case 5:
        s.error = r.string();
        break;
      case 6:
        s.sampledAtMs = r.int64();
        break;
      case 7:
        s.role = r.string();
        break;
      case 8:
        r.uint32s(wire, c.intIndex);
        break;
      case 9:
        r.doubles(wire, c.intValue);
        break;
      case 10:
        r.uint32s(wire, c.floatIndex);
        break;
      case 11:
        r.doubles(wire, c.floatValue);
        break;
      case 12:
        r.uint32s(wire, c.strIndex);
        break;
      case 13:
        c.strValue.push(r.string());
        break;
      case 14:
        c.otherFloatName.push(r.string());
        break;
      case 15:
        r.doubles(wire, c.otherFloatValue);
        break;
      case 16:
        c.otherStrName.push(r.string());
        break;
      case 17:
        c.otherStrValue.push(r.string());
        break;
      case 18:
        s.maxmemory = r.int64();
        break;
      case 19:
        s.maxclients = r.int64();
        break;
      case 20:
        s.unavailable.push(r.string());
        break;
      case 21:
        c.cmd.push(r.string());
        break;
      case 22:
      case 23:
      case 24:
      case 25:
      case 26:
        r.doubles(wire, c.cmdNum[field - 22]!);
        break;
      case 27:
        c.lat.push(r.string());
        break;
      case 28:
      case 29:
      case 30:
        r.doubles(wire, c.latNum[field - 28]!);
        break;
      case 31:
        r.doubles(wire, (rates ??= []));
        break;
      case 32:
        r.doubles(wire, (headroom ??= []));
        break;
      case 33:
        limitSource = r.string();
        break;
      case 34:
        s.replicas.push(readReplica(r, r.delimited()));
        break;
      case 35:
        s.keyspace.push(readKeyspace(r, r.delimited()));
        break;
      case 36:
        s.errorstats.push(readErrorStat(r, r.delimited()));
        break;
      case 37:
        s.slowlog.push(readSlowlog(r, r.delimited()));
        break;
      case 38:
        c.otherIntName.push(r.string());
        break;
      case 39:
        r.doubles(wire, c.otherIntValue);
        break;
      default:
        r.skip(wire);
    }
  }
  if (r.pos !== end) r.fail('sample overruns its length');
  if (rates?.length === RATE_COUNT)
    s.rates = {
      valid: rates[0] === 1,
      opsPerSec: rates[1]!,
      netInputBytesPerSec: rates[2]!,
      netOutputBytesPerSec: rates[3]!,
      keyspaceHitRatio: rates[4]!,
      evictedKeysPerSec: rates[5]!,
      expiredKeysPerSec: rates[6]!,
      rejectedConnectionsPerSec: rates[7]!,
    };
  if (headroom?.length === 3)
    s.headroom = {
      usedBytes: headroom[0]!,
      limitBytes: headroom[1]!,
      usedRatio: headroom[2]!,
      limitSource: limitSource as NonNullable<RedisSample['headroom']>['limitSource'],
    };
  return true;
}

function readSample(r: Reader, end: number, names: readonly string[]): RedisSample {
  const f = emptyFields();
  const c = emptyColumns();
  readSampleParts(r, end, f, c);
  return sampleOf(f, infoOf(c, names), commandstatsOf(c), latencystatsOf(c));
}

/** A plain RedisSample, keys in the order every reader (and the JSON of a stored sample) has always seen. */
export function sampleOf(
  f: SampleFields,
  info: RedisSample['info'],
  commandstats: RedisSample['commandstats'],
  latencystats: RedisSample['latencystats'],
): RedisSample {
  const s: RedisSample = {
    address: f.address,
    cluster: f.cluster,
    group: f.group,
    up: f.up,
    error: f.error,
    sampledAtMs: f.sampledAtMs,
    role: f.role,
    info,
    replicas: f.replicas,
    keyspace: f.keyspace,
    commandstats,
    latencystats,
    errorstats: f.errorstats,
    maxmemory: f.maxmemory,
    maxclients: f.maxclients,
    unavailable: f.unavailable,
    slowlog: f.slowlog,
  };
  if (f.rates) s.rates = f.rates;
  if (f.headroom) s.headroom = f.headroom;
  return s;
}

const NO_COLUMNS = emptyColumns();

/** One RedisSample message body (all of `bytes`): its own fields and its layout, or null when it cannot be laid out (layoutColumn). */
export function readSampleLayout(bytes: Buffer): { fields: SampleFields; layout: SampleLayout } | null {
  const fields = emptyFields();
  const layout = emptyLayout();
  return readSampleParts(new Reader(bytes, 0, bytes.length), bytes.length, fields, NO_COLUMNS, layout) ? { fields, layout } : null;
}

/** One RedisSample message body (`buf` from `start` to `end`): its own fields and its columns. */
export function readSampleBody(buf: Buffer, start: number, end: number): { fields: SampleFields; columns: SampleColumns } {
  const fields = emptyFields();
  const columns = emptyColumns();
  readSampleParts(new Reader(buf, start, end), end, fields, columns);
  return { fields, columns };
}

/** INFO values named by schema index (`names`) or by name, wrapped as the Value they were. */
function namedColumn(
  info: Record<string, Value>,
  names: readonly string[] | null,
  keys: (number | string)[],
  values: (number | string)[],
  kind: 'int' | 'float' | 'str',
): void {
  const n = Math.min(keys.length, values.length);
  for (let j = 0; j < n; j++) {
    const name = names ? names[keys[j] as number] : (keys[j] as string);
    if (name === undefined) continue;
    const v = values[j]!;
    info[name] = kind === 'int' ? { int: v as number } : kind === 'float' ? { float: v as number } : { str: v as string };
  }
}

/** The INFO map of a sample's columns, INFO named by `names` (the schema index). */
export function infoOf(c: InfoColumns, names: readonly string[]): Record<string, Value> {
  const info: Record<string, Value> = {};
  namedColumn(info, names, c.intIndex, c.intValue, 'int');
  namedColumn(info, names, c.floatIndex, c.floatValue, 'float');
  namedColumn(info, names, c.strIndex, c.strValue, 'str');
  namedColumn(info, null, c.otherIntName, c.otherIntValue, 'int');
  namedColumn(info, null, c.otherFloatName, c.otherFloatValue, 'float');
  namedColumn(info, null, c.otherStrName, c.otherStrValue, 'str');
  return info;
}

export function commandstatsOf(c: SampleColumns): CommandStat[] {
  const [calls, usec, perCall, rejected, failed] = c.cmdNum as [number[], number[], number[], number[], number[]];
  return c.cmd.map((command, j): CommandStat => ({
    command,
    calls: calls[j] ?? 0,
    usec: usec[j] ?? 0,
    usecPerCall: perCall[j] ?? 0,
    rejectedCalls: rejected[j] ?? 0,
    failedCalls: failed[j] ?? 0,
  }));
}

export function latencystatsOf(c: SampleColumns): LatencyStat[] {
  const [p50, p99, p999] = c.latNum as [number[], number[], number[]];
  return c.lat.map((command, j): LatencyStat => ({ command, p50: p50[j] ?? 0, p99: p99[j] ?? 0, p999: p999[j] ?? 0 }));
}

function readReplica(r: Reader, end: number): ReplicaInfo {
  const o: ReplicaInfo = { id: '', ip: '', port: 0, state: '', offset: 0, lagSeconds: 0, lagBytes: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        o.id = r.string();
        break;
      case 2:
        o.ip = r.string();
        break;
      case 3:
        o.port = r.uint32();
        break;
      case 4:
        o.state = r.string();
        break;
      case 5:
        o.offset = r.int64();
        break;
      case 6:
        o.lagSeconds = r.int64();
        break;
      case 7:
        o.lagBytes = r.int64();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return o;
}

function readKeyspace(r: Reader, end: number): KeyspaceInfo {
  const o: KeyspaceInfo = { db: '', keys: 0, expires: 0, avgTtl: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        o.db = r.string();
        break;
      case 2:
        o.keys = r.int64();
        break;
      case 3:
        o.expires = r.int64();
        break;
      case 4:
        o.avgTtl = r.int64();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return o;
}

function readErrorStat(r: Reader, end: number): ErrorStat {
  const o: ErrorStat = { error: '', count: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        o.error = r.string();
        break;
      case 2:
        o.count = r.int64();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return o;
}

function readSlowlog(r: Reader, end: number): SlowlogEntry {
  const o: SlowlogEntry = { id: 0, timestamp: 0, durationUsec: 0, command: '', client: '', clientName: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        o.id = r.int64();
        break;
      case 2:
        o.timestamp = r.int64();
        break;
      case 3:
        o.durationUsec = r.int64();
        break;
      case 4:
        o.command = r.string();
        break;
      case 5:
        o.client = r.string();
        break;
      case 6:
        o.clientName = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return o;
}

/** Where each sample's message body lies in an encoded redisfleet.v2.RedisSamples, and its schema fingerprint. */
export function readSampleSpans(buf: Buffer): { schema: number; spans: [number, number][] } {
  const r = new Reader(buf, 0, buf.length);
  let schema = 0;
  const spans: [number, number][] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 5) schema = r.fixed32();
    else if (field === 2 && (tag & 7) === 2) {
      const end = r.delimited();
      spans.push([r.pos, end]);
      r.pos = end;
    } else r.skip(tag & 7);
  }
  return { schema, spans };
}

/** An encoded redisfleet.v2.RedisSamples: its schema fingerprint and its samples, INFO named by `names` (the schema index). */
export function readRedisSamples(buf: Buffer, names: readonly string[]): { schema: number; samples: RedisSample[] } {
  const { schema, spans } = readSampleSpans(buf);
  return { schema, samples: spans.map(([start, end]) => readSample(new Reader(buf, start, end), end, names)) };
}
