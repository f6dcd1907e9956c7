// collector/grpc-decoder.ts on the installed @grpc/grpc-js: messages decode as before (whole, split
// over chunks, several in one chunk, empty), and a decoder between messages holds no view of the
// chunk its last message came in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { decoderReleasesChunks } from '../collector/grpc-decoder.js';

const require = createRequire(import.meta.url);
const { StreamDecoder } = require('@grpc/grpc-js/build/src/stream-decoder.js') as {
  StreamDecoder: new (max: number) => { write(data: Buffer): Buffer[] };
};

/** gRPC's length-prefixed framing: flag byte 0, 4-byte big-endian length, the bytes. */
function framed(body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Every Buffer the decoder object holds, one level down (fields and arrays of Buffers). */
function heldBuffers(decoder: object): Buffer[] {
  const out: Buffer[] = [];
  for (const v of Object.values(decoder)) {
    if (Buffer.isBuffer(v)) out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (Buffer.isBuffer(x)) out.push(x);
  }
  return out;
}

test('the installed grpc-js decoder is the one collector/grpc-decoder.ts patches', () => {
  assert.equal(decoderReleasesChunks(), true);
});

test('between messages the decoder holds no view of the chunk a message came in; messages decode as before', () => {
  const a = Buffer.from('first report '.repeat(2000));
  const b = Buffer.from('second');
  const c = Buffer.alloc(0);
  // A chunk the size of a whole report, as HTTP/2 hands it over.
  const chunk = Buffer.concat([framed(a), framed(b), framed(c)]);
  const d = new StreamDecoder(-1);
  const out = d.write(chunk);
  assert.deepEqual(
    out.map((m) => m.subarray(5).toString()),
    [a.toString(), 'second', ''],
  );
  for (const held of heldBuffers(d)) assert.notEqual(held.buffer, chunk.buffer, 'a decoder field still views the chunk');

  // Split anywhere: mid-header, mid-body; the message still comes out whole, once.
  const split = new StreamDecoder(-1);
  const whole = framed(a);
  const cuts = [3, 4000, 4001, whole.length - 1];
  const got: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, whole.length]) {
    const part = Buffer.from(whole.subarray(from, to)); // each part its own memory, as chunks are
    got.push(...split.write(part));
    if (to < whole.length) assert.equal(got.length, 0, 'nothing before the last byte');
    from = to;
  }
  assert.equal(got.length, 1);
  assert.equal(got[0]!.subarray(5).toString(), a.toString());
  for (const held of heldBuffers(split)) assert.ok(held.length <= 4, `a ${held.length}-byte view stays after the message`);

  // A write that ends inside the next message keeps what that message needs.
  const next = new StreamDecoder(-1);
  const two = Buffer.concat([framed(b), framed(a)]);
  const first = next.write(Buffer.from(two.subarray(0, 20)));
  assert.deepEqual(
    first.map((m) => m.subarray(5).toString()),
    ['second'],
  );
  const rest = next.write(Buffer.from(two.subarray(20)));
  assert.deepEqual(
    rest.map((m) => m.subarray(5).toString()),
    [a.toString()],
  );
});
