// Line protocol written as bytes: ASCII text byte by byte (the keys, tags and numbers of line
// protocol are ASCII nearly always; other text goes as UTF-8), integers as digits without a
// string in between. The bytes go into large slabs; take() hands out the piece written since the
// last take() as a view of its slab (no copy), the way Buffer's own pool hands out small buffers.
// report-lines.ts writes a report's lines here.
//
// A slab whose pieces were all given back (release(), once the sink has sent or copied them) is
// written again instead of a new one: each new 1 MB slab is external memory to V8, and ~7 MB/s of
// it drove a full GC every few seconds, which over a collector holding 8,000 instances is ~15 % of
// its CPU (docs/benchmarks.md, "Fleet size"). A piece not given back keeps its slab from reuse.

const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const LETTER_I = 0x69;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
// Below this a number's digits fit int32 arithmetic (the common case: counters, sizes, ports).
const SMALL = 0x8000_0000;
/** Int32Array and DataView read the platform's byte order and little-endian by default. */
const LITTLE_ENDIAN = new Uint8Array(new Int32Array([1]).buffer)[0] === 1;

/**
 * A field's `,key=` (escaped) as bytes, and as 32-bit words: a field's key is copied four bytes a
 * step through a DataView (what TurboFan inlines), no runtime call (TypedArray#set) per field.
 */
export class FieldKey {
  readonly words: Int32Array;
  readonly length: number;
  constructor(readonly bytes: Buffer) {
    this.length = bytes.length;
    this.words = new Int32Array(Math.ceil(bytes.length / 4));
    Buffer.from(this.words.buffer).set(bytes);
  }
}

export class LineBuffer {
  /** The slab being written; the current piece is buf[start, pos). */
  buf: Buffer;
  pos = 0;
  private start = 0;
  /** `buf` as a DataView, for putKey(). */
  private view: DataView;

