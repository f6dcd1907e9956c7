// The placement API's contract on a real collector: 400s that name the field, idempotent replay,
// concurrent placements without double allocation, reservations that expire or are confirmed and
// released, and the placement config keys (exit 78 naming the key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { harness, waitFor } from './harness/index.js';
import { GB, hostsOf, place, placementAction, rid, startHosts } from './placement-support.js';

test('bad requests get a 400 naming the field', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  await startHosts(h, collector, [{ hostId: 'a' }]);
  const ok = { requestId: 'r-1', role: 'redis', count: 1, memoryMb: 1024 };
  const { requestId: _drop, ...noId } = ok;
  const { role: _role, ...noRole } = ok;
  const cases: Array<[Record<string, unknown>, string]> = [
    [noId, 'body/requestId is required'],
    [noRole, 'body/role is required'],
    [{ ...ok, count: 0 }, 'body/count must be >= 1'],
    [{ ...ok, count: 'six' }, 'body/count must be integer'],
    [{ ...ok, memoryMb: -5 }, 'body/memoryMb must be >= 1'],
    [{ ...ok, role: 'mysql' }, 'body/role must be one of redis, proxy, dashboard'],
    [{ ...ok, labels: { env: '' } }, 'body/labels/env must NOT have fewer than 1 characters'],
    [{ ...ok, colour: 'red' }, 'body/colour is not a known field'],
    [{ ...ok, antiAffinity: 'rack' }, 'body/antiAffinity must be one of none, group'],
    [{ ...ok, requestId: 'has space' }, 'body/requestId must match pattern'],
    [{ ...ok, strategy: 'fastest' }, 'body/strategy: unknown strategy "fastest"'],
    [{ ...ok, labels: { idc: 'sz-a' }, spreadBy: 'idc' }, 'body/spreadBy: idc is pinned by body/labels/idc'],
  ];
  for (const [body, message] of cases) {
    const r = await place(collector, body);
    assert.equal(r.status, 400, `${message}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'invalid request');
    assert.ok(String(r.body.message).startsWith(message), `expected "${message}…", got "${r.body.message}"`);
  }
  const badJson = await collector.request('/api/v1/placements', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"requestId":',
  });
  assert.equal(badJson.status, 400);
  const q = await collector.request('/api/v1/capacity?colour=red');
  assert.equal(q.status, 400);
  assert.match((q.body as { message: string }).message, /^querystring\/colour is not a known field/);
  const fresh = await collector.request('/api/v1/capacity?fresh=maybe');
  assert.match((fresh.body as { message: string }).message, /^querystring\/fresh must be boolean/);
  assert.equal((await collector.request('/api/v1/placements/nope')).status, 404);
  assert.equal((await placementAction(collector, 'nope', 'confirm')).status, 404);
});

test('a replayed requestId returns the same answer; a reused one with another request is refused', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  await startHosts(
    h,
    collector,
    ['a', 'b', 'c', 'd'].map((hostId) => ({ hostId })),
  );
  const body = { requestId: 'onboard-1', role: 'redis', count: 2, memoryMb: 2048, labels: { env: 'prod', city: 'sz' }, strategy: 'random' };
  const first = await place(collector, body);
  assert.equal(first.status, 200);
  assert.equal(first.replay, false);
  assert.equal(first.body.state, 'reserved');
  // Same content, labels in another order: the same answer even though "random" would pick anew.
  const again = await place(collector, { ...body, labels: { city: 'sz', env: 'prod' } });
  assert.equal(again.status, 200);
  assert.equal(again.replay, true);
  assert.deepEqual(again.body, first.body);
  const cap = await collector.api('/api/v1/capacity');
  assert.equal(cap.totals.all.heldMemoryBytes, 2 * 2 * GB, 'held once, not twice');

  const other = await place(collector, { ...body, count: 3 });
  assert.equal(other.status, 409);
  assert.equal(other.body.error, 'requestId conflict');

  // Concurrent replays of one new requestId: one reservation, one answer.
  const burst = await Promise.all(Array.from({ length: 10 }, () => place(collector, { ...body, requestId: 'onboard-2' })));
  assert.ok(burst.every((r) => r.status === 200));
  assert.equal(new Set(burst.map((r) => JSON.stringify(r.body))).size, 1);
  assert.equal(burst.filter((r) => !r.replay).length, 1);
  assert.equal((await collector.api('/api/v1/capacity')).totals.all.heldMemoryBytes, 4 * 2 * GB);

  const released = await placementAction(collector, 'onboard-1', 'release');
  assert.equal(released.body.state, 'released');
  const afterRelease = await place(collector, body);
  assert.equal(afterRelease.replay, true);
  assert.deepEqual(afterRelease.body.members, first.body.members);
  assert.equal(afterRelease.body.state, 'released');
});

test('concurrent placements never share a slot or an idle instance, nor overcommit memory', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  await startHosts(h, collector, [
    // 30 free slots, one per host.
    ...Array.from({ length: 30 }, (_, i) => ({ hostId: `slot-${i}`, labels: { module: 'slots' }, instanceSlots: 1, runningInstances: 0 })),
    // 10 idle instances, two per host, no free slot.
    ...Array.from({ length: 5 }, (_, i) => ({
      hostId: `idle-${i}`,
      labels: { module: 'slots' },
      instanceSlots: 2,
      runningInstances: 2,
      idle: [
        { address: `10.1.0.${i}:6379`, maxmemoryBytes: 4 * GB },
        { address: `10.1.0.${i}:6380`, maxmemoryBytes: 4 * GB },
      ],
    })),
    // Memory-bound: 85 % of 64 GB is 54.4 GB, so 13 members of 4 GB fit and the 14th does not.
    {
      hostId: 'big',
      labels: { module: 'memory' },
      instanceSlots: 100,
      runningInstances: 0,
      maxmemoryReservedBytes: 0,
      memAvailableBytes: 60 * GB,
    },
  ]);
  const requests = Array.from({ length: 60 }, () =>
    place(collector, { requestId: rid('c'), role: 'redis', count: 1, memoryMb: 1024, labels: { module: 'slots' } }),
  );
  const results = await Promise.all(requests);
  const won = results.filter((r) => r.status === 200);
  assert.equal(won.length, 40, 'exactly the 30 slots and 10 idle instances');
  assert.ok(results.filter((r) => r.status !== 200).every((r) => r.status === 409 && r.body.error === 'unschedulable'));
  const slotHosts = won
    .flatMap((r) => r.body.members)
    .filter((m: { newSlot: boolean }) => m.newSlot)
    .map((m: { host: string }) => m.host);
  assert.equal(slotHosts.length, 30);
  assert.equal(new Set(slotHosts).size, 30, 'no slot handed out twice');
  const idle = won
    .flatMap((r) => r.body.members)
    .filter((m: { idleInstance: string | null }) => m.idleInstance)
    .map((m: { host: string; idleInstance: string }) => `${m.host}/${m.idleInstance}`);
  assert.equal(idle.length, 10);
  assert.equal(new Set(idle).size, 10, 'no idle instance handed out twice');

  const memory = await Promise.all(
    Array.from({ length: 20 }, () =>
      place(collector, { requestId: rid('m'), role: 'redis', count: 1, memoryMb: 4096, labels: { module: 'memory' } }),
    ),
  );
  assert.equal(memory.filter((r) => r.status === 200).length, 13);
  const refused = memory.find((r) => r.status === 409)!;
  assert.equal(refused.body.message.replace(/^0\/\d+ hosts: /, ''), '35 label mismatch, 1 insufficient memory');
});

test('reservations expire unless confirmed; confirmed ones hold until released', async (t) => {
  const h = await harness(t);
  const collector = await h.collector({ placement: { reservationTtl: '1500ms', confirmedHold: '10m' } });
  await startHosts(h, collector, [
    { hostId: 'x', instanceSlots: 1, runningInstances: 0 },
    { hostId: 'y', instanceSlots: 1, runningInstances: 0 },
  ]);
  const a = await place(collector, { requestId: 'a', role: 'redis', count: 1, memoryMb: 1024 });
  const b = await place(collector, { requestId: 'b', role: 'redis', count: 1, memoryMb: 1024 });
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const full = await place(collector, { requestId: rid(), role: 'redis', count: 1, memoryMb: 1024 });
  assert.equal(full.body.message, '0/2 hosts: 2 no free instance slot');
  const confirmed = await placementAction(collector, 'a', 'confirm');
  assert.equal(confirmed.body.state, 'confirmed');
  assert.equal((await collector.api('/api/v1/placements')).placements.length, 2);

  // b was never confirmed: it expires and gives its host back; a keeps holding.
  await waitFor(async () => (await collector.api('/api/v1/placements/b')).state === 'expired', { what: 'b expired' });
  const bNow = await collector.api('/api/v1/placements/b');
  assert.equal(bNow.holding, false);
  const aNow = await collector.api('/api/v1/placements/a');
  assert.deepEqual([aNow.state, aNow.holding], ['confirmed', true]);
  assert.deepEqual(
    (await collector.api('/api/v1/placements')).placements.map((p: { requestId: string }) => p.requestId),
    ['a'],
  );
  assert.equal((await placementAction(collector, 'b', 'confirm')).status, 409, 'an expired reservation cannot be confirmed');

  const c = await place(collector, { requestId: 'c', role: 'redis', count: 1, memoryMb: 1024 });
  assert.deepEqual(hostsOf(c), hostsOf(b), "the expired hold's host is free again");
  assert.equal((await place(collector, { requestId: rid(), role: 'redis', count: 1, memoryMb: 1024 })).status, 409);
  assert.equal((await placementAction(collector, 'a', 'release')).body.state, 'released');
  const d = await place(collector, { requestId: 'd', role: 'redis', count: 1, memoryMb: 1024 });
  assert.deepEqual(hostsOf(d), hostsOf(a));
});

test('holds and idempotent answers survive a collector restart', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  await startHosts(h, collector, [{ hostId: 'only', instanceSlots: 2, runningInstances: 0 }]);
  const kept = await place(collector, { requestId: 'kept', role: 'redis', count: 1, memoryMb: 1024 });
  const confirmed = await place(collector, { requestId: 'confirmed', role: 'redis', count: 1, memoryMb: 1024 });
  assert.equal(confirmed.status, 200);
  assert.equal((await placementAction(collector, 'confirmed', 'confirm')).body.state, 'confirmed');
  const third = await place(collector, { requestId: rid(), role: 'redis', count: 1, memoryMb: 512 });
  assert.equal(third.status, 409, 'both slots are held');

  await collector.restart();
  // The host's last report (60 s interval) is still fresh after the restart: it is in the table.
  const replay = await place(collector, { requestId: 'kept', role: 'redis', count: 1, memoryMb: 1024 });
  assert.equal(replay.replay, true);
  assert.deepEqual(replay.body, kept.body);
  assert.equal((await collector.api('/api/v1/placements/confirmed')).state, 'confirmed');
  assert.deepEqual((await collector.api('/api/v1/placements')).placements.map((p: { requestId: string }) => p.requestId).sort(), [
    'confirmed',
    'kept',
  ]);
  const cap = (await collector.api('/api/v1/capacity?host=only')).hosts[0];
  assert.deepEqual([cap.fresh, cap.instances.heldSlots, cap.memory.heldBytes], [true, 2, 2 * GB]);
  const full = await place(collector, { requestId: rid(), role: 'redis', count: 1, memoryMb: 1024 });
  assert.equal(full.body.message, '0/1 hosts: 1 no free instance slot');
  assert.equal((await placementAction(collector, 'kept', 'release')).body.state, 'released');
  assert.equal((await place(collector, { requestId: rid(), role: 'redis', count: 1, memoryMb: 1024 })).status, 200);
});

test('bad placement config exits 78 with one line naming the key', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('placement-cfg');
  const tokens = path.join(dir, 'tokens');
  await fs.writeFile(tokens, 'tok\n');
  const base = (placement: unknown) => ({
    grpc: { tokenFile: tokens, listen: '127.0.0.1:0' },
    http: { listen: '127.0.0.1:0' },
    store: { path: path.join(dir, 'c.db') },
    placement,
  });
  const cases: Array<[unknown, RegExp]> = [
    [{ thresholds: { redis: { memory: 1.5 } } }, /^placement\.thresholds\.redis\.memory: must be <= 1$/],
    [{ thresholds: { mysql: { cpu: 50 } } }, /^placement\.thresholds\.mysql: unknown key$/],
    [{ reservationTtl: 'soon' }, /^placement\.reservationTtl: must be a duration/],
    [
      { profiles: { fast: { scores: { fastest: 1 } } } },
      /^placement\.profiles\.fast\.scores\.fastest: unknown score plugin \(known: min-memory, max-memory, min-CPU, random\)$/,
    ],
    [
      { profiles: { fast: { filters: ['Health', 'Zone'], scores: { random: 1 } } } },
      /^placement\.profiles\.fast\.filters\[1\]: unknown filter plugin "Zone"/,
    ],
    [{ profiles: { zero: { scores: { random: 0 } } } }, /^placement\.profiles\.zero\.scores: needs at least one score plugin/],
    [{ defaultStrategy: 'fast' }, /^placement\.defaultStrategy: no profile named "fast"/],
    [{ maxRequests: 0 }, /^placement\.maxRequests: must be >= 1$/],
  ];
  for (const [placement, expected] of cases) {
    const r = await h.runToExit('collector', base(placement));
    assert.equal(r.code, 78, `${expected}: stderr ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!.replace('redis-fleet-collector: config error: ', ''), expected);
  }
});
