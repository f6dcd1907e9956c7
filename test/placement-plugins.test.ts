// Each filter and score plugin of the placement scheduler, through the real collector: synthetic
// hosts speak the agent protocol over gRPC, placements go through POST /api/v1/placements.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitFor } from './harness/index.js';
import { GB, hostsOf, place, placementAction, rid, startHosts, type HostSpec } from './placement-support.js';

async function fleet(t: TestContext, specs: HostSpec[], config: Record<string, unknown> = {}) {
  const h = await harness(t);
  const collector = await h.collector(config);
  const hosts = await startHosts(h, collector, specs);
  return { h, collector, hosts };
}

const redis = (o: Record<string, unknown> = {}) => ({ requestId: rid(), role: 'redis', count: 1, memoryMb: 1024, ...o });

test('Health: a host whose reports went stale is not a candidate', async (t) => {
  const { collector } = await fleet(t, [{ hostId: 'fresh' }, { hostId: 'stale', intervalMs: 200 }]);
  // "stale" reported once with a 200 ms interval: after 3 intervals of silence it is unhealthy.
  await waitFor(async () => (await collector.api('/api/v1/capacity?host=stale')).hosts[0]?.fresh === false, {
    what: 'stale host not fresh',
  });
  const one = await place(collector, redis());
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.deepEqual(hostsOf(one), ['fresh']);
  const two = await place(collector, redis({ count: 2, antiAffinity: 'group' }));
  assert.equal(two.status, 409);
  assert.equal(two.body.error, 'unschedulable');
  assert.equal(two.body.message, '0/2 hosts for member 2 of 2: 1 already holds a member of the group, 1 unhealthy');
  assert.equal(two.body.placed, 1);
});

test('Role: only hosts with the requested role', async (t) => {
  const { collector } = await fleet(t, [
    { hostId: 'p', roles: ['proxy'] },
    { hostId: 'r', roles: ['redis'] },
    { hostId: 'pr', roles: ['redis', 'proxy'] },
  ]);
  const proxies = await place(collector, { requestId: rid(), role: 'proxy', count: 2, memoryMb: 256, antiAffinity: 'group' });
  assert.equal(proxies.status, 200, JSON.stringify(proxies.body));
  assert.deepEqual(hostsOf(proxies).sort(), ['p', 'pr']);
  assert.ok(
    proxies.body.members.every((m: { newSlot: boolean }) => !m.newSlot),
    'proxies take no instance slot',
  );
  const dash = await place(collector, { requestId: rid(), role: 'dashboard', count: 1, memoryMb: 256 });
  assert.equal(dash.status, 409);
  assert.equal(dash.body.message, '0/3 hosts: 3 not a dashboard node');
});

test('Label: every requested label must match; spreadBy needs the label', async (t) => {
  const { collector } = await fleet(t, [
    { hostId: 'sz-a-cluster', labels: { env: 'prod', city: 'sz', idc: 'sz-a', module: 'm1', storage: 'cluster' } },
    { hostId: 'sz-b-standalone', labels: { env: 'prod', city: 'sz', idc: 'sz-b', module: 'm1', storage: 'standalone' } },
    { hostId: 'sz-test', labels: { env: 'test', city: 'sz', idc: 'sz-a', module: 'm1', storage: 'cluster' } },
    { hostId: 'gz', labels: { env: 'prod', city: 'gz', idc: 'gz-a', module: 'm2', storage: 'cluster' } },
  ]);
  const r = await place(collector, redis({ count: 1, labels: { env: 'prod', city: 'sz', storage: 'cluster' } }));
  assert.equal(r.status, 200);
  assert.deepEqual(hostsOf(r), ['sz-a-cluster']);
  assert.deepEqual(r.body.candidates, { hosts: 4, feasible: 1, rejected: { 'label mismatch': 3 } });
  assert.deepEqual(r.body.members[0].labels, { env: 'prod', city: 'sz', idc: 'sz-a', module: 'm1', storage: 'cluster' });

  const none = await place(collector, redis({ labels: { env: 'staging' } }));
  assert.equal(none.body.message, '0/4 hosts: 4 label mismatch');
  const noKey = await place(collector, redis({ spreadBy: 'rack' }));
  assert.equal(noKey.body.message, '0/4 hosts: 4 no rack label');
});

