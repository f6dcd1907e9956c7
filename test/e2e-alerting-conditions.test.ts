// Built-in rules end to end on real conditions: a real redis-server driven toward
// maxmemory, to maxclients, a replica killed (and its master stopped), observed by the
// real agent and collector processes; the notifications land on a real HTTP receiver
// on loopback (Alertmanager v4 webhook), firing first, then resolved after recovery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { harness, waitFor } from './harness/index.js';
import { receiver, type Received } from './alerting-support.js';

const quick = (names: string[]) => Object.fromEntries(names.map((n) => [n, { for: '0s' }]));

function route() {
  return { receiver: 'ops', groupBy: ['alertname', 'instance'], groupWait: '100ms', groupInterval: '300ms' };
}

const find = (got: Received[], alertname: string, status: 'firing' | 'resolved', instance?: string) =>
  got.find(
    (r) =>
      r.body?.status === status &&
      r.body.commonLabels?.alertname === alertname &&
      (!instance || r.body.alerts?.[0]?.labels?.instance === instance),
  );

test('memory toward maxmemory fires RedisMemoryHigh with the right labels and body; FLUSHALL resolves it', async (t) => {
  const h = await harness(t);
  const redis = await h.redis({ args: ['--maxmemory', '20mb', '--maxmemory-policy', 'noeviction'] });
  const rx = await receiver(t);
  const collector = await h.collector({
    alerting: {
      builtins: { overrides: quick(['RedisMemoryHigh']) },
      route: route(),
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook` }] }],
    },
  });
  await h.agent({ hostId: 'mem-h1', interval: '300ms', redis: [{ address: redis.address, cluster: 'mem-c' }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 1, { what: 'instance reported' });
  assert.equal(find(rx.got, 'RedisMemoryHigh', 'firing'), undefined, 'no memory alert before the fill');

  const client = redis.client();
  const limit = 20 * 1024 * 1024;
  const chunk = 'x'.repeat(256 * 1024);
  for (let i = 0; Number((await redis.info('memory')).used_memory) < 0.93 * limit; i++) {
    assert.ok(i < 200, 'memory did not grow');
    await client.set(`fill:${i}`, chunk);
  }
  const firing = await waitFor(() => find(rx.got, 'RedisMemoryHigh', 'firing'), { timeoutMs: 15_000, what: 'RedisMemoryHigh firing' });
  assert.equal(firing.body.version, '4');
  assert.equal(firing.body.status, 'firing');
  const a = firing.body.alerts[0];
  assert.equal(a.labels.instance, redis.address);
  assert.equal(a.labels.host, 'mem-h1');
  assert.equal(a.labels.cluster, 'mem-c');
  assert.equal(a.labels.severity, 'warning');
  assert.equal(a.labels.role, undefined, 'role is not part of an alert identity');
  const ratio = Number(/uses ([\d.]+) of its memory limit/.exec(a.annotations.summary)?.[1]);
  assert.ok(ratio > 0.9 && ratio <= 1, `summary names the ratio: ${a.annotations.summary}`);
  assert.equal(a.endsAt, '0001-01-01T00:00:00Z');

  await client.flushall();
  const resolved = await waitFor(
    () => rx.got.find((r) => r.body?.status === 'resolved' && r.body.alerts?.[0]?.fingerprint === a.fingerprint),
    { timeoutMs: 15_000, what: 'RedisMemoryHigh resolved' },
  );
  assert.equal(resolved.body.alerts[0].labels.alertname, 'RedisMemoryHigh');
  assert.notEqual(resolved.body.alerts[0].endsAt, '0001-01-01T00:00:00Z');
  assert.equal(
    rx.got.filter((r) => r.body?.commonLabels?.alertname === 'RedisMemoryHigh' && r.body.status === 'firing').length,
    1,
    'one firing notification',
  );
});

test('connections near maxclients fire RedisClientsHigh; closing them resolves it', async (t) => {
  const h = await harness(t);
  const redis = await h.redis({ args: ['--maxclients', '20'] });
  const rx = await receiver(t);
  const collector = await h.collector({
    alerting: {
      builtins: { overrides: quick(['RedisClientsHigh']) },
      route: route(),
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook` }] }],
    },
  });
  await h.agent({ hostId: 'cli-h1', interval: '300ms', redis: [{ address: redis.address, cluster: 'cli-c' }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 1, { what: 'instance reported' });

  // 19 of 20 (0.95 > 0.9) without reaching the limit, so the agent keeps its own connection.
  const clients: Redis[] = [];
  const connected = async () => Number(/connected_clients:(\d+)/.exec(String(await clients[0]!.info('clients')))?.[1]);
  for (;;) {
    const c = redis.client();
    await c.ping();
    clients.push(c);
    if ((await connected()) >= 19) break;
    assert.ok(clients.length < 20, 'connected_clients did not grow');
  }
  const firing = await waitFor(() => find(rx.got, 'RedisClientsHigh', 'firing'), { timeoutMs: 15_000, what: 'RedisClientsHigh firing' });
  const a = firing.body.alerts[0];
  assert.equal(a.labels.instance, redis.address);
  assert.equal(a.labels.host, 'cli-h1');
  assert.equal(a.labels.cluster, 'cli-c');
  assert.equal(a.labels.severity, 'warning');
  assert.match(a.annotations.summary, new RegExp(`${redis.address} has 0\\.9\\d* of maxclients connected`));
  assert.equal(find(rx.got, 'RedisRejectedConnections', 'firing'), undefined, 'no connection was rejected');

  for (const c of clients) c.disconnect();
  await waitFor(() => rx.got.find((r) => r.body?.status === 'resolved' && r.body.alerts?.[0]?.fingerprint === a.fingerprint), {
    timeoutMs: 15_000,
    what: 'RedisClientsHigh resolved',
  });
});

