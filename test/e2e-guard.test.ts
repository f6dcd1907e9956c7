// sentinel-guard end to end on real ZooKeeper, Sentinels and Redis, through the real agent and
// collector: a silent partition fences the master before any failover and restores it with its
// data; a ZooKeeper-only outage fences nothing (failsafe); the fence survives the agent's SIGKILL;
// a master replaced while fenced only comes back as a replica of the new one; a Redis restart
// while partitioned is fenced again; an impossible timing budget is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './harness/index.js';
import { APP, DOWN_AFTER_MS, events, explained, guardedSetup, guardView, outcome, setGroupZnode, waitNoperm } from './guard-support.js';

test('silent partition (ZooKeeper and a Sentinel majority frozen): fenced within the budget, replica keeps replicating, no sdown, restored with the same data', async (t) => {
  const host = 'guard-partition';
  const s = await guardedSetup(t, { hostId: host });
  const app = s.app(s.master);
  assert.equal(await app.set('k', 'before'), 'OK');
  const aclBefore = await s.master.call('ACL', 'LIST');
  await waitFor(async () => (await guardView(s.collector, host))?.instances[0]?.sentinelName === 'g1', {
    what: 'guard to learn the Sentinel name',
  });

  const cutAt = Date.now();
  s.zk.pause();
  s.sentinels[0]!.pause();
  s.sentinels[1]!.pause();
  await waitNoperm(app, 'the open app connection to get NOPERM');
  const fenceMs = Date.now() - cutAt;
  t.diagnostic(`fence latency after the cut: ${fenceMs} ms (Sentinel down-after ${DOWN_AFTER_MS} ms)`);
  assert.ok(fenceMs < DOWN_AFTER_MS, `fenced after ${fenceMs} ms, not before down-after (${DOWN_AFTER_MS} ms)`);
  const view = await waitFor(
    async () => {
      const v = await guardView(s.collector, host);
      return v?.instances[0]?.phase === 'fenced' ? v : undefined;
    },
    { what: 'the API to show the fence applied' },
  );
  // The fence sets the ACL, then kills normal clients; NOPERM can be seen in between. The phase
  // turns 'fenced' once both are done, so from here the pooled connection has come back fenced.
  assert.match(await outcome(app.get('k')), /^NOPERM.*'get'/);
  assert.match(await outcome(app.set('k', 'during')), /^NOPERM.*'set'/);
  assert.match(await outcome(app.blpop('q', 1)), /^NOPERM/);

  // Replication continues: a write by the (exempt) agent user reaches the replica.
  const fleet = s.master.client({ username: 'fleet', password: 'fleet-secret-pw' });
  await fleet.set('through-fence', '1');
  await waitFor(async () => (await s.replica.call('GET', 'through-fence')) === '1', { what: 'the write to replicate while fenced' });
  assert.equal((await s.replica.info('replication')).master_link_status, 'up');

  assert.equal(view.zookeeper.state, 'unreachable');
  assert.equal(view.instances[0]!.phase, 'fenced');
  assert.equal(view.instances[0]!.fence!.mode, 'acl');
  assert.match(view.instances[0]!.fence!.reason, /ZooKeeper unreachable.*only 1\/3 Sentinels answered/);
  assert.ok(Date.parse(view.instances[0]!.fence!.since) >= cutAt);

  // The built-in alerts keyed on the guard's events fire.
  const firing = async (name: string) =>
    ((await s.collector.api('/api/v1/alerts?state=firing')).alerts as Array<{ labels: Record<string, string> }>).filter(
      (a) => a.labels.alertname === name && a.labels.host === host,
    );
  const fencedAlert = await waitFor(async () => (await firing('InstanceFenced'))[0], { what: 'InstanceFenced firing' });
  assert.equal(fencedAlert.labels.instance, s.master.address);
  assert.equal(fencedAlert.labels.severity, 'critical');
  assert.ok((await firing('GuardZooKeeperUnreachable')).length === 1);

  // The Sentinel that still sees the master never marks it down: the ACL fence is invisible to it.
  const watcher = s.sentinels[2]!;
  const watchUntil = Date.now() + 3 * DOWN_AFTER_MS;
  let looks = 0;
  await waitFor(
    async () => {
      const flags = (await watcher.master('g1')).flags ?? '';
      assert.ok(!/s_down|o_down/.test(flags), `the unfrozen Sentinel flagged the master ${flags}`);
      looks++;
      return Date.now() >= watchUntil;
    },
    { timeoutMs: 6 * DOWN_AFTER_MS, intervalMs: 100, what: '3 × down-after of watching' },
  );
  assert.ok(looks > 20);
  assert.equal(await watcher.masterAddress('g1'), s.master.address);

  s.zk.resume();
  s.sentinels[0]!.resume();
  s.sentinels[1]!.resume();
  await explained(s, host, () =>
    waitFor(async () => (await outcome(app.get('k'))) === 'OK:before', { timeoutMs: 30_000, intervalMs: 50, what: 'reads to work again' }),
  );
  assert.equal(await app.set('k', 'after'), 'OK');
  assert.equal(await app.get('through-fence'), '1');
  assert.deepEqual(await s.master.call('ACL', 'LIST'), aclBefore, 'ACL rules restored exactly');

  const fenced = await waitFor(
    async () => {
      const e = await events(s.collector, host, 'guard.fenced');
      return e.length ? e : undefined;
    },
    { what: 'guard.fenced stored' },
  );
  assert.equal(fenced.length, 1);
  assert.equal(fenced[0]!.tags.instance, s.master.address);
  const unfenced = await waitFor(
    async () => {
      const e = await events(s.collector, host, 'guard.unfenced');
      return e.length ? e : undefined;
    },
    { what: 'guard.unfenced stored' },
  );
  assert.equal(JSON.parse(unfenced[0]!.fields.attrs).how, 'restored');
  assert.match(unfenced[0]!.fields.message, /ZooKeeper and \d Sentinels/);
  assert.ok((await events(s.collector, host, 'guard.zk_unreachable')).length >= 1);
  const after = await waitFor(
    async () => {
      const v = await guardView(s.collector, host);
      return v && !v.instances[0]!.fenced && v.zookeeper.state === 'reachable' ? v : undefined;
    },
    { what: 'API back to serving' },
  );
  assert.equal(after.instances[0]!.phase, 'serving');
  await waitFor(async () => (await firing('InstanceFenced')).length === 0 && (await firing('GuardZooKeeperUnreachable')).length === 0, {
    what: 'the guard alerts resolved',
  });
  // No secret in what the agent logged.
  assert.ok(!JSON.stringify(s.agent.logs()).includes(APP.password));
});

