// Persistence scheduler end to end through the real binaries: four redis-server instances with
// their own save points and AOF auto-rewrite (plus one opted out) → agent with
// `persistence.enabled` → gRPC → collector (embedded store) → HTTP API. The agent takes the
// triggers over, forks one child at a time on the host (checked from INFO of every instance while
// it runs), the fork events and the persistence measurement are queryable, SIGTERM hands the
// triggers back, and a bad persistence section exits 78 naming the key.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Redis } from 'ioredis';
import { harness, parseInfo, waitFor, type CollectorProcess, type RedisServer } from './harness/index.js';

const HOST = 'persist-e2e';
const OWN_POLICY = ['--auto-aof-rewrite-percentage', '10', '--auto-aof-rewrite-min-size', '1'];

interface StoredPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | string>;
  time: number;
}

async function configGet(r: RedisServer, name: string): Promise<string> {
  return String(((await r.call('CONFIG', 'GET', name)) as string[])[1]);
}

async function query(c: CollectorProcess, params: Record<string, string>): Promise<StoredPoint[]> {
  return (await c.api<{ points: StoredPoint[] }>(`/api/v1/query?${new URLSearchParams({ limit: '10000', ...params })}`)).points;
}

/** `keys` keys with children stretched by rdb-key-save-delay (~1 s per child), then `writes` real writes (changes, AOF growth). */
async function fill(r: RedisServer, keys: number, writes: number): Promise<void> {
  const c = r.client();
  await c.config('SET', 'rdb-key-save-delay', '10');
  await c.call('DEBUG', 'POPULATE', String(keys), 'key', '64');
  const p = c.pipeline();
  for (let i = 0; i < writes; i++) p.set(`w:${i}`, 'x'.repeat(200));
  await p.exec();
}

/**
 * Polls INFO persistence of every instance in rounds, counting those with a child running. The
 * rounds are not atomic across instances: a round that starts reading just before one child ends
 * and finishes just after the next one starts could see both. So a round seeing two or more is
 * re-read at once, and only a second round that also sees them counts as an overlap.
 */
