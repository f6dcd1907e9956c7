// Sentinel watching end to end on real Redis, real Sentinels, the real agent and collector and a
// real HTTP receiver: a master SIGSTOPped → exactly one RedisFailover notification within one
// interval + 2 s of Sentinel's +switch-master although two agents saw it; Sentinel samples;
// the agent's connection killed (Sentinel's CLIENT KILL on reconfigure) → no page; a frozen
// instance does not delay the other instances' samples.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitFor, type CollectorProcess } from './harness/index.js';
import { receiver } from './alerting-support.js';

const INTERVAL_MS = 1000;

interface StoredPoint {
  time: number;
  tags: Record<string, string>;
  fields: Record<string, any>;
}

async function points(c: CollectorProcess, measurement: string, tags: Record<string, string>): Promise<StoredPoint[]> {
  const q = new URLSearchParams({ measurement, ...tags, limit: '10000' });
  return (await c.api<{ points: StoredPoint[] }>(`/api/v1/query?${q}`)).points;
}

async function alertingCollector(t: TestContext, h: Awaited<ReturnType<typeof harness>>) {
  const rx = await receiver(t);
  const collector = await h.collector({
    alerting: {
      route: { receiver: 'ops', groupWait: '200ms', groupInterval: '500ms' },
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook` }] }],
    },
  });
  const notified = (name: string, status = 'firing') =>
    rx.got.filter((r) => r.body?.status === status && r.body.alerts?.some((a: any) => a.labels.alertname === name));
  return { rx, collector, notified };
}

test('a master SIGSTOPped: one RedisFailover page within one interval + 2 s of +switch-master, though two agents saw it; Sentinel samples', async (t) => {
  const h = await harness(t);
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const sentinels = await h.sentinels(3, [{ name: 'g1', master, downAfterMs: 1000, failoverTimeoutMs: 5000 }]);
  const { collector, notified } = await alertingCollector(t, h);
  const watch = sentinels.map((s) => ({ address: s.address }));
  const common = { interval: `${INTERVAL_MS}ms`, discovery: { enabled: false }, sentinels: watch };
  await Promise.all([
    h.agent({ ...common, hostId: 'sent-a1', redis: [{ address: master.address, cluster: 'c1', group: 'g1' }] }, { collector }),
    h.agent({ ...common, hostId: 'sent-a2', redis: [{ address: replica.address, cluster: 'c1', group: 'g1' }] }, { collector }),
  ]);

  // Sentinel samples: every Sentinel up, the master with its replica, 3 Sentinels, quorum reachable.
  const seen = await waitFor(
    async () => {
      const p = await points(collector, 'sentinel_master', { host: 'sent-a1', master_name: 'g1' });
      const by = new Map(p.map((x) => [x.tags.sentinel, x]));
      return by.size === 3 ? [...by.values()] : undefined;
    },
    { timeoutMs: 20_000, what: 'sentinel_master points from the three Sentinels' },
  );
  for (const p of seen) {
    assert.equal(p.fields.master, master.address);
    assert.equal(p.fields.sentinels, 3);
    assert.equal(p.fields.replicas, 1);
    assert.equal(p.fields.quorum, 2);
    assert.equal(p.fields.quorum_reachable, 1, String(p.fields.quorum_detail));
    assert.match(String(p.fields.flags), /^master$/);
  }
  const s0 = await waitFor(async () => (await points(collector, 'sentinel', { host: 'sent-a2', sentinel: sentinels[0]!.address })).at(-1), {
    what: "sent-a2's sentinel point",
  });
  assert.deepEqual(s0 && [s0.fields.up, s0.fields.tilt, s0.fields.masters, s0.fields.discovered], [1, 0, 1, 0], JSON.stringify(s0));

  // The test's own subscriber gives the time Sentinel published +switch-master.
  const sub = sentinels[2]!.client();
  let switchAt = 0;
  let switchPayload = '';
  sub.on('message', (_ch: string, payload: string) => {
    switchAt ||= Date.now();
    switchPayload ||= payload;
  });
  await sub.subscribe('+switch-master');

  master.pause();
  await waitFor(() => switchAt > 0, { timeoutMs: 30_000, intervalMs: 20, what: '+switch-master' });
  assert.equal(switchPayload, `g1 ${master.host} ${master.port} ${replica.host} ${replica.port}`);
  const page = await waitFor(() => notified('RedisFailover')[0], {
    timeoutMs: 20_000,
    intervalMs: 20,
    what: 'the RedisFailover notification',
  });
  const latencyMs = page.at - switchAt;
  t.diagnostic(`+switch-master → RedisFailover notification: ${latencyMs} ms (interval ${INTERVAL_MS} ms)`);
  assert.ok(latencyMs <= INTERVAL_MS + 2000, `paged ${latencyMs} ms after +switch-master (target: one interval + 2 s)`);
  const alert = page.body.alerts.find((a: any) => a.labels.alertname === 'RedisFailover');
  assert.equal(alert.labels.old, master.address);
  assert.equal(alert.labels.new, replica.address);
  assert.equal(alert.labels.master, 'g1');
  assert.equal(alert.labels.cluster, 'c1');
  assert.equal(alert.labels.severity, 'critical');
  assert.ok(!Number.isNaN(Date.parse(alert.labels.when)));
  assert.equal(alert.labels.host, undefined, "a failover is the group's, not one host's");
  assert.match(alert.annotations.summary, new RegExp(`failover of g1 \\(cluster c1\\): ${master.address} → ${replica.address}`));

  // Both agents report it; it stays one failover, one alert, one notification.
  const failover = await waitFor(
    async () => {
      const f = (await collector.api('/api/v1/failovers')).failovers as any[];
      return f.length === 1 && f[0].seenBy.length === 2 ? f[0] : undefined;
    },
    { timeoutMs: 20_000, what: 'both agents folded into the failover' },
  );
  assert.deepEqual([...failover.seenBy].sort(), ['sent-a1', 'sent-a2']);
  assert.equal(failover.oldMaster, master.address);
  assert.equal(failover.newMaster, replica.address);
  assert.ok(failover.sentinelAt && failover.roleChangeAt, "Sentinel's event and the promotion seen in samples both folded in");
  for (const host of ['sent-a1', 'sent-a2']) {
    await waitFor(async () => (await points(collector, 'event', { host, kind: 'sentinel.+switch-master' })).length === 1, {
      what: `${host}'s +switch-master event`,
    });
  }
  const role = await waitFor(
    async () => (await points(collector, 'event', { host: 'sent-a2', kind: 'redis.role_change', instance: replica.address }))[0],
    { what: 'the role change event' },
  );
  assert.deepEqual(JSON.parse(role.fields.attrs), { from: 'slave', to: 'master', cluster: 'c1', group: 'g1' });
  assert.ok((await points(collector, 'event', { host: 'sent-a1', kind: 'sentinel.+odown' })).length >= 1);
  // A few more ticks of both agents: still exactly one.
  const ticks0 = (await collector.api('/api/v1/hosts')).hosts.map((x: any) => x.lastReportAt).join();
  await waitFor(async () => (await collector.api('/api/v1/hosts')).hosts.map((x: any) => x.lastReportAt).join() !== ticks0, {
    what: 'more reports',
  });
  const firing = (await collector.api('/api/v1/alerts?state=firing')).alerts.filter((a: any) => a.labels.alertname === 'RedisFailover');
  assert.equal(firing.length, 1);
  assert.equal(notified('RedisFailover').length, 1, 'exactly one RedisFailover notification');
  master.resume();
});

