// The guard loop run in-process (no agent, no collector) against a real ZooKeeper, Redis and
// Sentinels: the events and log lines of one guard across ZooKeeper outages, and what the fence
// intent file holds when it cannot be rewritten.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { harness, waitFor, type RedisServer, type SentinelServer, type ZooKeeperServer } from './harness/index.js';
import { SentinelGuard, guardConfigFromYaml, type GuardEvent } from '../sentinel-guard/index.js';
import { memoryLogger, type MemoryLogger } from './agent-support.js';
import { APP, DOWN_AFTER_MS, FLEET, PRODUCT, outcome, setGroupZnode, waitNoperm } from './guard-support.js';

interface Loop {
  zk: ZooKeeperServer;
  master: RedisServer;
  sentinels: SentinelServer[];
  guard: SentinelGuard;
  mem: MemoryLogger;
  stateDir: string;
  /** Every event the guard emitted so far (drained into this list). */
  events(kind: string): GuardEvent[];
}

async function guardLoop(t: TestContext, fleetRules = '~* &* +@all'): Promise<Loop> {
  const h = await harness(t);
  const users = [
    { name: APP.name, password: APP.password, rules: '~* &* +@all' },
    { name: FLEET.name, password: FLEET.password, rules: fleetRules },
  ];
  const [zk, master] = await Promise.all([
    h.zookeeper(),
    h.redis({ password: 'default-pw', aclUsers: users, args: ['--masterauth', 'default-pw'] }),
  ]);
  const sentinels = await h.sentinels(3, [{ name: 'g1', master, downAfterMs: DOWN_AFTER_MS, failoverTimeoutMs: 6000 }]);
  await setGroupZnode(zk, [master.address]);
  const stateDir = await h.tempDir('guard-state');
  const config = guardConfigFromYaml({
    enabled: true,
    stateDir,
    zookeeper: { servers: zk.connectString, probeInterval: '250ms', probeTimeout: '250ms', failures: 3, sessionTimeout: '4s' },
    sentinels: { addresses: sentinels.map((s) => s.address), timeout: '250ms', downAfter: DOWN_AFTER_MS },
    fence: { timeout: '500ms' },
    hysteresis: '1s',
    margin: '500ms',
  });
  const mem = memoryLogger('info');
  const guard = new SentinelGuard(
    config,
    [
      {
        address: master.address,
        host: master.host,
        port: master.port,
        user: FLEET.name,
        password: FLEET.password,
        cluster: PRODUCT,
        group: '1',
        options: { sentinelName: 'g1' },
      },
    ],
    mem.logger,
  );
  t.after(() => guard.stop());
  const all: GuardEvent[] = [];
  const events = (kind: string) => {
    all.push(...guard.drainEvents().events);
    return all.filter((e) => e.kind === kind);
  };
  await guard.start();
  return { zk, master, sentinels, guard, mem, stateDir, events };
}

/** ZooKeeper and every Sentinel frozen: the host is cut off. */
function partition(l: Loop): void {
  l.zk.pause();
  for (const s of l.sentinels) s.pause();
}

function heal(l: Loop): void {
  l.zk.resume();
  for (const s of l.sentinels) s.resume();
}

test('guard loop: a new guard that finds ZooKeeper reachable sends guard.zk_reachable (resolves the alert a previous run left open)', async (t) => {
  const l = await guardLoop(t);
  await waitFor(() => l.guard.view().zkState === 'reachable', { what: 'ZooKeeper reachable' });
  const sent = l.events('guard.zk_reachable');
  assert.equal(sent.length, 1, 'one guard.zk_reachable on unknown → reachable');
  assert.equal(l.mem.count('ZooKeeper reachable'), 1);

  partition(l);
  await waitFor(() => l.events('guard.zk_unreachable').length === 1, { what: 'guard.zk_unreachable' });
  heal(l);
  await waitFor(() => l.events('guard.zk_reachable').length === 2, { timeoutMs: 20_000, what: 'guard.zk_reachable after the outage' });
  assert.equal(l.mem.count('ZooKeeper reachable again'), 1);
});

test('guard loop: a fence that fails in two incidents in a row is reported in each (log line and guard.fence_failed)', async (t) => {
  // The agent's user may not run ACL commands: every acl fence fails.
  const l = await guardLoop(t, '~* &* +@all -acl');
  await waitFor(() => l.guard.view().instances[0]?.phase === 'serving', { what: 'the master serving' });
  for (const incident of [1, 2]) {
    partition(l);
    await waitFor(() => l.events('guard.fence_failed').length === incident, {
      what: `guard.fence_failed in incident ${incident}`,
    });
    assert.equal(l.mem.count('guard: FENCE FAILED; the master may still accept writes'), incident);
    heal(l);
    await waitFor(() => l.guard.view().zkState === 'reachable' && l.guard.view().instances[0]?.phase === 'serving', {
      timeoutMs: 20_000,
      what: `ZooKeeper reachable and the master serving after incident ${incident}`,
    });
  }
  const [first, second] = l.events('guard.fence_failed');
  assert.equal(first!.message, second!.message, 'the same error both times');
  assert.match(first!.message, /NOPERM.*acl/i);
});

test('guard loop: when the intent file cannot be rewritten after a lift, the intent stays (memory and disk) and the save is retried without fencing again', async (t) => {
  const l = await guardLoop(t);
  const app = l.master.client({
    username: APP.name,
    password: APP.password,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    retryStrategy: () => 20,
  });
  await waitFor(() => l.guard.view().instances[0]?.phase === 'serving', { what: 'the master serving' });
  partition(l);
  await waitNoperm(app, 'the fence');
  await waitFor(() => l.guard.view().instances[0]?.phase === 'fenced', { what: 'phase fenced' });
  const file = path.join(l.stateDir, 'fence-intent.json');
  const onDisk = () => Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { instances: object }).instances);
  assert.deepEqual(onDisk(), [l.master.address]);

  // The save writes this temporary file first; a directory in its place fails it, even for root.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.mkdirSync(tmp);
  heal(l);
  await waitFor(async () => (await outcome(app.get('k'))) === 'OK:null', { timeoutMs: 20_000, what: 'the fence lifted' });
  await waitFor(() => l.mem.lines.some((x) => x.msg === 'guard: evaluating instance failed' && /EISDIR/.test(String(x.err))), {
    what: 'the failed save logged',
  });
  const fencesBefore = l.events('guard.fenced').length;
  // A few loops with the save failing: the intent is kept and the fence is not put back.
  const loops = l.guard.view().loops;
  await waitFor(() => l.guard.view().loops >= loops + 4, { what: 'four more guard loops' });
  assert.equal(l.guard.view().instances[0]?.fenced, true, 'the intent stays in memory until it is saved');
  assert.deepEqual(onDisk(), [l.master.address]);
  assert.equal(await outcome(app.get('k')), 'OK:null', 'not fenced again');
  assert.equal(l.events('guard.fenced').length, fencesBefore);
  assert.equal(l.events('guard.fence_failed').length, 0);
  assert.equal(l.events('guard.unfenced').length, 0);

  fs.rmdirSync(tmp);
  await waitFor(() => onDisk().length === 0, { what: 'the intent file rewritten without the instance' });
  assert.equal(l.guard.view().instances[0]?.fenced, false);
  assert.equal(l.guard.view().instances[0]?.phase, 'serving');
  assert.equal(l.events('guard.unfenced').length, 1);
  assert.equal(l.events('guard.fenced').length, fencesBefore);
  assert.equal(l.mem.count('guard: evaluating instance works again'), 1);
});
