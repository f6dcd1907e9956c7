// Fluctuation windows survive a collector SIGKILL: they are kept in the collector's
// SQLite file (alert_windows). The baseline is taken before the kill, the step happens
// while the collector is down, and only points after the restart show it: a `diff`
// rule can fire on them only if its window came back from the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { harness, waitFor } from './harness/index.js';
import { openDatabase } from '../collector/sqlite.js';
import { receiver } from './alerting-support.js';

test('collector SIGKILL: a diff rule keeps its baseline window across the restart and fires on the step', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const rx = await receiver(t);
  const rulesFile = path.join(await h.tempDir('rules'), 'rules.yaml');
  await fs.writeFile(rulesFile, [
    'rules:',
    '  - { name: KeysJump, measurement: redis_keyspace, expr: keys, func: diff, points: 3, op: ">", value: 500 }',
    '',
  ].join('\n'));
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
      return db.prepare<{ vals: string }>("SELECT vals FROM alert_windows WHERE rule = 'KeysJump'").all().map((r) => JSON.parse(r.vals) as [number, number][]);
    } finally { db.close(); }
  };
  // The baseline (keys = 1) is in the store: at least points+1 values.
  await waitFor(() => stored()[0]?.length === 4, { timeoutMs: 15_000, what: 'a full KeysJump window in the store' });
  assert.ok(stored()[0]!.every(([, v]) => v === 1), 'baseline values are keys = 1');
  await agent.stop();
  await collector.kill('SIGKILL');

  // The step happens while nothing watches; afterwards every new point says ~1000 keys.
  const client = redis.client();
  await Promise.all(Array.from({ length: 1000 }, (_, i) => client.set(`step:${i}`, 'v')));
  await collector.start();
  const started = await collector.waitForLog('alerting started');
  assert.equal(started.windows, 1, 'the window was restored at startup');
  agent = await h.agent(agentConfig, { collector });
  const fired = await waitFor(() => rx.got.find((r) => r.body?.commonLabels?.alertname === 'KeysJump' && r.body.status === 'firing'),
    { timeoutMs: 15_000, what: 'KeysJump firing after the restart' });
  assert.equal(fired.body.alerts[0].labels.instance, redis.address);
  const alert = (await collector.api('/api/v1/alerts')).alerts.find((a: { name: string }) => a.name === 'KeysJump');
  assert.ok(alert && alert.value >= 999, `diff against the pre-restart baseline: ${alert?.value}`);
  // Bounded: each window keeps points + 1 values.
  await waitFor(() => stored()[0]?.every(([, v]) => v > 1), { what: 'the window moved on past the baseline' });
  assert.ok(stored()[0]!.length <= 4);
});