test("the agent's connections killed (Sentinel's CLIENT KILL TYPE normal) again and again: no instance.down, no page", async (t) => {
  const h = await harness(t);
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const { collector, notified } = await alertingCollector(t, h);
  const agent = await h.agent(
    {
      hostId: 'sent-kill',
      interval: '1s',
      discovery: { enabled: false },
      redis: [{ address: master.address }, { address: replica.address }],
    },
    { collector },
  );
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.filter((i: any) => i.status === 'up').length === 2, {
    what: 'both instances up',
  });
  let killed = 0;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, Math.random() * 1000)); // any phase of the tick
    for (const server of [master, replica]) killed += Number(await server.call('CLIENT', 'KILL', 'TYPE', 'normal'));
  }
  assert.ok(killed >= 20, `the agent's connections were killed (${killed})`);
  // Reports after the last kill have arrived.
  const last = Date.now();
  await waitFor(
    async () => (await points(collector, 'redis', { host: 'sent-kill', instance: replica.address })).some((p) => p.time > last + 1200),
    { what: 'samples after the kills' },
  );
  const downs = await points(collector, 'event', { host: 'sent-kill', kind: 'instance.down' });
  assert.deepEqual(downs, [], 'no instance.down');
  const upZero = (await points(collector, 'redis', { host: 'sent-kill' })).filter((p) => p.fields.up === 0);
  assert.deepEqual(
    upZero.map((p) => p.fields.error),
    [],
    'no sample with up=0',
  );
  assert.equal(notified('RedisInstanceDown').length, 0, 'no RedisInstanceDown page');
  assert.ok(!agent.logs().some((l) => l.msg === 'instance down'));
});