test('Instance: a free slot or an idle instance that fits; idle instances are handed out once', async (t) => {
  const { collector } = await fleet(t, [
    { hostId: 'full', instanceSlots: 2, runningInstances: 2 },
    { hostId: 'idle-8g', instanceSlots: 2, runningInstances: 2, idle: [{ address: '10.0.0.1:6379', maxmemoryBytes: 8 * GB }] },
    { hostId: 'idle-too-small', instanceSlots: 1, runningInstances: 1, idle: [{ address: '10.0.0.2:6379', maxmemoryBytes: 1 * GB }] },
    { hostId: 'three-free', instanceSlots: 4, runningInstances: 1 },
  ]);
  const five = await place(collector, redis({ count: 5, memoryMb: 4096 }));
  assert.equal(five.status, 409);
  assert.equal(five.body.message, '0/4 hosts for member 5 of 5: 4 no free instance slot');

  const four = await place(collector, redis({ count: 4, memoryMb: 4096 }));
  assert.equal(four.status, 200, JSON.stringify(four.body));
  const members = four.body.members as { host: string; idleInstance: string | null; newSlot: boolean; reservedMemoryMb: number }[];
  const idle = members.filter((m) => m.idleInstance !== null);
  assert.deepEqual(
    idle.map((m) => [m.host, m.idleInstance, m.newSlot, m.reservedMemoryMb]),
    [['idle-8g', '10.0.0.1:6379', false, 0]],
    'the 8 GB idle instance covers a 4 GB request: no new memory reserved',
  );
  assert.deepEqual(
    members.filter((m) => m.newSlot).map((m) => m.host),
    ['three-free', 'three-free', 'three-free'],
  );

  // Held: the idle instance and three slots are taken until released.
  const cap = await collector.api('/api/v1/capacity');
  const byId = new Map(cap.hosts.map((x: { id: string }) => [x.id, x]));
  assert.equal((byId.get('idle-8g') as any).instances.idleInstances[0].held, true);
  assert.equal((byId.get('three-free') as any).instances.heldSlots, 3);
  assert.equal((byId.get('three-free') as any).memory.heldBytes, 3 * 4 * GB);
  const again = await place(collector, redis({ memoryMb: 4096 }));
  assert.equal(again.body.message, '0/4 hosts: 4 no free instance slot');
  assert.equal((await placementAction(collector, four.body.requestId, 'release')).body.state, 'released');
  assert.equal((await place(collector, redis({ memoryMb: 4096 }))).status, 200);
});

test('Capacity: memory, CPU and disk thresholds, configurable per role', async (t) => {
  const both = ['redis', 'proxy'];
  const { collector } = await fleet(
    t,
    [
      // 8 of 10 GB reserved by maxmemory: +1 GB is 90 %, over redis's 85 % but under proxy's 95 %.
      { hostId: 'reserved', roles: both, memTotalBytes: 10 * GB, maxmemoryReservedBytes: 8 * GB, memAvailableBytes: 9 * GB },
      { hostId: 'no-available', roles: both, maxmemoryReservedBytes: 0, memAvailableBytes: 0.5 * GB },
      { hostId: 'busy', roles: both, cpuPercent: 95 },
      { hostId: 'disk', roles: both, diskTotalBytes: 100 * GB, diskFreeBytes: 5 * GB },
      { hostId: 'ok', roles: both },
    ],
    { placement: { thresholds: { proxy: { memory: 0.95, cpu: 99 } } } },
  );
  const r = await place(collector, redis({ count: 2, antiAffinity: 'group' }));
  assert.equal(r.status, 409);
  assert.deepEqual(r.body.candidates.rejected, {
    'insufficient memory': 2,
    'already holds a member of the group': 1,
    'CPU busy': 1,
    'disk full': 1,
  });
  assert.equal(
    r.body.message,
    '0/5 hosts for member 2 of 2: 2 insufficient memory, 1 already holds a member of the group, 1 CPU busy, 1 disk full',
  );

  const proxies = await place(collector, { requestId: rid(), role: 'proxy', count: 3, memoryMb: 1024, antiAffinity: 'group' });
  assert.equal(proxies.status, 200, JSON.stringify(proxies.body));
  assert.deepEqual(hostsOf(proxies).sort(), ['busy', 'ok', 'reserved']);
  assert.deepEqual(proxies.body.candidates.rejected, { 'disk full': 1, 'insufficient memory': 1 });
});

