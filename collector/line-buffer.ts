// Line protocol written as bytes into one growing buffer: ASCII text byte by byte (the keys,
// tags and numbers of line protocol are ASCII nearly always; other text goes as UTF-8), integers
// as digits without a string in between. report-lines.ts writes a report's lines here, then
// takes a copy of exactly its bytes.

/** Bytes of text known to be ASCII (an escaped key, a `key=` prefix), to copy without decoding again. */
export function asciiBytes(s: string): Uint8Array | null {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return null;
    b[i] = c;
  }
  return b;
}

const MINUS = 0x2d;
const ZERO = 0x30;
const LETTER_I = 0x69;
// Below this a number's digits fit int32 arithmetic (the common case: counters, sizes, ports).
const SMALL = 0x8000_0000;

export class LineBuffer {
  buf: Buffer;
  pos = 0;

  constructor(private readonly keep = 1 << 20) {
    this.buf = Buffer.allocUnsafe(64 * 1024);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.room(1);
    this.buf[this.pos++] = c;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    this.pos = p;
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

  /** A float field value as String(v) writes it. */
  float(v: number): void {
    if (Number.isSafeInteger(v)) this.integer(v);
    else this.text(String(v));
  }

  /** A copy of what was written; the buffer is then empty (and given back when it grew past `keep`). */
  take(): Buffer {
    // Buffer.from(view) would copy element by element; copy() is one memcpy.
    const out = Buffer.allocUnsafeSlow(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    if (this.buf.length > this.keep) this.buf = Buffer.allocUnsafe(64 * 1024);
    return out;
  }
}
