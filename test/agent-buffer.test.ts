// The agent's unacked-report buffer: bounded by count and bytes, oldest dropped
// first and counted, cumulative acks, resend cursor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportBuffer } from '../agent/index.js';

const r = (seq: number, size = 10): { seq: number; bytes: Buffer } => ({ seq, bytes: Buffer.alloc(size, seq % 256) });

test('count bound drops the oldest first and counts them', () => {
  const b = new ReportBuffer(3, 1_000_000);
  for (let i = 1; i <= 5; i++) b.push(r(i));
  assert.deepEqual(b.seqs(), [3, 4, 5]);
  assert.equal(b.dropped, 2);
  assert.equal(b.size, 3);
  assert.equal(b.bytes, 30);
});

test('byte bound drops as many old reports as needed', () => {
  const b = new ReportBuffer(100, 100);
  b.push(r(1, 40));
  b.push(r(2, 40));
  assert.equal(b.push(r(3, 20)), 0, 'exactly at the budget still fits');
  assert.equal(b.push(r(4, 81)), 3, 'all three older ones go to fit 81 bytes');
  assert.deepEqual(b.seqs(), [4]);
  assert.equal(b.bytes, 81);
  assert.equal(b.push(r(5, 101)), 1, 'a report larger than the budget is itself dropped');
  assert.deepEqual(b.seqs(), [4]);
  assert.equal(b.dropped, 4);
});

test('cumulative ack removes everything up to the seq; after() is the resend cursor', () => {
  const b = new ReportBuffer(100, 10_000);
  for (let i = 1; i <= 6; i++) b.push(r(i));
  assert.equal(b.ack(3), 3);
  assert.deepEqual(b.seqs(), [4, 5, 6]);
  assert.equal(b.ack(2), 0, 'an old ack changes nothing');
  assert.equal(b.after(0)!.seq, 4);
  assert.equal(b.after(4)!.seq, 5);
  assert.equal(b.after(6), undefined);
  assert.equal(b.ack(100), 3);
  assert.equal(b.size, 0);
  assert.equal(b.bytes, 0);
  assert.equal(b.after(0), undefined);
  assert.throws(() => b.push(r(6)), /not after/, 'seqs only grow');
  b.push(r(7));
  assert.deepEqual(b.seqs(), [7]);
});

test('many pushes and acks keep order and byte accounting exact', () => {
  const b = new ReportBuffer(5000, 1_000_000);
  let acked = 0;
  for (let i = 1; i <= 20_000; i++) {
    b.push(r(i, 1 + (i % 7)));
    if (i % 3 === 0) {
      acked = i - 2;
      b.ack(acked);
    }
  }
  const seqs = b.seqs();
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1);
  assert.equal(seqs[0], acked + 1);
  let bytes = 0;
  for (const s of seqs) bytes += 1 + (s % 7);
  assert.equal(b.bytes, bytes);
  assert.equal(b.dropped, 0);
});