const scoreHosts: HostSpec[] = [
  { hostId: 'f16', labels: { module: 'score' }, maxmemoryReservedBytes: 48 * GB, cpuPercent: 10 },
  { hostId: 'f32', labels: { module: 'score' }, maxmemoryReservedBytes: 32 * GB, cpuPercent: 40 },
  { hostId: 'f64', labels: { module: 'score' }, maxmemoryReservedBytes: 0, cpuPercent: 70 },
  ...['t1', 't2', 't3', 't4'].map((hostId) => ({ hostId, labels: { module: 'tie' } })),
];

test('Score plugins: min-memory, max-memory, min-CPU normalised to 0..100; profiles combine them by weight', async (t) => {
  const { collector } = await fleet(t, scoreHosts, {
    placement: { profiles: { 'memory-heavy': { scores: { 'max-memory': 3, 'min-CPU': 1 } } } },
  });
  const best = async (strategy: string) => {
    const r = await place(collector, redis({ labels: { module: 'score' }, strategy }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await placementAction(collector, r.body.requestId, 'release');
    return r.body;
  };
  // Free memory after placing 1 GB: f16 15 GB, f32 31 GB, f64 63 GB (max 63). CPU 10, 40, 70 % (max 70).
  const minMem = await best('min-memory');
  assert.equal(minMem.members[0].host, 'f16');
  assert.deepEqual(minMem.members[0].scores, { 'min-memory': 76.19 }); // 100 − 15/63 × 100
  const maxMem = await best('max-memory');
  assert.equal(maxMem.members[0].host, 'f64');
  assert.deepEqual(maxMem.members[0].scores, { 'max-memory': 100 });
  const minCpu = await best('min-CPU');
  assert.equal(minCpu.members[0].host, 'f16');
  assert.deepEqual(minCpu.members[0].scores, { 'min-CPU': 85.71 }); // 100 − 10/70 × 100
  const binPacking = await best('bin-packing');
  assert.equal(binPacking.strategy, 'bin-packing');
  assert.equal(binPacking.members[0].host, 'f16');
  // spreading = max-memory + min-CPU: f16 23.81 + 85.71, f32 49.21 + 42.86, f64 100 + 0.
  const spreading = await best('spreading');
  assert.deepEqual(spreading.weights, { 'max-memory': 1, 'min-CPU': 1 });
  assert.equal(spreading.members[0].host, 'f16');
  assert.equal(spreading.members[0].score, 109.52);
  const heavy = await best('memory-heavy');
  assert.deepEqual(heavy.weights, { 'max-memory': 3, 'min-CPU': 1 });
  assert.equal(heavy.members[0].host, 'f64');
  assert.equal(heavy.members[0].score, 300);
  const byDefault = await best(undefined as unknown as string);
  assert.equal(byDefault.strategy, 'spreading', 'the default strategy');
});

test('random scores and random tie-breaks spread identical choices', async (t) => {
  const { collector } = await fleet(t, scoreHosts);
  const chosen = async (labels: Record<string, string>, strategy: string, n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await place(collector, redis({ labels, strategy }));
      assert.equal(r.status, 200);
      const s = r.body.members[0].scores;
      for (const v of Object.values(s) as number[]) assert.ok(v >= 0 && v <= 100, `score ${v} in 0..100`);
      seen.add(r.body.members[0].host);
      await placementAction(collector, r.body.requestId, 'release');
    }
    return seen;
  };
  // random over f16/f32/f64: 30 draws all on one host has probability 3 × 3^-30.
  assert.ok((await chosen({ module: 'score' }, 'random', 30)).size >= 2);
  // t1..t4 are identical: every score ties, the pick is uniform among them.
  assert.ok((await chosen({ module: 'tie' }, 'bin-packing', 30)).size >= 3);
});