test('a killed replica fires RedisMasterWithoutReplica until it is back; a stopped master fires RedisReplicaLinkDown until it is back', async (t) => {
  const h = await harness(t);
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const rx = await receiver(t);
  const collector = await h.collector({
    alerting: {
      builtins: { overrides: quick(['RedisMasterWithoutReplica', 'RedisReplicaLinkDown']) },
      route: route(),
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook` }] }],
    },
  });
  await h.agent(
    {
      hostId: 'rep-h1',
      interval: '300ms',
      redis: [
        { address: master.address, cluster: 'rep-c' },
        { address: replica.address, cluster: 'rep-c' },
      ],
    },
    { collector },
  );
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 2, { what: 'both instances reported' });

  await replica.kill('SIGKILL');
  const noReplica = await waitFor(() => find(rx.got, 'RedisMasterWithoutReplica', 'firing'), {
    timeoutMs: 15_000,
    what: 'RedisMasterWithoutReplica firing',
  });
  const a = noReplica.body.alerts[0];
  assert.equal(a.labels.instance, master.address);
  assert.equal(a.labels.cluster, 'rep-c');
  assert.equal(a.labels.host, 'rep-h1');
  assert.equal(a.labels.severity, 'critical');
  assert.match(a.annotations.summary, /has no connected replica/);
  await waitFor(() => find(rx.got, 'RedisInstanceDown', 'firing', replica.address), { timeoutMs: 15_000, what: 'the replica itself down' });

  await replica.restart({ save: false });
  await waitFor(() => rx.got.find((r) => r.body?.status === 'resolved' && r.body.alerts?.[0]?.fingerprint === a.fingerprint), {
    timeoutMs: 20_000,
    what: 'RedisMasterWithoutReplica resolved',
  });

  await master.stop();
  const linkDown = await waitFor(() => find(rx.got, 'RedisReplicaLinkDown', 'firing'), {
    timeoutMs: 15_000,
    what: 'RedisReplicaLinkDown firing',
  });
  const l = linkDown.body.alerts[0];
  assert.equal(l.labels.instance, replica.address);
  assert.equal(l.labels.severity, 'critical');
  assert.match(l.annotations.summary, /lost its master link/);
  await master.restart({ save: false });
  await waitFor(() => rx.got.find((r) => r.body?.status === 'resolved' && r.body.alerts?.[0]?.fingerprint === l.fingerprint), {
    timeoutMs: 30_000,
    what: 'RedisReplicaLinkDown resolved',
  });
});
