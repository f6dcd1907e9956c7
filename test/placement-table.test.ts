// The capacity table end to end: two real agents on real Redis and 150 synthetic hosts speaking
// the agent protocol → GET /api/v1/capacity matches what they sent (rows, filters, totals), a
// placement over the real agents uses the idle instance, and a host whose agent stops is no
// longer a candidate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { harness, waitFor } from './harness/index.js';
import { GB, MB, place, placementAction, rid, startHosts, type HostSpec } from './placement-support.js';

const IDCS = [
  ['gz-a', 'gz'],
  ['gz-b', 'gz'],
  ['bj-a', 'bj'],
] as const;

function syntheticSpecs(n: number): HostSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const [idc, city] = IDCS[i % IDCS.length]!;
    return {
      hostId: `syn-${String(i).padStart(3, '0')}`,
      labels: { env: i % 2 ? 'prod' : 'test', city, idc, module: `m${i % 4}`, storage: i % 3 ? 'cluster' : 'standalone' },
      roles: i % 5 === 0 ? ['proxy'] : i % 7 === 0 ? ['redis', 'dashboard'] : ['redis'],
      cpuCores: 8 + (i % 3) * 8,
      cpuPercent: i % 90,
      memTotalBytes: (32 + (i % 4) * 32) * GB,
      memAvailableBytes: (16 + (i % 5)) * GB,
      maxmemoryReservedBytes: (i % 8) * GB,
      diskTotalBytes: 500 * GB,
      diskFreeBytes: (100 + i) * GB,
      instanceSlots: 4 + (i % 5),
      runningInstances: i % 4,
      idle: i % 10 === 0 ? [{ address: `10.9.${i}.1:6379`, maxmemoryBytes: (i % 3) * GB }] : [],
    };
  });
}

interface Row {
  id: string;
  roles: string[];
  labels: Record<string, string>;
  fresh: boolean;
  cpu: { cores: number; usagePercent: number };
  memory: { totalBytes: number; availableBytes: number; maxmemoryReservedBytes: number; heldBytes: number };
  disk: { totalBytes: number; freeBytes: number };
  instances: {
    slots: number;
    running: number;
    idle: number;
    idleInstances: { address: string; maxmemoryBytes: number; held: boolean }[];
    freeSlots: number;
  };
}