test('a frozen instance does not delay the others: their samples stay on the interval, the frozen one reports down (timeout)', async (t) => {
  const h = await harness(t);
  const [frozen, a, b] = await Promise.all([h.redis(), h.redis(), h.redis()]);
  const collector = await h.collector();
  // 1 s: the tick's deadline leaves 20 % of the interval for the report (agent.ts tickDeadline).
  const intervalMs = 1000;
  const agent = await h.agent(
    {
      hostId: 'sent-frozen',
      interval: `${intervalMs}ms`,
      discovery: { enabled: false },
      redis: [frozen, a, b].map((r) => ({ address: r.address })),
    },
    { collector },
  );
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.filter((i: any) => i.status === 'up').length === 3, {
    what: 'three instances up',
  });
  frozen.pause();
  const from = Date.now() + intervalMs;
  const down = await waitFor(
    async () =>
      (await points(collector, 'redis', { host: 'sent-frozen', instance: frozen.address })).find(
        (p) => p.time >= from && p.fields.up === 0,
      ),
    { timeoutMs: 15_000, what: 'the frozen instance reported down' },
  );
  assert.match(String(down.fields.error), /no reply|timeout|timed out/i);
  const until = from + 12 * intervalMs;
  await waitFor(async () => (await points(collector, 'redis', { host: 'sent-frozen', instance: a.address })).some((p) => p.time >= until), {
    timeoutMs: 30_000,
    what: '12 more intervals',
  });
  for (const r of [a, b]) {
    const ps = (await points(collector, 'redis', { host: 'sent-frozen', instance: r.address })).filter(
      (p) => p.time >= from && p.time < until,
    );
    assert.ok(ps.every((p) => p.fields.up === 1));
    // Every tick's report carries their samples: ~12 ticks, none skipped for the frozen one.
    assert.ok(ps.length >= 9, `${r.address}: ${ps.length} samples in 12 intervals`);
  }
  // A frozen instance holding up the tick would skip every other tick (6 of 12 here). With a
  // frozen instance every tick runs to its deadline, 200 ms before the next boundary, so a
  // loaded 2-core CI machine (the whole suite) can stall the agent past a few boundaries on its
  // own: up to a quarter is tolerated (3 were seen once in CI), half is the failure this catches.
  // The agent logs its running count of skipped ticks on each overrun and when ticks are back on time.
  const logs = agent.logs();
  const skippedBy = (ls: typeof logs): number => Math.max(0, ...ls.map((l) => (typeof l.skipped === 'number' ? l.skipped : 0)));
  const skippedTicks = skippedBy(logs) - skippedBy(logs.filter((l) => Date.parse(String(l.time)) < from));
  assert.ok(skippedTicks <= 3, `${skippedTicks} ticks skipped while the instance is frozen`);
  frozen.resume();
});
