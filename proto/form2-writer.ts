// A writer for redisfleet.v2.RedisSample (proto/redisfleet/v2/redis.proto) straight from columns:
// no intermediate message objects, numbers from typed arrays, one growing byte buffer. The agent
// parses INFO into these columns and writes each sample's bytes once (docs/benchmarks.md,
// "Agent cost"). proto3 defaults (empty strings, 0, false, empty lists) are left out, as the
// readers default them. Wire format: https://protobuf.dev/programming-guides/encoding/
import type { ErrorStat, KeyspaceInfo, RedisSample, ReplicaInfo, SlowlogEntry } from './types.js';

/** `a`, or a copy at least `n` long (doubling) when it is shorter. */
function grown<A extends Float64Array | Uint32Array>(a: A, n: number): A {
  if (n <= a.length) return a;
  const b = new (a.constructor as new (length: number) => A)(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/** INFO, commandstats and latencystats of one sample as form-2 columns; reused (reset) between samples. */
export class Form2Columns {
  intIndex: Uint32Array = new Uint32Array(256);
  intValue: Float64Array = new Float64Array(256);
  ints = 0;
  floatIndex: Uint32Array = new Uint32Array(64);
  floatValue: Float64Array = new Float64Array(64);
  floats = 0;
  strIndex: Uint32Array = new Uint32Array(64);
  readonly strValue: string[] = [];
  strs = 0;
  readonly otherIntName: string[] = [];
  otherIntValue: Float64Array = new Float64Array(32);
  otherInts = 0;
  readonly otherFloatName: string[] = [];
  otherFloatValue: Float64Array = new Float64Array(32);
  otherFloats = 0;
  readonly otherStrName: string[] = [];
  readonly otherStrValue: string[] = [];
  otherStrs = 0;
  readonly cmdCommand: string[] = [];
  /** calls, usec, usec_per_call, rejected_calls, failed_calls of row j at 5j..5j+4. */
  cmdNum: Float64Array = new Float64Array(5 * 64);
  cmds = 0;
  readonly latCommand: string[] = [];
  /** p50, p99, p99.9 of row j at 3j..3j+2. */
  latNum: Float64Array = new Float64Array(3 * 64);
  lats = 0;

  reset(): void {
    this.ints = this.floats = this.strs = this.otherInts = this.otherFloats = this.otherStrs = this.cmds = this.lats = 0;
  }
  int(index: number, v: number): void {
    const n = this.ints++;
    if (n >= this.intIndex.length) {
      this.intIndex = grown(this.intIndex, n + 1);
      this.intValue = grown(this.intValue, n + 1);
    }
    this.intIndex[n] = index;
    this.intValue[n] = v;
  }
  float(index: number, v: number): void {
    const n = this.floats++;
    if (n >= this.floatIndex.length) {
      this.floatIndex = grown(this.floatIndex, n + 1);
      this.floatValue = grown(this.floatValue, n + 1);
    }
    this.floatIndex[n] = index;
    this.floatValue[n] = v;
  }
  str(index: number, v: string): void {
    const n = this.strs++;
    if (n >= this.strIndex.length) this.strIndex = grown(this.strIndex, n + 1);
    this.strIndex[n] = index;
    this.strValue[n] = v;
  }
  otherInt(name: string, v: number): void {
    const n = this.otherInts++;
    this.otherIntValue = grown(this.otherIntValue, n + 1);
    this.otherIntName[n] = name;
    this.otherIntValue[n] = v;
  }
  otherFloat(name: string, v: number): void {
    const n = this.otherFloats++;
    this.otherFloatValue = grown(this.otherFloatValue, n + 1);
    this.otherFloatName[n] = name;
    this.otherFloatValue[n] = v;
  }
  otherStr(name: string, v: string): void {
    const n = this.otherStrs++;
    this.otherStrName[n] = name;
    this.otherStrValue[n] = v;
  }
  cmd(command: string, calls: number, usec: number, usecPerCall: number, rejected: number, failed: number): void {
    const n = this.cmds++;
    this.cmdNum = grown(this.cmdNum, 5 * n + 5);
    this.cmdCommand[n] = command;
    const o = 5 * n;
    this.cmdNum[o] = calls;
    this.cmdNum[o + 1] = usec;
    this.cmdNum[o + 2] = usecPerCall;
    this.cmdNum[o + 3] = rejected;
    this.cmdNum[o + 4] = failed;
  }
  lat(command: string, p50: number, p99: number, p999: number): void {
    const n = this.lats++;
    this.latNum = grown(this.latNum, 3 * n + 3);
    this.latCommand[n] = command;
    const o = 3 * n;
    this.latNum[o] = p50;
    this.latNum[o + 1] = p99;
    this.latNum[o + 2] = p999;
  }
}

const TWO_32 = 0x1_0000_0000;

/** A growing protobuf byte writer. */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;
  constructor(size = 8192) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  /** A copy of what was written (the writer is then reused). */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }

  /** Unsigned varint of a non-negative integer up to 2^53. */
  varint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[p++] = v;
    this.pos = p;
  }

  /** int64/uint64 as protobuf writes it: negatives as 10-byte two's complement. */
  int64(v: number): void {
    v = Math.trunc(v);
    if (!(v < 0)) return this.varint(Number.isFinite(v) ? v : 0);
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  fixed32(field: number, v: number): void {
    this.tag(field, 5);
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** A string field; '' is left out unless `always` (a repeated element). */
  string(field: number, s: string, always = false): void {
    const len = s.length;
    if (len === 0) {
      if (always) {
        this.tag(field, 2);
        this.varint(0);
      }
      return;
    }
    this.tag(field, 2);
    if (len < 128) {
      // ASCII (every INFO key and nearly every value) byte by byte: cheaper than a native call.
      this.ensure(len + 1);
      const b = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + i] = c;
      }
      if (i === len) {
        b[this.pos] = len;
        this.pos = start + len;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  strings(field: number, list: readonly string[], n = list.length): void {
    for (let i = 0; i < n; i++) this.string(field, list[i]!, true);
  }

  packedDoubles(field: number, a: ArrayLike<number>, n: number, stride = 1, offset = 0): void {
    if (n === 0) return;
    this.tag(field, 2);
    this.varint(8 * n);
    this.ensure(8 * n);
    const b = this.buf;
    for (let i = 0; i < n; i++) {
      b.writeDoubleLE(a[offset + i * stride]!, this.pos);
      this.pos += 8;
    }
  }

  /** One double of an already opened packed field. */
  packedDoubleRaw(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  packedUint32(field: number, a: ArrayLike<number>, n: number): void {
    if (n === 0) return;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      size += v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x20_0000 ? 3 : v < 0x1000_0000 ? 4 : 5;
    }
    this.tag(field, 2);
    this.varint(size);
    for (let i = 0; i < n; i++) this.varint(a[i]!);
  }

  /** A nested message written by `body`, its length put in front afterwards. */
  message(field: number, body: () => void): void {
    this.tag(field, 2);
    this.ensure(1);
    const at = this.pos++;
    body();
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const extra = (len < 0x4000 ? 2 : len < 0x20_0000 ? 3 : len < 0x1000_0000 ? 4 : 5) - 1;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.varint(len);
    this.pos = end;
  }

  /** Length-delimited raw bytes (an already encoded message). */
  bytes(field: number, bytes: Buffer): void {
    this.tag(field, 2);
    this.varint(bytes.length);
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }
}

// RedisRates in redisfleet.v1 field order (valid first, as 0/1).
const RATE_KEYS = [
  'valid',
  'opsPerSec',
  'netInputBytesPerSec',
  'netOutputBytesPerSec',
  'keyspaceHitRatio',
  'evictedKeysPerSec',
  'expiredKeysPerSec',
  'rejectedConnectionsPerSec',
] as const;

function int64Field(w: ProtoWriter, field: number, v: number): void {
  if (v === 0 || !Number.isFinite(v)) return;
  w.tag(field, 0);
  w.int64(v);
}

function writeReplica(w: ProtoWriter, r: ReplicaInfo): void {
  w.string(1, r.id);
  w.string(2, r.ip);
  if (r.port) {
    w.tag(3, 0);
    w.varint(r.port % TWO_32);
  }
  w.string(4, r.state);
  int64Field(w, 5, r.offset);
  int64Field(w, 6, r.lagSeconds);
  int64Field(w, 7, r.lagBytes);
}
function writeKeyspace(w: ProtoWriter, k: KeyspaceInfo): void {
  w.string(1, k.db);
  int64Field(w, 2, k.keys);
  int64Field(w, 3, k.expires);
  int64Field(w, 4, k.avgTtl);
}
function writeErrorStat(w: ProtoWriter, e: ErrorStat): void {
  w.string(1, e.error);
  int64Field(w, 2, e.count);
}
function writeSlowlog(w: ProtoWriter, e: SlowlogEntry): void {
  int64Field(w, 1, e.id);
  int64Field(w, 2, e.timestamp);
  int64Field(w, 3, e.durationUsec);
  w.string(4, e.command);
  w.string(5, e.client);
  w.string(6, e.clientName);
}

/** What of a RedisSample is written from its own fields (the rest comes from the columns). */
export type Form2SampleFields = Omit<RedisSample, 'info' | 'commandstats' | 'latencystats'>;

/** One redisfleet.v2.RedisSample message body: `s`'s own fields, INFO and per-command rows from `c`. */
export function writeForm2Sample(w: ProtoWriter, s: Form2SampleFields, c: Form2Columns): void {
  w.string(1, s.address);
  w.string(2, s.cluster);
  w.string(3, s.group);
  if (s.up) {
    w.tag(4, 0);
    w.varint(1);
  }
  w.string(5, s.error);
  int64Field(w, 6, s.sampledAtMs);
  w.string(7, s.role);
  w.packedUint32(8, c.intIndex, c.ints);
  w.packedDoubles(9, c.intValue, c.ints);
  w.packedUint32(10, c.floatIndex, c.floats);
  w.packedDoubles(11, c.floatValue, c.floats);
  w.packedUint32(12, c.strIndex, c.strs);
  w.strings(13, c.strValue, c.strs);
  w.strings(14, c.otherFloatName, c.otherFloats);
  w.packedDoubles(15, c.otherFloatValue, c.otherFloats);
  w.strings(16, c.otherStrName, c.otherStrs);
  w.strings(17, c.otherStrValue, c.otherStrs);
  w.strings(38, c.otherIntName, c.otherInts);
  w.packedDoubles(39, c.otherIntValue, c.otherInts);
  int64Field(w, 18, s.maxmemory);
  int64Field(w, 19, s.maxclients);
  w.strings(20, s.unavailable);
  w.strings(21, c.cmdCommand, c.cmds);
  for (let k = 0; k < 5; k++) w.packedDoubles(22 + k, c.cmdNum, c.cmds, 5, k);
  w.strings(27, c.latCommand, c.lats);
  for (let k = 0; k < 3; k++) w.packedDoubles(28 + k, c.latNum, c.lats, 3, k);
  const r = s.rates;
  if (r) {
    w.tag(31, 2);
    w.varint(8 * RATE_KEYS.length);
    for (const k of RATE_KEYS) w.packedDoubleRaw(Number(r[k]));
  }
  const h = s.headroom;
  if (h) {
    w.tag(32, 2);
    w.varint(24);
    w.packedDoubleRaw(h.usedBytes);
    w.packedDoubleRaw(h.limitBytes);
    w.packedDoubleRaw(h.usedRatio);
    w.string(33, h.limitSource);
  }
  for (const x of s.replicas) w.message(34, () => writeReplica(w, x));
  for (const x of s.keyspace) w.message(35, () => writeKeyspace(w, x));
  for (const x of s.errorstats) w.message(36, () => writeErrorStat(w, x));
  for (const x of s.slowlog) w.message(37, () => writeSlowlog(w, x));
}