test('ZooKeeper-only outage: frozen, then killed, while the Sentinel majority confirms → nothing fenced, failsafe reported', async (t) => {
  const host = 'guard-zk-only';
  // Also: the static backstop, and a config that believes down-after is longer than the Sentinels run it.
  const s = await guardedSetup(t, {
    hostId: host,
    guard: { backstop: { minReplicasToWrite: 1, minReplicasMaxLag: '10s' } },
    claimedDownAfterMs: DOWN_AFTER_MS + 1000,
  });
  const app = s.app(s.master);
  let writes = 0;
  const failures: string[] = [];
  let stop = false;
  const writer = (async () => {
    while (!stop) {
      const r = await outcome(app.set(`w:${writes}`, 'x'));
      if (r === 'OK:OK') writes++;
      else failures.push(r);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  t.after(() => {
    stop = true;
  });

  s.zk.pause();
  const degraded = await waitFor(
    async () => {
      const v = await guardView(s.collector, host);
      return v?.zookeeper.state === 'unreachable' && v.instances[0]?.phase === 'failsafe' ? v : undefined;
    },
    { timeoutMs: 20_000, what: 'the failsafe state' },
  );
  assert.equal(degraded.sentinels.answeredLastRound, 3);
  assert.equal(degraded.instances[0]!.fenced, false);
  const ev = await waitFor(
    async () => {
      const e = await events(s.collector, host, 'guard.failsafe');
      return e.length ? e : undefined;
    },
    { what: 'guard.failsafe event' },
  );
  assert.match(ev[0]!.fields.message, /3\/3 Sentinels confirm/);

  // Many more loops with ZooKeeper frozen, then dead: still serving.
  const loops0 = degraded.loops;
  await waitFor(async () => ((await guardView(s.collector, host))?.loops ?? 0) >= loops0 + 12, {
    timeoutMs: 20_000,
    what: '12 more guard loops',
  });
  await s.zk.kill();
  const loops1 = (await guardView(s.collector, host))!.loops;
  await waitFor(async () => ((await guardView(s.collector, host))?.loops ?? 0) >= loops1 + 12, {
    timeoutMs: 20_000,
    what: '12 loops with ZooKeeper dead',
  });
  const last = (await guardView(s.collector, host))!;
  assert.equal(last.instances[0]!.phase, 'failsafe');
  assert.equal(last.instances[0]!.fenced, false);
  stop = true;
  await writer;
  assert.deepEqual(failures, [], 'no write was refused');
  assert.deepEqual(await s.master.call('CONFIG', 'GET', 'min-replicas-to-write'), ['min-replicas-to-write', '1']);
  assert.deepEqual(await s.master.call('CONFIG', 'GET', 'min-replicas-max-lag'), ['min-replicas-max-lag', '10']);
  const violation = await waitFor(
    async () => {
      const e = await events(s.collector, host, 'guard.budget_violation');
      return e.length ? e : undefined;
    },
    { what: 'guard.budget_violation' },
  );
  assert.match(
    violation[0]!.fields.message,
    new RegExp(`down-after-milliseconds ${DOWN_AFTER_MS}, below guard.sentinels.downAfter \\(${DOWN_AFTER_MS + 1000}\\)`),
  );
  assert.ok(writes > 50, `the writer made ${writes} writes`);
  assert.equal((await events(s.collector, host, 'guard.fenced')).length, 0);
});

test('agent SIGKILL while fenced: the fence holds; the restarted agent reconciles and restores', async (t) => {
  const host = 'guard-agent-kill';
  const s = await guardedSetup(t, { hostId: host, sentinelName: true });
  const app = s.app(s.master);
  await app.set('k', 'v');
  const aclBefore = await s.master.call('ACL', 'LIST');
  s.zk.pause();
  s.sentinels[0]!.pause();
  s.sentinels[1]!.pause();
  await waitNoperm(app, 'fenced');
  const v1 = await waitFor(
    async () => {
      const v = await guardView(s.collector, host);
      return v?.instances[0]?.phase === 'fenced' ? v : undefined;
    },
    { what: 'fence in the API' },
  );

  await s.agent.kill('SIGKILL');
  // Fail closed: nothing lifts the fence while no agent runs. A new connection is refused too.
  const fresh = s.app(s.master);
  assert.match(await outcome(fresh.get('k')), /^NOPERM/);
  assert.match(await outcome(app.set('k', 'x')), /^NOPERM/);

  await s.agent.start();
  await s.agent.waitForLog('guard: found a fence from a previous run; re-evaluating');
  // Still partitioned: the new run keeps the fence it found (same fenced-since).
  await waitFor(
    async () => {
      const v = await guardView(s.collector, host);
      return v && v.loops > 3 && v.zookeeper.state === 'unreachable' ? v : undefined;
    },
    { timeoutMs: 20_000, what: 'the restarted guard to see ZooKeeper unreachable' },
  );
  const v2 = (await guardView(s.collector, host))!;
  assert.equal(v2.instances[0]!.fenced, true);
  assert.equal(v2.instances[0]!.fence!.since, v1.instances[0]!.fence!.since);
  assert.match(await outcome(fresh.get('k')), /^NOPERM/);

  s.zk.resume();
  s.sentinels[0]!.resume();
  s.sentinels[1]!.resume();
  await waitFor(async () => (await outcome(app.get('k'))) === 'OK:v', {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: 'restored after the heal',
  });
  assert.deepEqual(await s.master.call('ACL', 'LIST'), aclBefore);
  assert.equal((await events(s.collector, host, 'guard.fenced')).length, 1, 'the restarted agent did not fence a second time');
});

test('replaced master: fenced, the Sentinels fail over, on heal it becomes a replica of the new master and only then is unfenced; never two writable masters', async (t) => {
  const host = 'guard-replaced';
  const s = await guardedSetup(t, { hostId: host, relays: true, sentinelName: true });
  const oldApp = s.app(s.master);
  const newApp = s.app(s.replica);
  await oldApp.set('k', 'v');
  const samples = { both: 0, oldWritable: 0, newWritable: 0, rounds: 0 };
  const bothAt: number[] = [];
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      const [a, b] = await Promise.all([outcome(oldApp.set('sample', '1')), outcome(newApp.set('sample', '1'))]);
      samples.rounds++;
      if (a === 'OK:OK') samples.oldWritable++;
      if (b === 'OK:OK') samples.newWritable++;
      if (a === 'OK:OK' && b === 'OK:OK') {
        samples.both++;
        bothAt.push(Date.now());
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  t.after(() => {
    stop = true;
  });
  await waitFor(() => samples.oldWritable > 3, { what: 'samples of the old master writable' });

  for (const r of s.relays) r.cut();
  await waitNoperm(oldApp, 'the old master fenced');

  // The Sentinels see the master down (frozen) and promote the replica.
  s.master.pause();
  await waitFor(async () => (await s.sentinels[0]!.masterAddress('g1')) === s.replica.address, {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'the failover to the replica',
  });
  await waitFor(() => samples.newWritable > 3, { what: 'the new master taking writes' });
  await setGroupZnode(s.zk, [s.replica.address, s.master.address]); // what codis-dashboard does after +switch-master
  s.master.resume();
  for (const r of s.relays) r.heal();

  const unfenced = await explained(s, host, () =>
    waitFor(
      async () => {
        const e = await events(s.collector, host, 'guard.unfenced');
        return e.length ? e : undefined;
      },
      { timeoutMs: 40_000, what: 'guard.unfenced' },
    ),
  );
  const attrs = JSON.parse(unfenced[0]!.fields.attrs) as Record<string, string>;
  assert.equal(attrs.how, 'demoted');
  assert.equal(attrs.master, s.replica.address);
  const role = await s.master.info('replication');
  assert.equal(role.role, 'slave');
  assert.equal(role.master_port, String(s.replica.port));
  // Unfenced as a replica: reads work, writes are READONLY.
  assert.equal(await outcome(oldApp.get('k')), 'OK:v');
  assert.match(await outcome(oldApp.set('k', 'x')), /^READONLY/);
  // The Sentinel watch forwarded the failover (published during the cut, delivered on the heal).
  const switched = await waitFor(
    async () => {
      const e = await events(s.collector, host, 'sentinel.+switch-master');
      return e.length ? e : undefined;
    },
    { what: 'sentinel.+switch-master stored' },
  );
  assert.equal(switched.length, 1, 'reported once, not once per Sentinel');
  assert.equal(switched[0]!.tags.instance, s.replica.address);
  assert.equal(JSON.parse(switched[0]!.fields.attrs).old, s.master.address);
  assert.ok((await events(s.collector, host, 'sentinel.+odown')).length >= 1);
  assert.ok(
    (await events(s.collector, host, 'guard.demoted')).length + (await events(s.collector, host, 'sentinel.+convert-to-slave')).length >= 1,
  );
  const rounds0 = samples.rounds;
  await waitFor(() => samples.rounds >= rounds0 + 10, { what: 'more samples after the unfence' });
  stop = true;
  await sampler;
  t.diagnostic(
    `sampler: ${samples.rounds} rounds, old writable ${samples.oldWritable}, new writable ${samples.newWritable}, both ${samples.both}`,
  );
  assert.equal(samples.both, 0, `two writable masters at ${bothAt.map((x) => new Date(x).toISOString()).join(', ')}`);
});

test('Redis restarted while partitioned: fenced again within a guard loop or two (measured)', async (t) => {
  const host = 'guard-redis-restart';
  const s = await guardedSetup(t, { hostId: host, sentinelName: true });
  const app = s.app(s.master);
  await app.set('k', 'v');
  s.zk.pause();
  s.sentinels[0]!.pause();
  s.sentinels[1]!.pause();
  await waitNoperm(app, 'fenced');

  await s.master.restart({ save: true });
  const upAt = Date.now();
  // The restarted Redis loaded its aclfile: open until the guard notices. Measure how long.
  let served = 0;
  await waitFor(
    async () => {
      const r = await outcome(app.get('k'));
      if (r === 'OK:v') served++;
      return r.startsWith('NOPERM');
    },
    { timeoutMs: 15_000, intervalMs: 10, what: 'the restarted master fenced again' },
  );
  const openMs = Date.now() - upAt;
  t.diagnostic(`restarted master served ${served} app reads during ${openMs} ms before the re-fence (guard loop 250 ms)`);
  assert.ok(openMs < DOWN_AFTER_MS, `re-fenced after ${openMs} ms`);
  const refenced = await waitFor(
    async () => {
      const e = (await events(s.collector, host, 'guard.fenced')).filter((x) => JSON.parse(x.fields.attrs).refence === '1');
      return e.length ? e : undefined;
    },
    { what: 'the refence event' },
  );
  assert.match(refenced[0]!.fields.message, /can read or write again/);

  s.zk.resume();
  s.sentinels[0]!.resume();
  s.sentinels[1]!.resume();
  await waitFor(async () => (await outcome(app.get('k'))) === 'OK:v', {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: 'restored after the heal',
  }).catch(async (err: Error) => {
    // What the guard waits for (the collector's guard view) makes a failure here say why.
    throw new Error(`${err.message}; the guard: ${JSON.stringify(await guardView(s.collector, host))}`);
  });
});

test('an impossible timing budget is refused at load with exit 78 naming the key', async (t) => {
  const { harness } = await import('./harness/index.js');
  const h = await harness(t);
  const dir = await h.tempDir('guard-budget');
  const base = {
    collector: { addresses: ['127.0.0.1:1'], tokenEnv: 'RF_TOKEN' },
    redis: [{ address: '127.0.0.1:6399' }],
    guard: {
      enabled: true,
      stateDir: dir,
      zookeeper: { servers: '127.0.0.1:2181', probeInterval: '1s', probeTimeout: '2s', failures: 3 },
      sentinels: { addresses: ['127.0.0.1:26379'], downAfter: '5s' },
    },
  };
  const r = await h.runToExit('agent', base, { env: { ...process.env, RF_TOKEN: 't' } });
  assert.equal(r.code, 78, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /guard\.sentinels\.downAfter.*timing budget cannot fence before a failover.*= 9500 ms.*below downAfter \(5000 ms\) − margin \(2000 ms\) = 3000 ms/,
  );
});
