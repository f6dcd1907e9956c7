// Two collectors + PostgreSQL + ZooKeeper + InfluxDB + real agents and Redis. A placement made on
// one collector is seen (and not double-booked) by the other. SIGKILL the leader collector while an
// alert fires: one notification (a real HTTP receiver), not two; its agents are back on the other
// collector within seconds with no gap in their series; the alert resolves through the survivor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendezvousOrder } from '../agent/transport/rendezvous.js';
import { harness, waitFor, type CollectorProcess } from './harness/index.js';
import { receiver } from './alerting-support.js';
import { place } from './placement-support.js';

const INTERVAL_MS = 500;
const SESSION_MS = 2000;

test('HA: leader SIGKILLed during a firing alert → one notification, agents back without a gap, resolved via the other; placements shared', async (t) => {
  const h = await harness(t);
  const [pg, zk, influx, redis1, redis2] = await Promise.all([
    h.postgres(),
    h.zookeeper({ tickTimeMs: 500 }),
    h.influx(),
    h.redis(),
    h.redis(),
  ]);
  const rx = await receiver(t);
  const collectorConfig = (id: string) => ({
    influx: { url: influx.url, database: 'redisfleet', flushInterval: '100ms' },
    // The test machine's CPU is busy with other suites: only memory and slots decide here.
    placement: { thresholds: { redis: { cpu: 100 } } },
    alerting: {
      route: { receiver: 'ops', groupWait: '200ms', groupInterval: '500ms', repeatInterval: '4h' },
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook` }] }],
    },
    cluster: {
      id,
      postgres: pg.collectorConfig,
      syncInterval: '200ms',
      zookeeper: { servers: zk.connectString, path: '/rf-e2e/collectors', sessionTimeout: `${SESSION_MS}ms` },
    },
  });
  const a = await h.collector(collectorConfig('collector-a'));
  const b = await h.collector(collectorConfig('collector-b'));
  const addresses = [a.grpcAddress, b.grpcAddress];
  const byAddress = new Map([
    [a.grpcAddress, a],
    [b.grpcAddress, b],
  ]);
  // One host per collector (rendezvous order), so the kill moves some agents and leaves others.
  const ids = Array.from({ length: 50 }, (_, i) => `ha-h${i}`);
  const pick = (c: CollectorProcess) =>
    ids.find(
      (id) =>
        byAddress.get(
          rendezvousOrder(
            id,
            addresses.map((address) => ({ address })),
          )[0]!.address,
        ) === c,
    )!;
  const hostA = pick(a);
  const hostB = pick(b);
  const agentConfig = (hostId: string, address: string) => ({
    hostId,
    interval: `${INTERVAL_MS}ms`,
    instanceSlots: 2,
    labels: { idc: 'sz-a', env: 'test' },
    redis: [{ address, cluster: 'c1' }],
    collector: { addresses, failback: '1h' },
  });
  await h.agent(agentConfig(hostA, redis1.address));
  await h.agent(agentConfig(hostB, redis2.address));
  const hostsOn = async (c: CollectorProcess) =>
    (await c.api<{ hosts: { id: string; connected: boolean; status: string }[] }>('/api/v1/hosts')).hosts;
  // Each collector serves its own host and sees the other's through PostgreSQL.
  for (const c of [a, b])
    await waitFor(async () => (await hostsOn(c)).length === 2, { what: 'both hosts on every collector', timeoutMs: 30_000 });
  assert.deepEqual(
    (await hostsOn(a)).filter((x) => x.connected).map((x) => x.id),
    [hostA],
  );
  assert.deepEqual(
    (await hostsOn(b)).filter((x) => x.connected).map((x) => x.id),
    [hostB],
  );

  // Placements: two free slots in the fleet (one per host). Both taken on a; b sees them and has nothing left.
  const cap = async (c: CollectorProcess) => (await c.api('/api/v1/capacity?fresh=true')).totals.all.hosts as number;
  for (const c of [a, b])
    await waitFor(async () => (await cap(c)) === 2, { what: 'both hosts in every capacity table', timeoutMs: 30_000 });
  const body = { role: 'redis', count: 2, memoryMb: 16, labels: { env: 'test' }, antiAffinity: 'none' };
  const onA = await place(a, { ...body, requestId: 'ha-place-1' });
  assert.equal(onA.status, 200, JSON.stringify(onA.body));
  const seen = await b.request('/api/v1/placements/ha-place-1');
  assert.equal(seen.status, 200);
  assert.equal((seen.body as { state: string }).state, 'reserved');
  const onB = await place(b, { ...body, count: 1, requestId: 'ha-place-2' });
  assert.equal(onB.status, 409, `b must not hand out the slots a reserved: ${JSON.stringify(onB.body)}`);

  // An alert fires (the instance on hostB goes down) and is notified once.
  const view = async (c: CollectorProcess) => c.api<{ leader: boolean; epoch: number }>('/api/v1/cluster');
  await waitFor(async () => (await view(a)).leader !== (await view(b)).leader, { what: 'one leader', timeoutMs: 30_000 });
  const leader = (await view(a)).leader ? a : b;
  const survivor = leader === a ? b : a;
  const movedHost = leader === a ? hostA : hostB;
  // The alert is on the leader's own host: the survivor takes that host over with the alert the
  // dead leader raised and paged, and must neither page it again nor fail to resolve it.
  const downRedis = leader === a ? redis1 : redis2;
  // An agent's first sample can find its Redis not connected yet: start from a quiet fleet.
  const instanceDown = async (c: CollectorProcess) =>
    (await c.api('/api/v1/alerts?state=firing')).alerts.filter((x: { name: string }) => x.name === 'RedisInstanceDown').length;
  for (const c of [a, b])
    await waitFor(async () => (await instanceDown(c)) === 0, { what: 'no RedisInstanceDown firing', timeoutMs: 60_000 });
  const quietFrom = rx.got.length;
  const pages = () =>
    rx.got
      .slice(quietFrom)
      .filter((r) => r.body?.alerts?.some((x: { labels: { instance?: string } }) => x.labels.instance === downRedis.address));
  await downRedis.stop();
  const firing = await waitFor(
    () => pages().find((r) => r.body?.status === 'firing' && r.body.commonLabels?.alertname === 'RedisInstanceDown'),
    { timeoutMs: 20_000, what: 'firing notification' },
  );
  const fingerprint = firing.body.alerts[0].fingerprint as string;
  await waitFor(
    async () =>
      (await survivor.api('/api/v1/alerts?state=firing')).alerts.some((x: { fingerprint: string }) => x.fingerprint === fingerprint),
    { what: 'the firing alert on the follower too', timeoutMs: 10_000 },
  );

  // The page went out and the leader recorded it (a kill between the receiver's 200 and that
  // record is the at-least-once window docs/scale-out.md describes: the next leader sends again).
  await waitFor(async () => Number((await pg.query<{ n: string }>('SELECT COUNT(*) AS n FROM alert_outbox'))[0]!.n) === 0, {
    what: 'the delivery recorded',
    timeoutMs: 10_000,
  });
  // SIGKILL the leader while the alert fires.
  const killedAt = Date.now();
  await leader.kill('SIGKILL');
  await waitFor(async () => (await view(survivor)).leader, { what: 'the survivor to lead', timeoutMs: 20_000, intervalMs: 100 });
  t.diagnostic(`survivor leads ${Date.now() - killedAt} ms after the kill`);
  await waitFor(async () => (await hostsOn(survivor)).every((x) => x.connected), {
    what: "the dead collector's agent on the survivor",
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  const backMs = Date.now() - killedAt;
  t.diagnostic(`agents back ${backMs} ms after the kill`);
  assert.ok(backMs < 10_000, `agents back after ${backMs} ms`);

  // Recovery resolves the alert through the survivor; the firing page was sent once.
  await downRedis.restart({ save: false });
  const resolved = await waitFor(
    () =>
      pages().find(
        (r) => r.body?.status === 'resolved' && r.body.alerts?.some((x: { fingerprint: string }) => x.fingerprint === fingerprint),
      ),
    { timeoutMs: 30_000, what: 'resolved notification' },
  );
  assert.ok(resolved.at > killedAt);
  await waitFor(
    async () =>
      !(await survivor.api('/api/v1/alerts?state=firing')).alerts.some((x: { fingerprint: string }) => x.fingerprint === fingerprint),
    { what: 'the alert no longer firing on the survivor', timeoutMs: 10_000 },
  );
  // The placements made before the kill still hold on the survivor: nothing is handed out twice
  // (checked with every Redis running again: a stopped instance frees its slot in the agent's capacity).
  const totals = async () =>
    (await survivor.api('/api/v1/capacity?fresh=true')).totals.all as { runningInstances: number; freeSlots: number };
  await waitFor(async () => (await totals()).runningInstances === 2, {
    what: 'both Redis running in the capacity table',
    timeoutMs: 20_000,
  });
  assert.equal((await totals()).freeSlots, 0, 'the reserved slots stay held after the kill');
  const held = await survivor.request('/api/v1/placements/ha-place-1');
  assert.equal((held.body as { state: string }).state, 'reserved');
  const after = await place(survivor, { ...body, count: 1, requestId: 'ha-place-3' });
  assert.equal(after.status, 409, `the survivor must not hand out reserved slots: ${JSON.stringify(after.body)}`);

  const firingPages = pages().filter(
    (r) => r.body?.status === 'firing' && r.body.alerts?.some((x: { fingerprint: string }) => x.fingerprint === fingerprint),
  );
  assert.equal(
    firingPages.length,
    1,
    `one firing notification, not two: ${JSON.stringify(firingPages.map((r) => ({ at: r.at - killedAt, reason: r.body.notification_reason, key: r.body.groupKey })))}`,
  );

  // No gap: the moved host's host series has a point every interval across the kill. Its agent
  // may have started only a second or two before the kill, so the window opens at its first
  // point; it closes 5 s after the kill, once the series has run past that.
  const windowEnd = killedAt + 5000;
  await waitFor(
    async () =>
      (await influx.rows(`SELECT count(cpu_cores) FROM host WHERE "host" = '${movedHost}' AND time > ${windowEnd * 1e6}`, 'redisfleet'))
        .length > 0,
    { what: 'points of the moved host past the window', timeoutMs: 20_000 },
  );
  const rows = await influx.rows(
    `SELECT cpu_cores FROM host WHERE "host" = '${movedHost}' AND time > ${(killedAt - 5000) * 1e6} AND time < ${windowEnd * 1e6}`,
    'redisfleet',
  );
  const times = rows.map((r) => Number(r.time)).sort((x, y) => x - y); // epoch ms (the harness asks for epoch=ms)
  t.diagnostic(`${times.length} points from ${times[0]! - killedAt} ms to ${times.at(-1)! - killedAt} ms around the kill`);
  assert.ok(times.length > 0 && times[0]! < killedAt, 'the moved host has points before the kill');
  assert.ok(
    times.at(-1)! > windowEnd - 2.5 * INTERVAL_MS,
    `the moved host's points reach the window's end: ${times.at(-1)! - killedAt} ms`,
  );
  let worst = 0;
  for (let i = 1; i < times.length; i++) worst = Math.max(worst, times[i]! - times[i - 1]!);
  t.diagnostic(`largest step between points around the kill: ${worst} ms (interval ${INTERVAL_MS} ms)`);
  assert.ok(worst <= 2.5 * INTERVAL_MS, `a gap of ${worst} ms in the moved host's series`);
});
