// The collector's own events reach the built-in alerts whatever the storage's room: the storage
// watch's CollectorSpooling / CollectorBackpressure fire on a change and resolve on the way back,
// the first look after a restart resolves what the previous run left firing (the spool may have
// drained at shutdown), and a host.up the full store refuses still resolves HostSilent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../common/index.js';
import { Alerting, resolveAlertingConfig } from '../collector/alerting/index.js';
import { EmbeddedHistory } from '../collector/history.js';
import { Store } from '../collector/store.js';
import { StorageWatch, type BackpressureSource } from '../collector/storage-watch.js';
import { emitEvents } from '../collector/sink.js';
import type { Point } from '../collector/index.js';

const logger = createLogger('storage-watch-test', 'silent');

function run(file: string, streams: BackpressureSource) {
  const store = Store.open(file);
  const history = new EmbeddedHistory(store, { retentionMs: 86_400_000, maxPoints: 1_000_000 }, logger);
  const alerting = new Alerting(store, resolveAlertingConfig({}), logger);
  const emitted: { kinds: string[]; store: boolean }[] = [];
  const watch = new StorageWatch(
    history,
    streams,
    (points: Point[], stored: boolean) => {
      emitted.push({ kinds: points.map((p) => p.tags.kind!), store: stored });
      alerting.onPoints(points);
      if (stored) history.offer(points);
    },
    logger,
  );
  const state = (name: string) => alerting.alerts.all().find((a) => a.labels.alertname === name)?.state;
  const close = async () => {
    await alerting.close();
    await history.close();
    store.close();
  };
  return { watch, alerting, emitted, state, close };
}

test('storage watch: backpressure fires and resolves; after a restart with room, the first look resolves what was left firing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-watch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'collector.db');
  const streams = { pausedStreams: 1, backpressureEnds: 0 };

  const first = run(file, streams);
  first.watch.check();
  assert.deepEqual(first.emitted, [
    { kinds: ['collector.spool_drained'], store: false },
    { kinds: ['collector.backpressure'], store: true },
  ]);
  assert.equal(first.state('CollectorBackpressure'), 'firing');
  first.watch.check();
  assert.equal(first.emitted.length, 2, 'no change, no event');
  // The process ends while the stream is still paused: the alert is stored as firing.
  await first.close();

  streams.pausedStreams = 0;
  const second = run(file, streams);
  assert.equal(second.state('CollectorBackpressure'), 'firing', 'reloaded from the store');
  second.watch.check();
  assert.deepEqual(second.emitted, [{ kinds: ['collector.spool_drained', 'collector.backpressure_cleared'], store: false }]);
  assert.equal(second.state('CollectorBackpressure'), 'resolved', 'resolved by the first look');
  second.watch.check();
  assert.equal(second.emitted.length, 1);

  streams.pausedStreams = 2;
  second.watch.check();
  streams.pausedStreams = 0;
  second.watch.check();
  assert.deepEqual(second.emitted.slice(1), [
    { kinds: ['collector.backpressure'], store: true },
    { kinds: ['collector.backpressure_cleared'], store: true },
  ]);
  assert.equal(second.state('CollectorBackpressure'), 'resolved');
  await second.close();
});

test('a host.up the full store refuses still resolves HostSilent, and is counted as dropped', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-events-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = Store.open(path.join(dir, 'collector.db'));
  // A long flush interval keeps points queued: the queue fills deterministically.
  const history = new EmbeddedHistory(
    store,
    { retentionMs: 86_400_000, maxPoints: 1_000_000, maxQueuePoints: 3, batchSize: 1_000, flushIntervalMs: 60_000 },
    logger,
  );
  const alerting = new Alerting(store, resolveAlertingConfig({}), logger);
  t.after(async () => {
    await alerting.close();
    await history.close();
    store.close();
  });
  const rules = (p: Point[]) => alerting.onPoints(p);
  const hostEvent = (kind: string): Point[] => [
    { measurement: 'event', tags: { host: 'h1', kind }, fields: { message: kind, attrs: '{}' }, time: Date.now() },
  ];
  const hostSilent = () => alerting.alerts.all().find((a) => a.labels.alertname === 'HostSilent')?.state;

  assert.equal(emitEvents(hostEvent('host.down'), rules, history), true);
  assert.equal(hostSilent(), 'firing');
  while (history.offer(hostEvent('filler'))) {
    /* fill the queue */
  }
  assert.equal(emitEvents(hostEvent('host.up'), rules, history), false, 'the store has no room');
  assert.equal(hostSilent(), 'resolved', 'resolved although the event was not stored');
  assert.equal(history.stats().droppedNoRoom, 1, 'the refused event is counted');
});
