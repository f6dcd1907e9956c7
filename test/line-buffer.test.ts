// The byte writer of line protocol (collector/line-buffer.ts) writes what String() and
// Buffer.from() would: numbers at every magnitude and sign, text of any script, across growth.
import test from 'node:test';
import assert from 'node:assert/strict';
import { FieldKey, LineBuffer } from '../collector/line-buffer.js';

function written(f: (w: LineBuffer) => void): string {
  const w = new LineBuffer();
  f(w);
  return w.take().toString('utf8');
}

test('integers are written as String() writes them, at every magnitude and sign', () => {
  const edges = [0, -0, 1, -1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 999_999_999, 1e9, 1e9 + 1, 1_999_999_999_999];
  edges.push(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -(2 ** 60), 1e21, 1e300);
  for (let k = 1; k < 1e16; k *= 10) edges.push(k - 1, k, k + 1, -k);
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    edges.push(Math.floor((seed / 2 ** 31) * 10 ** (i % 17)) * (i % 3 ? 1 : -1));
  }
  for (const n of edges) {
    assert.equal(
      written((w) => w.integer(n)),
      String(n),
      `integer ${n}`,
    );
    assert.equal(
      written((w) => w.float(n)),
      String(n),
      `float ${n}`,
    );
  }
});

test('int fields end in i and go through BigInt beyond 2^53; floats keep their shortest text', () => {
  assert.equal(
    written((w) => w.int(42.9)),
    '42i',
  );
  assert.equal(
    written((w) => w.int(-7.5)),
    '-7i',
  );
  assert.equal(
    written((w) => w.int(2 ** 60)),
    `${BigInt(2 ** 60)}i`,
  );
  for (const v of [0.1, -2.5, 1 / 3, 1.5e300, 5e-324, 123456.789])
    assert.equal(
      written((w) => w.float(v)),
      String(v),
    );
});

test('floats of up to three decimals (written from their digits) and every other float read as String() writes them', () => {
  const values = [0.001, 0.5, 1.5, 1.003, 2.25, 0.999, 1e-3, 999_999_999.999, 1e9 + 0.5, 1e9 - 0.001, 0.0005, 0.1 + 0.2, 1.0005, 3.14159];
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 20_000; i++) {
    const scale = 10 ** (next() % 10);
    values.push(Math.round((next() / 2 ** 31) * scale * 1000) / 1000, (next() / 2 ** 31) * scale, next() / 1000, next() / 100);
  }
  for (const v of values)
    for (const x of [v, -v])
      assert.equal(
        written((w) => w.float(x)),
        String(x),
        `float ${x}`,
      );
});

test('text of any script is UTF-8, and the buffer grows past its first size without losing bytes', () => {
  const parts = ['plain ', 'é', ' 中文 ', '😀', 'x'.repeat(70_000), 'end'];
  const w = new LineBuffer();
  for (const p of parts) w.text(p);
  w.integer(123);
  assert.equal(w.take().toString('utf8'), `${parts.join('')}123`);
  // empty after take, and reusable
  w.text('again');
  assert.equal(w.take().toString('utf8'), 'again');
});

test('pieces taken stay as written while later pieces are written, across slabs', () => {
  const w = new LineBuffer(64);
  const pieces: [Buffer, string][] = [];
  for (let i = 0; i < 40; i++) {
    const text = `piece ${i} ${'y'.repeat(i * 3)}`;
    w.text('junk');
    w.length = 0; // taken back: not part of the piece
    w.text(text);
    w.set(0, 0x50); // 'P'
    pieces.push([w.take(), `P${text.slice(1)}`]);
  }
  for (const [b, text] of pieces) assert.equal(b.toString('utf8'), text);
});

test('intField and floatField write what field() then int() or float() write, for every kind of number, across slabs', () => {
  const prefix = new FieldKey(Buffer.from(',used_memory='));
  const values = [0, -0, 0.4, -0.4, 7, 9.99, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 1e9 - 0.001, 1e9, 2 ** 53, 2 ** 60, -(2 ** 60)];
  values.push(0.001, 0.07, 0.7, 1.003, 2.25, 195.7, 147.96, 0.1 + 0.2, 1 / 3, 5e-324, 1e21, -2.5, Number.MAX_SAFE_INTEGER);
  let seed = 5;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 5000; i++) values.push(next() % 10 ** (i % 10), next() / 1000, (next() / 2 ** 31) * 10 ** (i % 12));
  // A small slab: the combined writes must make room for the whole field as they go.
  const w = new LineBuffer(64);
  for (const v of values) {
    w.intField(prefix, v);
    assert.equal(w.take().toString(), `,used_memory=${written((x) => x.int(v))}`, `intField ${v}`);
    w.floatField(prefix, v);
    assert.equal(w.take().toString(), `,used_memory=${String(v)}`, `floatField ${v}`);
  }
});

test('a slab is written again only once every piece of it was released; pieces out keep their bytes', () => {
  const w = new LineBuffer(64, 2);
  const piece = (text: string) => {
    w.text(text);
    return w.take();
  };
  // Fill a slab with pieces, then move to a second one.
  const first = [piece('a'.repeat(20)), piece('b'.repeat(20)), piece('c'.repeat(20))];
  const slabA = first[0]!.buffer;
  const onB = piece('d'.repeat(20));
  assert.notEqual(onB.buffer, slabA, 'the fourth piece did not fit: a new slab');

  // One piece of A still out: moving on from B does not write A again.
  w.release(first[0]!);
  w.release(first[1]!);
  w.release(Buffer.from('not from this writer'));
  const later = [piece('e'.repeat(30)), piece('f'.repeat(30)), piece('g'.repeat(30))];
  for (const p of later) assert.notEqual(p.buffer, slabA);
  assert.equal(first[2]!.toString(), 'c'.repeat(20), 'a piece out keeps its bytes');

  // The last piece of A back: A is written again, and the pieces out elsewhere keep theirs.
  w.release(first[2]!);
  const onA: Buffer[] = [];
  for (let i = 0; i < 6 && !onA.some((p) => p.buffer === slabA); i++) onA.push(piece(String(i).repeat(20)));
  assert.ok(
    onA.some((p) => p.buffer === slabA),
    'a released slab is reused',
  );
  assert.equal(onB.toString(), 'd'.repeat(20));
  assert.deepEqual(
    later.map((p) => p.toString()),
    ['e'.repeat(30), 'f'.repeat(30), 'g'.repeat(30)],
  );
  onA.forEach((p, i) => assert.equal(p.toString(), String(i).repeat(20)));
});
