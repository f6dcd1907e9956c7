// Fluctuation windows survive a collector SIGKILL: they are kept in the collector's
// SQLite file (alert_windows). The baseline is taken before the kill, the step happens
// while the collector is down, and only points after the restart show it: a `diff`
// rule can fire on them only if its window came back from the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../common/index.js';
import { Alerting, resolveAlertingConfig } from '../collector/alerting/index.js';
import { Store } from '../collector/store.js';
import { harness, waitFor } from './harness/index.js';
import { openDatabase } from '../collector/sqlite.js';
import { receiver, writeRules } from './alerting-support.js';

test('collector SIGKILL: a diff rule keeps its baseline window across the restart and fires on the step', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const rx = await receiver(t);
  const rulesFile = await writeRules(
    h,
    ['rules:', '  - { name: KeysJump, measurement: redis_keyspace, expr: keys, func: diff, points: 3, op: ">", value: 500 }', ''].join(
      '\n',
    ),
  );
  const collector = await h.collector({
    alerting: {
      ruleFiles: [rulesFile],
      builtins: { enabled: false },
      route: { receiver: 'ops', groupWait: '100ms', groupInterval: '300ms' },
      receivers: [{ name: 'ops', webhook: [{ url: rx.url }] }],
    },
  });
  await redis.call('SET', 'seed', '1');
  const agentConfig = { hostId: 'win-h1', interval: '200ms', redis: [{ address: redis.address }] };
  let agent = await h.agent(agentConfig, { collector });
  const dbFile = String((collector.config.store as { path: string }).path);
  const stored = () => {
    const db = openDatabase(dbFile);
    try {
      return db
        .prepare<{ vals: string }>("SELECT vals FROM alert_windows WHERE rule = 'KeysJump'")
        .all()
        .map((r) => JSON.parse(r.vals) as [number, number][]);
    } finally {
      db.close();
    }
  };
  // The baseline (keys = 1) is in the store: at least points+1 values.
  await waitFor(() => stored()[0]?.length === 4, { timeoutMs: 15_000, what: 'a full KeysJump window in the store' });
  assert.ok(
    stored()[0]!.every(([, v]) => v === 1),
    'baseline values are keys = 1',
  );
  await agent.stop();
  await collector.kill('SIGKILL');

  // The step happens while nothing watches; afterwards every new point says ~1000 keys.
  const client = redis.client();
  await Promise.all(Array.from({ length: 1000 }, (_, i) => client.set(`step:${i}`, 'v')));
  await collector.start();
  const started = await collector.waitForLog('alerting started');
  assert.equal(started.windows, 1, 'the window was restored at startup');
  agent = await h.agent(agentConfig, { collector });
  const fired = await waitFor(() => rx.got.find((r) => r.body?.commonLabels?.alertname === 'KeysJump' && r.body.status === 'firing'), {
    timeoutMs: 15_000,
    what: 'KeysJump firing after the restart',
  });
  assert.equal(fired.body.alerts[0].labels.instance, redis.address);
  const alert = (await collector.api('/api/v1/alerts')).alerts.find((a: { name: string }) => a.name === 'KeysJump');
  assert.ok(alert && alert.value >= 999, `diff against the pre-restart baseline: ${alert?.value}`);
  // Bounded: each window keeps points + 1 values.
  await waitFor(() => stored()[0]?.every(([, v]) => v > 1), { what: 'the window moved on past the baseline' });
  assert.ok(stored()[0]!.length <= 4);
});

test('a restored window outlives a collector outage longer than the 5 min stale-series limit', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-windows-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const rules = path.join(dir, 'rules.yaml');
  await fs.writeFile(
    rules,
    'rules:\n  - { name: KeysJump, measurement: redis_keyspace, expr: keys, func: diff, points: 3, op: ">", value: 500 }\n',
  );
  const config = resolveAlertingConfig({ builtins: { enabled: false }, ruleFiles: [rules] });
  const logger = createLogger('test', 'silent');
  const tags = { host: 'h1', instance: '127.0.0.1:6379', db: 'db0' };
  const point = (keys: number, time: number) => ({ measurement: 'redis_keyspace', tags, fields: { keys }, time });
  const t0 = Date.now() - 20 * 60_000;
  let store = Store.open(path.join(dir, 'collector.db'));
  const first = new Alerting(store, config, logger);
  first.onPoints([point(1, t0), point(1, t0 + 1000), point(1, t0 + 2000), point(1, t0 + 3000)]);
  first.tick();
  await first.close();
  // The collector was down for 20 minutes: the window's last point is that old.
  store.db.prepare('UPDATE alert_windows SET last_seen = ?').run(t0 + 3000);
  store.close();

  store = Store.open(path.join(dir, 'collector.db'));
  const second = new Alerting(store, config, logger);
  t.after(async () => {
    await second.close();
    store.close();
  });
  assert.equal(second.restoredWindows, 1);
  second.tick();
  assert.equal(
    store.db.prepare<{ n: number }>('SELECT COUNT(*) AS n FROM alert_windows').get()!.n,
    1,
    'the first tick after the restart keeps the window',
  );
  second.onPoints([point(1001, Date.now())]);
  const a = second.alerts.all().find((x) => x.labels.alertname === 'KeysJump');
  assert.equal(a?.state, 'firing');
  assert.equal(a?.value, 1000);
});
