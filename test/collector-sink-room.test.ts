// "full" (backpressure) on the sinks, against a real InfluxDB and a real SQLite file: a
// refused report makes the storage full; freeing room ends it even when nothing is written
// after; offer() (the collector's own storage events) is refused without making it full.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createLogger } from '../common/index.js';
import { InfluxSink } from '../collector/influx.js';
import { EmbeddedHistory } from '../collector/history.js';
import { Store } from '../collector/store.js';
import type { Point } from '../collector/index.js';
import { harness, waitFor } from './harness/index.js';

const logger = createLogger('sink-room-test', 'silent');
const DB = 'room';

let seq = 0;
function point(): Point {
  seq++;
  return { measurement: 'room', tags: { host: 'h1' }, fields: { n: seq, pad: 'x'.repeat(200) }, time: 1_700_000_000_000 + seq };
}

test('influx sink: full while a report finds no room, ok again once the spool drains with no write after; a refused offer() leaves it spooling', async (t) => {
  const h = await harness(t);
  const influx = await h.influx();
  await influx.stop();
  const dir = await h.tempDir('spool');
  const sink = new InfluxSink(
    { url: influx.url, flavor: 'influxdb', database: DB, batchSize: 20, flushIntervalMs: 100, maxQueuePoints: 20, gzip: false },
    logger,
    { spool: { dir: path.join(dir, 'spool'), maxBytes: 16 * 1024, segmentBytes: 4 * 1024 } },
  );
  sink.start();
  t.after(() => sink.close());

  let stored = 0;
  const onStored = () => void stored++;
  // InfluxDB is away: the spool fills, then the memory queue; the collector's own events are refused then.
  let offered = 0;
  while (sink.offer([point()])) {
    offered++;
    assert.ok(offered < 10_000, 'offer() is refused once spool and memory are full');
  }
  assert.ok(offered > 20, `the spool and the memory queue took points first (${offered})`);
  assert.equal(sink.storage().state, 'spooling', 'a refused offer() does not make the storage full');
  assert.equal(sink.stats().droppedNoRoom, 0, 'a refused offer() is not counted as a drop');

  assert.equal(sink.write([point()], onStored), false, 'a report finds no room');
  assert.equal(sink.storage().state, 'full');
  assert.equal(sink.stats().droppedNoRoom, 0, 'a refused report is retried by its sender, not dropped');

  // Room comes back by itself: nothing is written from here on, and the state must not stay full.
  await influx.restart();
  await waitFor(() => sink.storage().state === 'ok', { what: 'the storage ok again without another write', timeoutMs: 30_000 });
  const rows = await influx.rows('SELECT count(n) FROM room', DB);
  assert.equal(rows[0]?.count, offered, 'every offered point that was taken is stored');
  assert.equal(sink.write([point()], onStored), true);
  await waitFor(() => stored === 1, { what: 'the report stored' });
});

test('embedded history: full while a report finds no room, ok again once commits free room with no write after; a refused offer() leaves it ok', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('history');
  const store = Store.open(path.join(dir, 'history.db'));
  t.after(() => store.close());
  // A long flush interval keeps points queued until the batch is reached: the queue fills deterministically.
  const history = new EmbeddedHistory(
    store,
    {
      retentionMs: 86_400_000,
      rawRetentionMs: 3_600_000,
      maxPoints: 1_000_000,
      maxQueuePoints: 10,
      batchSize: 1_000,
      flushIntervalMs: 60_000,
    },
    logger,
  );
  history.start();
  t.after(() => history.close());

  for (let i = 0; i < 10; i++) assert.ok(history.offer([point()]), `point ${i} queued`);
  assert.equal(history.offer([point()]), false, 'the queue is full');
  assert.equal(history.storage().state, 'ok', 'a refused offer() does not make the storage full');
  let stored = 0;
  assert.equal(
    history.write([point()], () => void stored++),
    false,
  );
  assert.equal(history.storage().state, 'full');
  assert.ok(await history.drain(10_000), 'the queue commits');
  assert.equal(history.storage().state, 'ok', 'room freed by the commit ends "full" with no write after');
  assert.equal(stored, 0);
});