  /**
   * Per slab (by its memory) with pieces out: how many. Weak: a piece dropped without release()
   * (a report refused under backpressure whose stream then ended) must not keep its slab alive.
   */
  private readonly out = new WeakMap<ArrayBufferLike, number>();
  /** Slabs of `slab` bytes with no piece out, to write again. */
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly slab = 1 << 20,
    /** How many free slabs are kept for reuse. */
    private readonly spareMax = 4,
  ) {
    this.buf = Buffer.allocUnsafeSlow(slab);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** Bytes in the current piece; setting it takes back what was written after. */
  get length(): number {
    return this.pos - this.start;
  }
  set length(n: number) {
    this.pos = this.start + n;
  }

  /** Byte `at` of the current piece set to `c`. */
  set(at: number, c: number): void {
    this.buf[this.start + at] = c;
  }

  /** Room for `n` more bytes: a piece that outgrows its slab moves to a new one (offsets in the piece stay). */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.start;
    const size = Math.max(this.slab, 2 * (used + n));
    const b = (size === this.slab && this.spare.pop()) || Buffer.allocUnsafeSlow(size);
    this.buf.copy(b, 0, this.start, this.pos);
    this.keep(this.buf);
    this.buf = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.length);
    this.start = 0;
    this.pos = used;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.room(1);
    this.buf[this.pos++] = c;
  }

  /** A field's start, its `,key=`. */
  field(key: FieldKey): void {
    this.room(key.length + 3);
    this.pos = putKey(this.view, this.pos, key);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.pos = putBytes(this.buf, this.pos, b, 0, b.length);
  }

  /** Bytes `start` to `end` of `b`. */
  range(b: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    this.pos = putBytes(this.buf, this.pos, b, start, end);
  }

  /**
   * field(key) and the ASCII text in `b` from `start` to `end` as a line protocol string field
   * value (quoted, `"` and `\` escaped: line-protocol.ts escString); false, with nothing written,
   * when the text is not all ASCII (the caller writes it as a string then).
   */
  quoted(key: FieldKey, b: Uint8Array, start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
    this.field(key);
    this.room(2 * (end - start) + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = QUOTE;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c === QUOTE || c === BACKSLASH) buf[p++] = BACKSLASH;
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.pos = p;
    return true;
  }

  /** `s` as UTF-8 (ASCII copied char by char; anything else through Buffer's encoder). */
  text(s: string): void {
    const n = s.length;
    this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = p;
        this.room(3 * (n - i));
        this.pos += this.buf.write(s.slice(i), this.pos, 'utf8');
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** An integer's digits, as String(n) writes them (-0 is 0; beyond 2^53 through String()). */
  integer(n: number): void {
    if (n < 0) {
      if (n < -Number.MAX_SAFE_INTEGER) {
        this.text(String(n));
        return;
      }
      this.byte(MINUS);
      n = -n;
    }
    if (n > Number.MAX_SAFE_INTEGER) {
      this.text(String(n));
      return;
    }
    this.room(DIGITS_MAX);
    this.pos = putDigits(this.buf, this.pos, n);
  }

  /** A line protocol integer field value, `42i` (what line-protocol.ts intText writes). */
  int(n: number): void {
    const t = Math.trunc(n);
    if (Number.isSafeInteger(t)) this.integer(t);
    else this.text(BigInt(t).toString());
    this.byte(LETTER_I);
  }

  /**
   * A float field value as String(v) writes it. A value with at most three decimals below 1e9
   * (what Redis prints: usec_per_call, latency percentiles, ratios) is written from its digits
   * (putDecimal).
   */
  float(v: number): void {
    if (Number.isSafeInteger(v)) {
      this.integer(v);
      return;
    }
    const a = v < 0 ? -v : v;
    const m = Math.round(a * 1000);
    if (!(a < 1e9 && m / 1000 === a)) {
      this.text(String(v));
      return;
    }
    this.room(DIGITS_MAX);
    const buf = this.buf;
    let p = this.pos;
    if (v < 0) buf[p++] = MINUS;
    const whole = Math.floor(a);
    this.pos = putDecimal(buf, p, whole | 0, (m - whole * 1000) | 0);
  }

  /** field(key) then int(n). */
  intField(key: FieldKey, n: number): void {
    scratch[0] = n;
    this.intFieldAt(key, scratch, 0);
  }

  /** field(key) then float(v). */
  floatField(key: FieldKey, v: number): void {
    scratch[0] = v;
    this.floatFieldAt(key, scratch, 0);
  }

  // The number fields read their value from an array: a double passed to a call that is not
  // inlined becomes a heap number (an allocation per field).

  /** field(key) then int(values[i]), with one check for room when it is a counter (0 <= n < 2^31). */
  intFieldAt(key: FieldKey, values: Float64Array, i: number): void {
    const n = values[i]!;
    const t = Math.trunc(n);
    if (!(t >= 0 && t < SMALL)) {
      this.field(key);
      this.int(n);
      return;
    }
    this.room(key.length + DIGITS_MAX);
    const buf = this.buf;
    const p = putSmall(buf, putKey(this.view, this.pos, key), t | 0);
    buf[p] = LETTER_I;
    this.pos = p + 1;
  }

  /** field(key) then float(values[i]), with one check for room when it is written from its digits (see float()). */
  floatFieldAt(key: FieldKey, values: Float64Array, i: number): void {
    const v = values[i]!;
    const m = Math.round(v * 1000);
    if (!(v >= 0 && v < 1e9 && m / 1000 === v)) {
      this.field(key);
      this.float(v);
      return;
    }
    this.room(key.length + DIGITS_MAX);
    const whole = Math.floor(v);
    this.pos = putDecimal(this.buf, putKey(this.view, this.pos, key), whole | 0, (m - whole * 1000) | 0);
  }

  /** A copy of the current piece from byte `at` on. */
  copy(at: number): Buffer {
    return Buffer.from(this.buf.subarray(this.start + at, this.pos));
  }

  /** The piece written since the last take(), a view of its slab (which the pieces keep alive); release() it when done. */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    const ab = this.buf.buffer;
    this.out.set(ab, (this.out.get(ab) ?? 0) + 1);
    return out;
  }

  /**
   * Gives back a piece take() handed out: nothing reads it any more. When it was the last one out
   * of a slab no longer written, the slab is written again. A buffer not from here is ignored.
   */
  release(piece: Buffer): void {
    const ab = piece.buffer;
    const n = this.out.get(ab);
    if (n === undefined) return;
    if (n > 1) {
      this.out.set(ab, n - 1);
      return;
    }
    this.out.delete(ab);
    if (ab !== this.buf.buffer) this.keep(Buffer.from(ab));
  }

  /** A slab left behind: kept for reuse when no piece of it is out and it has the usual size. */
  private keep(slab: Buffer): void {
    if (!this.out.has(slab.buffer) && slab.length === this.slab && this.spare.length < this.spareMax) this.spare.push(slab);
  }
}

