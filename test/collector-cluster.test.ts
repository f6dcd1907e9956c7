// Collectors as a cluster on a real ZooKeeper and PostgreSQL: one leader at a time (ephemeral
// sequential znodes), a leader that stops hands over at once, a SIGKILLed leader's duties move
// within its session timeout + 2 s; the cluster section's config errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../common/index.js';
import { LeaderElection } from '../collector/cluster/index.js';
import {
  harness,
  waitFor,
  DEFAULT_TOKEN,
  type CollectorProcess,
  type Harness,
  type PostgresServer,
  type ZooKeeperServer,
} from './harness/index.js';

const log = createLogger('test', 'silent');
const SESSION_MS = 2000;

test('election: one leader among three; stop() hands over to the next at once; epochs only grow', async (t) => {
  const h = await harness(t);
  const zk = await h.zookeeper({ tickTimeMs: 500 });
  const leaders = new Map<string, { leader: boolean; epoch: number }>();
  const members = ['c1', 'c2', 'c3'].map((id) => {
    const e = new LeaderElection({
      servers: zk.connectString,
      path: '/rf-test/election',
      sessionTimeoutMs: SESSION_MS,
      id,
      logger: log,
      onChange: (leader, epoch) => {
        leaders.set(id, { leader, epoch });
      },
    });
    t.after(() => e.stop());
    e.start();
    return e;
  });
  await waitFor(() => members.filter((m) => m.isLeader).length === 1 && members.every((m) => m.view().members.length === 3), {
    what: 'one leader, three members',
    timeoutMs: 30_000,
  });
  const first = members.find((m) => m.isLeader)!;
  const firstEpoch = first.epoch;
  for (const m of members) assert.equal(m.view().leaderId, first.view().members[0]);
  const started = Date.now();
  await first.stop();
  await waitFor(() => members.filter((m) => m !== first && m.isLeader).length === 1, { what: 'a new leader', timeoutMs: 10_000 });
  const took = Date.now() - started;
  const second = members.find((m) => m.isLeader)!;
  assert.ok(second.epoch > firstEpoch, `epoch ${second.epoch} after ${firstEpoch}`);
  assert.ok(took < 2000, `handover after a clean stop took ${took} ms`);
  assert.equal(members.filter((m) => m.isLeader).length, 1);
  // Before the harness stops ZooKeeper (a client closing against a dead server keeps retrying).
  await Promise.all(members.map((m) => m.stop()));
});

async function clusterCollector(h: Harness, pg: PostgresServer, zk: ZooKeeperServer, id: string): Promise<CollectorProcess> {
  return h.collector({
    cluster: {
      id,
      postgres: pg.collectorConfig,
      zookeeper: { servers: zk.connectString, path: '/rf-test/collectors', sessionTimeout: `${SESSION_MS}ms` },
      syncInterval: '200ms',
    },
  });
}

test('two collector processes: one leads (healthz, /api/v1/cluster); SIGKILL it and the other leads within the session timeout + 2 s', async (t) => {
  const h = await harness(t);
  const [pg, zk] = await Promise.all([h.postgres(), h.zookeeper({ tickTimeMs: 500 })]);
  const a = await clusterCollector(h, pg, zk, 'collector-a');
  const b = await clusterCollector(h, pg, zk, 'collector-b');
  const view = async (c: CollectorProcess) =>
    await c.api<{ leader: boolean; leaderId: string; epoch: number; members: string[]; id: string }>('/api/v1/cluster');
  await waitFor(async () => (await view(a)).leader !== (await view(b)).leader && (await view(b)).members.length === 2, {
    what: 'exactly one leader',
    timeoutMs: 30_000,
  });
  const [va, vb] = [await view(a), await view(b)];
  const leader = va.leader ? a : b;
  const follower = va.leader ? b : a;
  assert.equal(va.leaderId, vb.leaderId);
  const health = await leader.api<{ leader: boolean; cluster: { id: string; postgres: { ok: boolean } } }>('/healthz');
  assert.equal(health.leader, true);
  assert.equal(health.cluster.postgres.ok, true);
  const epoch = (await view(leader)).epoch;

  const killedAt = Date.now();
  await leader.kill('SIGKILL');
  await waitFor(async () => (await view(follower)).leader, { what: 'the follower to lead', timeoutMs: 30_000, intervalMs: 50 });
  const took = Date.now() - killedAt;
  t.diagnostic(`leadership moved ${took} ms after the SIGKILL (session timeout ${SESSION_MS} ms)`);
  assert.ok(took < SESSION_MS + 2000 + 1000, `leadership moved after ${took} ms`);
  assert.ok((await view(follower)).epoch > epoch);
  const recorded = await pg.query<{ epoch: number; holder: string }>('SELECT epoch, holder FROM cluster_leader');
  assert.equal(Number(recorded[0]!.epoch), (await view(follower)).epoch);
  assert.equal(recorded[0]!.holder, (await view(follower)).id);
});

test('config: a cluster section without postgres (or zookeeper) exits 78 with one line naming the key', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('cluster-config');
  const tokenFile = path.join(dir, 'tokens');
  await fs.writeFile(tokenFile, DEFAULT_TOKEN + '\n');
  const base = { grpc: { tokenFile, listen: '127.0.0.1:0' }, http: { listen: '127.0.0.1:0' }, store: { path: path.join(dir, 'c.db') } };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ zookeeper: { servers: '127.0.0.1:1' } }, /config error: cluster\.postgres: is required/],
    [{ postgres: { host: '127.0.0.1', user: 'u' } }, /config error: cluster\.zookeeper: is required/],
    [
      { postgres: { host: '127.0.0.1', user: 'u', passwordFile: path.join(dir, 'missing') }, zookeeper: { servers: '127.0.0.1:1' } },
      /config error: cluster\.postgres\.password: cannot read/,
    ],
    [
      { postgres: { host: '127.0.0.1', user: 'u', port: 'x' }, zookeeper: { servers: '127.0.0.1:1' } },
      /config error: cluster\.postgres\.port/,
    ],
  ];
  for (const [cluster, want] of cases) {
    const r = await h.runToExit('collector', { ...base, cluster });
    assert.equal(r.code, 78, `exit code (stderr: ${r.stderr})`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, JSON.stringify(r.stderr));
    assert.match(lines[0]!, want);
  }
});