test('the capacity table matches what real and synthetic agents sent; a silent host stops being a candidate', async (t) => {
  const h = await harness(t);
  const collector = await h.collector({ placement: { thresholds: { redis: { cpu: 100 } } } });

  // Real agents: real-a runs a Codis-assigned instance and an idle one; real-b one assigned instance.
  const [assigned, idle, other] = await Promise.all([h.redis(), h.redis(), h.redis()]);
  await assigned.call('CONFIG', 'SET', 'maxmemory', String(256 * MB));
  await assigned.call('SET', 'k', 'v');
  await idle.call('CONFIG', 'SET', 'maxmemory', String(512 * MB));
  await other.call('SET', 'k', 'v');
  const labels = (idc: string) => ({ env: 'e2e', city: 'sz', idc, module: 'codis', storage: 'cluster' });
  const agentA = await h.agent(
    {
      hostId: 'real-a',
      interval: '500ms',
      labels: labels('sz-a'),
      instanceSlots: 3,
      redis: [{ address: assigned.address, cluster: 'c1', group: 'g1' }, { address: idle.address }],
    },
    { collector },
  );
  const agentB = await h.agent(
    {
      hostId: 'real-b',
      interval: '500ms',
      labels: labels('sz-b'),
      roles: ['redis', 'proxy'],
      instanceSlots: 2,
      redis: [{ address: other.address, cluster: 'c2', group: 'g1' }],
    },
    { collector },
  );
  const specs = syntheticSpecs(150);
  const synthetic = await startHosts(h, collector, specs);

  const table = await waitFor(
    async () => {
      const c = await collector.api<{ hosts: Row[]; totals: any }>('/api/v1/capacity');
      const a = c.hosts.find((x) => x.id === 'real-a');
      const b = c.hosts.find((x) => x.id === 'real-b');
      return c.hosts.length === 152 && a?.instances.running === 2 && a.instances.idle === 1 && b?.instances.running === 1 ? c : null;
    },
    { timeoutMs: 20_000, what: "152 hosts with the real agents' instances" },
  );
  const rows = new Map(table.hosts.map((r) => [r.id, r]));

  // Synthetic rows are exactly what their reports said.
  for (const s of specs) {
    const r = rows.get(s.hostId)!;
    assert.deepEqual(r.labels, s.labels);
    assert.deepEqual(r.roles, s.roles);
    assert.equal(r.fresh, true);
    assert.deepEqual(r.cpu, { cores: s.cpuCores, usagePercent: s.cpuPercent });
    assert.deepEqual(r.memory, {
      totalBytes: s.memTotalBytes,
      availableBytes: s.memAvailableBytes,
      maxmemoryReservedBytes: s.maxmemoryReservedBytes,
      heldBytes: 0,
      unreservedBytes: s.memTotalBytes! - s.maxmemoryReservedBytes!,
    });
    assert.deepEqual(r.disk, { totalBytes: s.diskTotalBytes, freeBytes: s.diskFreeBytes });
    assert.deepEqual(r.instances, {
      slots: s.instanceSlots,
      running: s.runningInstances,
      idle: s.idle!.length,
      idleInstances: s.idle!.map((i) => ({ ...i, held: false })),
      heldSlots: 0,
      freeSlots: s.instanceSlots! - s.runningInstances!,
    });
  }

  // Real rows: what the agents measured on this machine and on their Redis instances.
  const a = rows.get('real-a')!;
  const b = rows.get('real-b')!;
  const hostA = (await collector.api(`/api/v1/hosts/real-a`)).host;
  assert.deepEqual(a.labels, labels('sz-a'));
  assert.deepEqual(a.roles, ['redis']);
  assert.deepEqual(b.roles, ['redis', 'proxy']);
  assert.equal(a.cpu.cores, os.cpus().length);
  assert.equal(a.memory.totalBytes, os.totalmem());
  assert.equal(a.disk.totalBytes, hostA.diskTotalBytes);
  assert.ok(a.disk.totalBytes > 0);
  assert.equal(a.memory.maxmemoryReservedBytes, 768 * MB, '256 MB + 512 MB of maxmemory');
  assert.deepEqual(a.instances, {
    slots: 3,
    running: 2,
    idle: 1,
    idleInstances: [{ address: idle.address, maxmemoryBytes: 512 * MB, held: false }],
    heldSlots: 0,
    freeSlots: 1,
  });
  assert.deepEqual([b.instances.slots, b.instances.running, b.instances.idle], [2, 1, 0]);

  // Totals per idc / city / env add up the rows.
  for (const by of ['idc', 'city', 'env'] as const) {
    const expected = new Map<
      string,
      { hosts: number; cpuCores: number; memTotalBytes: number; instanceSlots: number; runningInstances: number; idleInstances: number }
    >();
    for (const r of table.hosts) {
      const k = r.labels[by]!;
      const e = expected.get(k) ?? { hosts: 0, cpuCores: 0, memTotalBytes: 0, instanceSlots: 0, runningInstances: 0, idleInstances: 0 };
      e.hosts++;
      e.cpuCores += r.cpu.cores;
      e.memTotalBytes += r.memory.totalBytes;
      e.instanceSlots += r.instances.slots;
      e.runningInstances += r.instances.running;
      e.idleInstances += r.instances.idle;
      expected.set(k, e);
    }
    assert.deepEqual(Object.keys(table.totals[by]).sort(), [...expected.keys()].sort());
    for (const [k, e] of expected) {
      const got = table.totals[by][k];
      assert.deepEqual(
        {
          hosts: got.hosts,
          cpuCores: got.cpuCores,
          memTotalBytes: got.memTotalBytes,
          instanceSlots: got.instanceSlots,
          runningInstances: got.runningInstances,
          idleInstances: got.idleInstances,
        },
        e,
        `${by}=${k}`,
      );
    }
  }
  const gzA = specs.filter((s) => s.labels!.idc === 'gz-a');
  assert.equal(
    table.totals.idc['gz-a'].memTotalBytes,
    gzA.reduce((n, s) => n + s.memTotalBytes!, 0),
  );
  assert.equal(table.totals.all.hosts, 152);

  // Filters.
  const ids = async (q: string) => (await collector.api<{ hosts: Row[] }>(`/api/v1/capacity?${q}`)).hosts.map((r) => r.id);
  assert.deepEqual(
    await ids('idc=gz-a'),
    gzA.map((s) => s.hostId),
  );
  assert.deepEqual(await ids('role=proxy'), ['real-b', ...specs.filter((s) => s.roles!.includes('proxy')).map((s) => s.hostId)]);
  assert.deepEqual(
    await ids('env=prod&city=gz&storage=standalone'),
    specs.filter((s) => s.labels!.env === 'prod' && s.labels!.city === 'gz' && s.labels!.storage === 'standalone').map((s) => s.hostId),
  );
  assert.deepEqual(await ids('host=real-a'), ['real-a']);
  assert.equal((await ids('fresh=false')).length, 0);

  // A new report changes the row.
  await synthetic[1]!.report({ runningInstances: 3, idle: [{ address: '10.9.1.1:6379', maxmemoryBytes: 2 * GB }] });
  const changed = (await collector.api<{ hosts: Row[] }>('/api/v1/capacity?host=syn-001')).hosts[0]!;
  assert.deepEqual([changed.instances.running, changed.instances.idle], [3, 1]);

  // Two members over the real agents, one per idc: real-a's idle instance covers 256 MB.
  const req = { role: 'redis', count: 2, memoryMb: 256, labels: { env: 'e2e' }, spreadBy: 'idc', antiAffinity: 'group' };
  const placed = await place(collector, { requestId: rid(), ...req });
  assert.equal(placed.status, 200, JSON.stringify(placed.body));
  const byHost = new Map(
    (placed.body.members as { host: string; idleInstance: string | null; newSlot: boolean }[]).map((m) => [m.host, m]),
  );
  assert.deepEqual([...byHost.keys()].sort(), ['real-a', 'real-b']);
  assert.deepEqual([byHost.get('real-a')!.idleInstance, byHost.get('real-a')!.newSlot], [idle.address, false]);
  assert.deepEqual([byHost.get('real-b')!.idleInstance, byHost.get('real-b')!.newSlot], [null, true]);
  await placementAction(collector, placed.body.requestId, 'release');

  // real-b's agent stops: after 3 of its intervals it is unhealthy and nothing goes there.
  await agentB.stop();
  await waitFor(async () => (await ids('fresh=false')).includes('real-b'), { what: 'real-b stale' });
  const after = await place(collector, { requestId: rid(), ...req });
  assert.equal(after.status, 409);
  assert.equal(after.body.placed, 1);
  assert.equal(after.body.candidates.rejected.unhealthy, 1);
  assert.equal(after.body.candidates.rejected['already holds a member of the group'], 1);
  assert.match(
    after.body.message,
    /^0\/152 hosts for member 2 of 2: 120 label mismatch, 30 not a redis node, 1 already holds a member of the group, 1 unhealthy$/,
  );
  const one = await place(collector, { requestId: rid(), ...req, count: 1 });
  assert.deepEqual(
    one.body.members.map((m: { host: string }) => m.host),
    ['real-a'],
  );
  assert.ok(agentA.running);
});
