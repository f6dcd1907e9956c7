// The disk spool on a real file system: records across segments, group commit, replay
// in order after a reopen, a torn tail truncated, a bit flip caught by the CRC, and the
// byte bound saying "no room".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Spool, encodeRecord } from '../collector/spool.js';

const silent = pino({ level: 'silent' });

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-spool-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const line = (i: number): Buffer => Buffer.from(`m,host=h${i % 7} v=${i}i ${1_700_000_000_000 + i}\n`);

/** Appends n records and resolves once every one is durable. */
async function appendAll(s: Spool, from: number, n: number): Promise<void> {
  const done: Promise<void>[] = [];
  for (let i = from; i < from + n; i++) {
    done.push(new Promise((resolve) => assert.ok(s.append(1, line(i), resolve), `record ${i} accepted`)));
  }
  await Promise.all(done);
}

async function readAllText(s: Spool): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const recs = await s.read(5);
    if (!recs.length) return out;
    for (const r of recs) out.push(r.lines.toString());
    s.consume(recs.length);
  }
}

test('spool: records span segments, one fdatasync covers many appends, read back oldest first and consumed', async (t) => {
  const dir = tempDir(t);
  const s = Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 2048 }, silent);
  await appendAll(s, 0, 200);
  assert.equal(s.records, 200);
  assert.equal(s.points, 200);
  assert.ok(s.syncs < 50, `group commit: ${s.syncs} fdatasyncs for 200 appends`);
  const segments = fs.readdirSync(dir).filter((f) => f.endsWith('.log'));
  assert.ok(segments.length > 3, `several segments (${segments.length})`);
  for (const f of segments) assert.ok(fs.statSync(path.join(dir, f)).size <= 2048, `${f} within segmentBytes`);

  const texts = await readAllText(s);
  assert.deepEqual(
    texts,
    Array.from({ length: 200 }, (_, i) => line(i).toString()),
  );
  assert.equal(s.records, 0);
  assert.ok(s.empty);
  await s.close();
  assert.ok(fs.readdirSync(dir).filter((f) => f.endsWith('.log')).length <= 1, 'consumed segments are deleted');
});

test('spool: reopened, what was not consumed is replayed in order; new appends follow it', async (t) => {
  const dir = tempDir(t);
  const a = Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 4096 }, silent);
  await appendAll(a, 0, 100);
  const first = await a.read(30);
  a.consume(first.length);
  await a.close();

  const b = Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 4096 }, silent);
  assert.ok(b.records >= 70 && b.records <= 100, `unconsumed records replayed (${b.records})`);
  await appendAll(b, 100, 10);
  const texts = await readAllText(b);
  const expected = Array.from({ length: 110 }, (_, i) => line(i).toString());
  // Consumption is not persisted inside a segment (InfluxDB overwrites identical points):
  // the replay starts at the first record of the oldest segment left, never later.
  assert.deepEqual(texts, expected.slice(expected.length - texts.length));
  assert.ok(texts.length >= 80);
  await b.close();
});

test('spool: a torn tail (a record cut short by a crash) is truncated; the complete records before it survive', async (t) => {
  const dir = tempDir(t);
  const a = Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 1 << 20 }, silent);
  await appendAll(a, 0, 20);
  await a.close();
  const [seg] = fs.readdirSync(dir).filter((f) => f.endsWith('.log'));
  const file = path.join(dir, seg!);
  const before = fs.statSync(file).size;
  // Half of a 21st record, as a SIGKILL during write() leaves it.
  const torn = encodeRecord(1, line(20));
  fs.appendFileSync(file, torn.subarray(0, Math.floor(torn.length / 2)));

  const logs: string[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write: (l: string) => {
        logs.push(l);
      },
    },
  );
  const b = Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 1 << 20 }, logger);
  assert.equal(b.records, 20);
  assert.equal(fs.statSync(file).size, before, 'truncated back to the last complete record');
  assert.ok(logs.some((l) => l.includes('torn tail truncated')));
  await appendAll(b, 21, 1);
  const texts = await readAllText(b);
  assert.equal(texts.length, 21);
  assert.equal(texts[20], line(21).toString(), 'a new record follows the truncated tail cleanly');
  await b.close();
});

test('spool: a record whose bytes changed fails its CRC and ends the replay of that segment there', async (t) => {
  const dir = tempDir(t);
  const a = Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 1 << 20 }, silent);
  await appendAll(a, 0, 10);
  await a.close();
  const [seg] = fs.readdirSync(dir).filter((f) => f.endsWith('.log'));
  const file = path.join(dir, seg!);
  const data = fs.readFileSync(file);
  const recLen = encodeRecord(1, line(0)).length;
  // Flip one payload byte of the 8th record (all records here have the same length).
  data[7 * recLen + 14] ^= 0xff;
  fs.writeFileSync(file, data);
  const b = Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 1 << 20 }, silent);
  assert.equal(b.records, 7);
  assert.deepEqual(
    await readAllText(b),
    Array.from({ length: 7 }, (_, i) => line(i).toString()),
  );
  await b.close();
});

test('spool: bounded by maxBytes — append says no room, and has room again once records are consumed', async (t) => {
  const dir = tempDir(t);
  const recLen = encodeRecord(1, line(0)).length;
  const s = Spool.open({ dir, maxBytes: recLen * 10, segmentBytes: recLen * 4 }, silent);
  await appendAll(s, 0, 10);
  assert.equal(
    s.append(1, line(10), () => undefined),
    false,
    'the 11th record does not fit',
  );
  assert.equal(s.hasRoom(line(10).length), false);
  assert.equal(s.records, 10, 'nothing was dropped to make room');
  const recs = await s.read(4);
  s.consume(recs.length);
  assert.ok(s.hasRoom(line(10).length), 'a consumed (deleted) segment frees its bytes');
  await appendAll(s, 10, 1);
  const texts = await readAllText(s);
  assert.deepEqual(texts, Array.from({ length: 11 }, (_, i) => line(i).toString()).slice(recs.length));
  await s.close();
});

test('spool: consuming everything while a group commit spans into a new segment keeps the records being written', async (t) => {
  const dir = tempDir(t);
  const recLen = encodeRecord(1, line(0)).length;
  const s = Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: recLen * 3 }, silent);
  await appendAll(s, 0, 2);
  // Three more: the first completes segment 1, the other two open segment 2, all in one commit.
  const durable = appendAll(s, 2, 3);
  await new Promise((resolve) => setImmediate(resolve)); // the commit has started writing
  s.consume(s.records); // the two durable records: segment 1 looks fully consumed
  await durable;
  assert.equal(s.records, 3);
  assert.deepEqual(
    await readAllText(s),
    [2, 3, 4].map((i) => line(i).toString()),
  );
  await s.close();
});