function childSampler(t: TestContext, servers: RedisServer[]) {
  const clients: Redis[] = servers.map((r) => r.client());
  const busy = async (): Promise<string[]> => {
    const infos = await Promise.all(clients.map((c) => c.info('persistence')));
    return infos.flatMap((text, n) => {
      const i = parseInfo(text);
      return i.rdb_bgsave_in_progress === '1' || i.aof_rewrite_in_progress === '1' ? [servers[n]!.address] : [];
    });
  };
  let stopped = false;
  let rounds = 0;
  let roundsWithChild = 0;
  const overlaps: string[][] = [];
  const loop = (async () => {
    while (!stopped) {
      let seen = await busy().catch(() => []);
      rounds++;
      if (seen.length > 0) roundsWithChild++;
      if (seen.length > 1) {
        seen = await busy().catch(() => []);
        if (seen.length > 1) overlaps.push(seen);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  t.after(async () => {
    stopped = true;
    await loop;
  });
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { rounds, roundsWithChild, overlaps };
    },
  };
}

test('the agent takes over four instances, forks one at a time, reports it to the collector; SIGTERM hands the triggers back', async (t) => {
  const h = await harness(t);
  const debug = ['--enable-debug-command', 'local'];
  const servers = await Promise.all([0, 1, 2, 3].map(() => h.redis({ save: '1 1', appendonly: true, args: [...debug, ...OWN_POLICY] })));
  // Opted out: its own policy stays (a save point that cannot fire during the test).
  const optedOut = await h.redis({ save: '3600 1', args: debug });
  const collector = await h.collector();
  const agent = await h.agent(
    {
      hostId: HOST,
      interval: '500ms',
      persistence: { enabled: true, loopInterval: '200ms', childPollInterval: '40ms', reserve: '64mb', floor: '32mb' },
      redis: [...servers.map((r) => ({ address: r.address })), { address: optedOut.address, persistence: { optOut: true } }],
    },
    { collector },
  );

  // Triggers taken over and persisted; the operator's values became the agent's policy.
  await waitFor(async () => (await Promise.all(servers.map((r) => configGet(r, 'save')))).every((v) => v === ''), {
    timeoutMs: 20_000,
    what: 'CONFIG GET save to be "" on every managed instance',
  });
  for (const r of servers) {
    assert.equal(await configGet(r, 'auto-aof-rewrite-percentage'), '0', `${r.address}: AOF auto-rewrite taken over`);
    assert.match(fs.readFileSync(r.configPath!, 'utf8'), /^save ""$/m, `${r.address}: persisted with CONFIG REWRITE`);
  }
  assert.equal(await configGet(optedOut, 'save'), '3600 1', 'the opted-out instance keeps its own save points');

  // Every instance due for a save and a rewrite at once; the agent runs them one at a time.
  const sampler = childSampler(t, [...servers, optedOut]);
  await Promise.all(servers.map((r) => fill(r, 8000, 2000)));
  const ends = await waitFor(
    async () => {
      const points = await query(collector, { measurement: 'event', host: HOST, kind: 'fork.end' });
      const ok = (address: string, kind: string) =>
        points.some((p) => {
          const a = JSON.parse(String(p.fields.attrs)) as Record<string, string>;
          return p.tags.instance === address && a.kind === kind && a.origin === 'agent' && a.result === 'ok';
        });
      return servers.every((r) => ok(r.address, 'rdb') && ok(r.address, 'aof')) ? points : null;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: 'an agent RDB save and AOF rewrite ending ok on every instance, in the collector' },
  );
  const seen = await sampler.stop();
  assert.ok(seen.roundsWithChild > 10, `the INFO sampler saw children running (${seen.roundsWithChild} of ${seen.rounds} rounds)`);
  assert.deepEqual(seen.overlaps, [], 'never two children on the host at once');
  for (const r of servers) {
    const info = await r.info('persistence');
    assert.ok(Number(info.rdb_saves) >= 1 && Number(info.aof_rewrites) >= 1, `${r.address} saved and rewrote (Redis's own count)`);
  }
  assert.ok(
    ends.every((p) => JSON.parse(String(p.fields.attrs)).origin === 'agent'),
    "no fork behind the agent's back",
  );
  const starts = await query(collector, { measurement: 'event', host: HOST, kind: 'fork.start' });
  assert.ok(starts.length >= 8, `fork.start events stored (${starts.length})`);
  const takeovers = await query(collector, { measurement: 'event', host: HOST, kind: 'persistence.takeover' });
  assert.deepEqual(new Set(takeovers.map((p) => p.tags.instance)), new Set(servers.map((r) => r.address)));
  const unmanaged = await query(collector, { measurement: 'event', host: HOST, kind: 'persistence.unmanaged' });
  assert.deepEqual(
    unmanaged.map((p) => p.tags.instance),
    [optedOut.address],
  );

  // The latest state per host: idle token, per-instance last fork, opted-out instance.
  type Inst = {
    address: string;
    management: string;
    policy: { save: string };
    lastFork: { origin: string; result: string; durationMs: number } | null;
  };
  type Block = { tokenHolder: string | null; queue: unknown[]; forksRunning: number; instances: Inst[] };
  const block = await waitFor(
    async () => {
      const body = await collector.api<{ hosts: Array<Block & { host: string; status: string }> }>('/api/v1/persistence');
      const b = body.hosts.find((x) => x.host === HOST);
      return b && b.forksRunning === 0 && b.instances.filter((i) => i.lastFork?.result === 'ok').length === 4 ? b : null;
    },
    { timeoutMs: 20_000, what: '/api/v1/persistence to show the finished cycle' },
  );
  assert.equal(block.tokenHolder, null);
  const byAddress = new Map(block.instances.map((i) => [i.address, i]));
  for (const r of servers) {
    const i = byAddress.get(r.address)!;
    assert.equal(i.management, 'managed');
    assert.equal(i.policy.save, '1 1', "the operator's save points are the agent's policy");
    assert.equal(i.lastFork?.origin, 'agent');
    assert.ok(i.lastFork!.durationMs > 0);
  }
  assert.equal(byAddress.get(optedOut.address)?.management, 'opt-out');
  const hostView = await collector.api<{ persistence: Block | null }>(`/api/v1/hosts/${HOST}`);
  assert.equal(hostView.persistence?.instances.length, 5, 'GET /api/v1/hosts/:id carries the persistence block');

  // The persistence measurement: one typed point per instance per report.
  const rows = await query(collector, { measurement: 'persistence', host: HOST, instance: servers[0]!.address });
  assert.ok(rows.length >= 2, `persistence points stored (${rows.length})`);
  const last = rows.reduce((a, b) => (b.time > a.time ? b : a));
  assert.equal(last.fields.managed, 1);
  assert.equal(last.fields.management, 'managed');
  assert.equal(last.tags.role, 'master');
  assert.equal(typeof last.fields.cow_estimate_bytes, 'number');
  assert.ok(
    rows.some((p) => p.fields.running === 1),
    'a point taken while its child ran',
  );

  // SIGTERM: a planned stop hands the operator's triggers back (restoreTriggersOnStop defaults to true).
  assert.equal(await agent.stop(), 0);
  for (const r of servers) {
    assert.equal(await configGet(r, 'save'), '1 1', `${r.address}: save points restored`);
    assert.equal(await configGet(r, 'auto-aof-rewrite-percentage'), '10', `${r.address}: AOF auto-rewrite restored`);
    assert.match(fs.readFileSync(r.configPath!, 'utf8'), /^save 1 1$/m, `${r.address}: restored in its config file`);
  }
  assert.equal(await configGet(optedOut, 'save'), '3600 1');
});

test('a bad persistence section exits 78 with one line naming the key', async (t) => {
  const h = await harness(t);
  const base = { hostId: 'x', collector: { addresses: ['127.0.0.1:1'], tokenEnv: 'RF_E2E_TOKEN' } };
  const env = { RF_E2E_TOKEN: 'never-printed-token' };
  const cases: [Record<string, unknown>, string][] = [
    [{ persistence: { enabled: true, floor: 'lots' }, redis: [{ address: '127.0.0.1:6379' }] }, 'persistence.floor'],
    [{ persistence: { enabled: true, backupCron: 'nightly' }, redis: [{ address: '127.0.0.1:6379' }] }, 'persistence.backupCron'],
    [{ persistence: { enabled: true }, redis: [{ address: '127.0.0.1:6379', persistence: { save: '900' } }] }, 'redis[0].persistence.save'],
  ];
  for (const [extra, key] of cases) {
    const r = await h.runToExit('agent', { ...base, ...extra }, { env });
    assert.equal(r.code, 78, `${key}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(`redis-fleet-agent: config error: ${key}: `), lines[0]);
    assert.ok(!r.stderr.includes('never-printed-token'));
  }
});
