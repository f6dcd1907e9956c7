// The evaluator keeps each series' state per rule on the point's tags (rules/evaluate.ts): a series
// dropped as stale, or rules replaced, must not leave a point updating a state no longer kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Point } from '../collector/points.js';
import { Store } from '../collector/store.js';
import { AlertTable } from '../collector/alerting/alerts.js';
import { fingerprint } from '../collector/alerting/labels.js';
import { SqliteAlertingStore } from '../collector/alerting/store.js';
import { compileRules } from '../collector/alerting/rules/index.js';
import { Evaluator, STALE_SERIES_MS, STALE_SWEEP_MS } from '../collector/alerting/rules/evaluate.js';

const rules = (where: string[] = []) =>
  compileRules(
    [
      { name: 'Down', measurement: 'redis', expr: 'up', op: '==', value: 0, where },
      { name: 'Clients', measurement: 'redis', expr: 'connected_clients', op: '>', value: 100, for: '1m' },
    ],
    'test',
  );

test('a series dropped as stale, or rules replaced, starts again on its next point (same tags object)', () => {
  const store = Store.open(':memory:');
  try {
    const table = new AlertTable(new SqliteAlertingStore(store.db));
    const ev = new Evaluator(table, rules());
    // One tags object for every point, as the kept tags of collector/points.ts give.
    const tags = { host: 'h1', instance: '10.0.0.1:6379', role: 'master' };
    const point = (time: number, up: number): Point => ({ measurement: 'redis', tags, fields: { up, connected_clients: 500 }, time });
    const state = (name: string) => table.all().find((a) => a.labels.alertname === name)?.state;
    let t = 1_800_000_000_000;

    ev.onPoints([point(t, 0)], t);
    assert.equal(state('Down'), 'firing');
    assert.equal(state('Clients'), 'pending');
    const down = table.all().find((a) => a.labels.alertname === 'Down')!;
    // The fingerprint the series kept is the one of its labels (a fresh copy: not the memo).
    assert.equal(down.labels.instance, '10.0.0.1:6379');
    assert.equal(down.labels.role, undefined);
    assert.equal(down.fingerprint, fingerprint({ ...down.labels }));

    // Stale: the series is dropped and its alerts resolve (a pending one goes).
    t += STALE_SERIES_MS;
    ev.tick(t);
    assert.equal(state('Down'), 'resolved');
    assert.equal(state('Clients'), undefined);

    // Back: a new series fires again, and going stale again resolves it again (it is the kept one).
    t += 1000;
    ev.onPoints([point(t, 0)], t);
    assert.equal(state('Down'), 'firing');
    t += STALE_SERIES_MS;
    ev.tick(t);
    assert.equal(state('Down'), 'resolved');

    // Rules replaced (Down now only for replicas): the same tags read the new rule.
    t += 1000;
    ev.onPoints([point(t, 0)], t);
    assert.equal(state('Down'), 'firing');
    ev.setRules(rules(['role=slave']));
    t += 1000;
    ev.onPoints([point(t, 0)], t);
    assert.equal(state('Down'), 'resolved', 'a master outside the new where is a false condition');
    t += 1000;
    ev.onPoints([{ ...point(t, 0), tags: { ...tags, role: 'slave' } }], t);
    assert.equal(state('Down'), 'firing');
    assert.equal(table.all().filter((a) => a.labels.alertname === 'Down').length, 1, 'role is no part of the identity');
  } finally {
    store.close();
  }
});

test('a fluctuation window replaced with its rule (a new shape) takes the next point in the window kept', () => {
  const store = Store.open(':memory:');
  try {
    const ev = new Evaluator(new AlertTable(new SqliteAlertingStore(store.db)), []);
    const jump = (points: number) =>
      compileRules([{ name: 'Jump', measurement: 'redis', expr: 'connected_clients', func: 'diff', points, op: '>', value: 100 }], 'test');
    const tags = { host: 'h1', instance: '10.0.0.1:6379' };
    const point = (time: number, v: number): Point => ({ measurement: 'redis', tags, fields: { connected_clients: v }, time });
    let t = 1_800_000_000_000;
    ev.setRules(jump(1));
    for (const v of [1, 2, 3]) ev.onPoints([point((t += 1000), v)], t);
    assert.deepEqual(
      ev.takeWindowChanges().map((c) => c.values?.map(([, v]) => v)),
      [[2, 3]],
    );
    ev.setRules(jump(2));
    ev.onPoints([point((t += 1000), 4)], t);
    assert.deepEqual(
      ev.takeWindowChanges().map((c) => c.values?.map(([, v]) => v)),
      [[4]],
      'a new window, and the one the evaluator keeps',
    );
  } finally {
    store.close();
  }
});

test('stale series are swept every STALE_SWEEP_MS: a series goes between STALE_SERIES_MS and STALE_SERIES_MS + STALE_SWEEP_MS after its last point', () => {
  const store = Store.open(':memory:');
  try {
    const table = new AlertTable(new SqliteAlertingStore(store.db));
    const ev = new Evaluator(table, rules());
    const tags = { host: 'h1', instance: '10.0.0.1:6379', role: 'master' };
    const state = () => table.all().find((a) => a.labels.alertname === 'Down')?.state;
    const t = 1_800_000_000_000;
    ev.onPoints([{ measurement: 'redis', tags, fields: { up: 0, connected_clients: 1 }, time: t }], t);
    assert.equal(state(), 'firing');
    const swept = t + STALE_SERIES_MS - 1000;
    ev.tick(swept);
    assert.equal(state(), 'firing', 'not stale yet');
    ev.tick(t + STALE_SERIES_MS + 1000);
    assert.equal(state(), 'firing', 'stale, but the last sweep was 2 s ago');
    ev.tick(swept + STALE_SWEEP_MS);
    assert.equal(state(), 'resolved');
  } finally {
    store.close();
  }
});
