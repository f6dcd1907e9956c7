// Spreading across idcs and group anti-affinity, on 3 idcs of synthetic hosts over real gRPC streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from './harness/index.js';
import { place, rid, startHosts, type HostSpec } from './placement-support.js';

const IDCS = ['sz-a', 'sz-b', 'sz-c'];

function idcHosts(perIdc: number, o: Partial<HostSpec> = {}): HostSpec[] {
  return IDCS.flatMap((idc) =>
    Array.from({ length: perIdc }, (_, i) => ({
      hostId: `${idc}-${i}`,
      labels: { env: 'prod', city: 'sz', idc },
      ...o,
    })),
  );
}

const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());

test('spreadBy idc balances members across idcs; antiAffinity group keeps a group off one host', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  // sz-a hosts have the most free memory, so a spreading profile alone would put everything there.
  await startHosts(h, collector, [
    ...idcHosts(4, { instanceSlots: 16, runningInstances: 0 }).map((s) =>
      s.labels!.idc === 'sz-a' ? { ...s, maxmemoryReservedBytes: 0 } : s,
    ),
    { hostId: 'gz-0', labels: { env: 'prod', city: 'gz', idc: 'gz-a' } },
  ]);

  // The example request.
  const example = await place(collector, {
    requestId: 'onboard-4711',
    role: 'redis',
    count: 6,
    memoryMb: 4096,
    labels: { env: 'prod', city: 'sz' },
    spreadBy: 'idc',
    antiAffinity: 'group',
    strategy: 'min-memory',
  });
  assert.equal(example.status, 200, JSON.stringify(example.body));
  const members = example.body.members as { host: string; labels: { idc: string } }[];
  assert.equal(new Set(members.map((m) => m.host)).size, 6, 'one group: six distinct hosts');
  assert.deepEqual([...count(members.map((m) => m.labels.idc)).values()], [2, 2, 2]);
  assert.equal(example.body.candidates.rejected['label mismatch'], 1, 'gz-0 is in another city');

  // 30 members in groups of 2 (master + replica): 10 per idc, the two of a group never on one host.
  const groups = await place(collector, {
    requestId: rid(),
    role: 'redis',
    count: 30,
    memoryMb: 1024,
    labels: { city: 'sz' },
    spreadBy: 'idc',
    antiAffinity: 'group',
    groupSize: 2,
  });
  assert.equal(groups.status, 200, JSON.stringify(groups.body));
  const gm = groups.body.members as { group: number; host: string; labels: { idc: string } }[];
  assert.deepEqual([...count(gm.map((m) => m.labels.idc)).values()], [10, 10, 10]);
  for (let g = 0; g < 15; g++) {
    const hosts = gm.filter((m) => m.group === g).map((m) => m.host);
    assert.equal(hosts.length, 2);
    assert.notEqual(hosts[0], hosts[1], `group ${g} on two hosts`);
  }
  // The two members of a group are in different idcs (a group takes an idc it is not in yet first).
  for (let g = 0; g < 15; g++) {
    const idcs = gm.filter((m) => m.group === g).map((m) => m.labels.idc);
    assert.notEqual(idcs[0], idcs[1], `group ${g} in two idcs`);
  }

  // Without spreadBy a max-memory placement piles onto the emptiest idc.
  const piled = await place(collector, {
    requestId: rid(),
    role: 'redis',
    count: 4,
    memoryMb: 1024,
    labels: { city: 'sz' },
    strategy: 'max-memory',
  });
  assert.deepEqual([...count((piled.body.members as { labels: { idc: string } }[]).map((m) => m.labels.idc)).keys()], ['sz-a']);
});

test('anti-affinity that cannot be met is explained', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  await startHosts(h, collector, idcHosts(1));
  const r = await place(collector, { requestId: rid(), role: 'redis', count: 4, memoryMb: 1024, spreadBy: 'idc', antiAffinity: 'group' });
  assert.equal(r.status, 409);
  assert.equal(r.body.message, '0/3 hosts for member 4 of 4: 3 already holds a member of the group');
  assert.equal(r.body.placed, 3);
  // Nothing was reserved by the failed attempt.
  const cap = await collector.api('/api/v1/capacity');
  assert.equal(cap.totals.all.heldMemoryBytes, 0);
});