const scratch = new Float64Array(1);
// "00" to "99": two digits per division.
const PAIRS = Buffer.from(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''), 'latin1');
// The most a number written from its digits takes: a sign, 16 digits, a dot and a letter (`i`).
const DIGITS_MAX = 24;

// Up to this many bytes a loop copies faster than TypedArray#set (a call into the runtime).
const SHORT_COPY = 12;

/** Bytes `start` to `end` of `b` into `buf` at `p` (room made); returns where they end. */
function putBytes(buf: Buffer, p: number, b: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n > SHORT_COPY) buf.set(start === 0 && end === b.length ? b : b.subarray(start, end), p);
  else for (let i = 0; i < n; i++) buf[p + i] = b[start + i]!;
  return p + n;
}

/** `key` into `view` at `p`, room made for its words (up to 3 bytes past its end are overwritten); returns where it ends. */
function putKey(view: DataView, p: number, key: FieldKey): number {
  const words = key.words;
  for (let i = 0; i < words.length; i++) view.setInt32(p + 4 * i, words[i]!, LITTLE_ENDIAN);
  return p + key.length;
}

/** How many digits 0 <= n < 2^31 has. */
function digitCount(n: number): number {
  if (n < 1e5) return n < 100 ? (n < 10 ? 1 : 2) : n < 1e3 ? 3 : n < 1e4 ? 4 : 5;
  return n < 1e7 ? (n < 1e6 ? 6 : 7) : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
}

/** The digits of 0 <= n < 2^31 into `buf` at `p` (room made); returns where they end. */
function putSmall(buf: Buffer, p: number, n: number): number {
  if (n < 10) {
    buf[p] = ZERO + n;
    return p + 1;
  }
  const end = p + digitCount(n);
  let q = end;
  while (n >= 100) {
    const t = (n / 100) | 0;
    const r = 2 * (n - t * 100);
    buf[--q] = PAIRS[r + 1]!;
    buf[--q] = PAIRS[r]!;
    n = t;
  }
  if (n >= 10) {
    buf[--q] = PAIRS[2 * n + 1]!;
    buf[--q] = PAIRS[2 * n]!;
  } else buf[--q] = ZERO + n;
  return end;
}

/** The digits of 0 <= n <= 2^53 - 1 into `buf` at `p` (room made); returns where they end. */
function putDigits(buf: Buffer, p: number, n: number): number {
  if (n < SMALL) return putSmall(buf, p, n);
  // Two parts, the low one of 9 digits; the division's rounding is mended so that 0 <= low < 1e9.
  let high = Math.floor(n / 1e9);
  let low = n - high * 1e9;
  if (low < 0) {
    high--;
    low += 1e9;
  } else if (low >= 1e9) {
    high++;
    low -= 1e9;
  }
  p = putSmall(buf, p, high);
  for (let q = p + 8; q >= p; q--) {
    const t = (low / 10) | 0;
    buf[q] = ZERO + low - t * 10;
    low = t;
  }
  return p + 9;
}

/**
 * whole + frac / 1000 (0 <= whole < 1e9, 0 <= frac < 1000) as String() writes it, into `buf` at `p`
 * (room made); returns where it ends. The callers check m / 1000 === a for m = round(a·1000): then
 * the decimal m·10⁻³ reads back as a, and no shorter decimal can (two decimals 0.001 apart never
 * round to one double below 2^30), so it is String()'s shortest text.
 */
function putDecimal(buf: Buffer, p: number, whole: number, frac: number): number {
  p = putSmall(buf, p, whole);
  if (frac === 0) return p;
  buf[p++] = DOT;
  const d1 = (frac / 100) | 0;
  const d23 = frac - d1 * 100;
  buf[p++] = ZERO + d1;
  if (d23 === 0) return p;
  buf[p++] = PAIRS[2 * d23]!;
  if (d23 % 10 === 0) return p;
  buf[p++] = PAIRS[2 * d23 + 1]!;
  return p;
}
