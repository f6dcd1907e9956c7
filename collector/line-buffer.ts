// Line protocol written as bytes: ASCII text byte by byte (the keys, tags and numbers of line
// protocol are ASCII nearly always; other text goes as UTF-8), integers as digits without a
// string in between. The bytes go into large slabs; take() hands out the piece written since the
// last take() as a view of its slab (no copy), the way Buffer's own pool hands out small buffers.
// report-lines.ts writes a report's lines here.

const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const LETTER_I = 0x69;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
// Below this a number's digits fit int32 arithmetic (the common case: counters, sizes, ports).
const SMALL = 0x8000_0000;

export class LineBuffer {
  /** The slab being written; the current piece is buf[start, pos). */
  buf: Buffer;
  pos = 0;
  private start = 0;

  constructor(private readonly slab = 1 << 20) {
    this.buf = Buffer.allocUnsafeSlow(slab);
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
    const b = Buffer.allocUnsafeSlow(Math.max(this.slab, 2 * (used + n)));
    this.buf.copy(b, 0, this.start, this.pos);
    this.buf = b;
    this.start = 0;
    this.pos = used;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.room(1);
    this.buf[this.pos++] = c;
  }

  /** `,` then `prefix` (a field's `key=`). */
  field(prefix: Uint8Array): void {
    const n = prefix.length;
    this.room(n + 1);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = COMMA;
    for (let i = 0; i < n; i++) buf[p++] = prefix[i]!;
    this.pos = p;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** Bytes `start` to `end` of `b`. */
  range(b: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /**
   * `,` `prefix` and the ASCII text in `b` from `start` to `end` as a line protocol string field
   * value (quoted, `"` and `\` escaped: line-protocol.ts escString); false, with nothing written,
   * when the text is not all ASCII (the caller writes it as a string then).
   */
  quoted(prefix: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
    this.field(prefix);
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
    if (n < SMALL) this.small(n);
    else if (n <= Number.MAX_SAFE_INTEGER) {
      // Two parts of up to 9 digits; the division's rounding is mended so that 0 <= low < 1e9.
      let high = Math.floor(n / 1e9);
      let low = n - high * 1e9;
      if (low < 0) {
        high--;
        low += 1e9;
      } else if (low >= 1e9) {
        high++;
        low -= 1e9;
      }
      this.small(high);
      this.room(9);
      const buf = this.buf;
      for (let p = this.pos + 8; p >= this.pos; p--) {
        const q = (low / 10) | 0;
        buf[p] = ZERO + low - q * 10;
        low = q;
      }
      this.pos += 9;
    } else this.text(String(n));
  }

  /** The digits of 0 <= n < 2^31. */
  private small(n: number): void {
    let len = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) len++;
    this.room(len);
    const buf = this.buf;
    let p = this.pos + len;
    this.pos = p;
    do {
      const q = (n / 10) | 0;
      buf[--p] = ZERO + n - q * 10;
      n = q;
    } while (n > 0);
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
   * (what Redis prints: usec_per_call, latency percentiles, ratios) is written from its digits:
   * m / 1000 === |v| means the decimal m·10⁻³ reads back as v, and no shorter decimal can (two
   * decimals 0.001 apart never round to one double below 2^30), so it is String()'s shortest text.
   */
  float(v: number): void {
    if (Number.isSafeInteger(v)) {
      this.integer(v);
      return;
    }
    const a = v < 0 ? -v : v;
    const m = a < 1e9 ? Math.round(a * 1000) : 0;
    if (m === 0 || m / 1000 !== a) {
      this.text(String(v));
      return;
    }
    if (v < 0) this.byte(MINUS);
    const whole = Math.floor(m / 1000);
    let frac = m - whole * 1000;
    this.small(whole);
    this.room(4);
    const buf = this.buf;
    buf[this.pos++] = DOT;
    let digits = 3;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    for (let p = this.pos + digits - 1; p >= this.pos; p--) {
      const q = (frac / 10) | 0;
      buf[p] = ZERO + frac - q * 10;
      frac = q;
    }
    this.pos += digits;
  }

  /** The piece written since the last take(), a view of its slab (which the pieces keep alive). */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }
}
