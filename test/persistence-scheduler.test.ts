// The persistence scheduler against real redis-server processes: one fork per host, foreign forks
// holding the token, takeover after restarts, memory admission and floor, unmanaged instances,
// Redis's own failure words, cron backups on replicas.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { harness, waitFor, waitForReplicaLink, type Harness, type RedisServer, type RedisOptions } from './harness/index.js';
import {
  PersistenceScheduler,
  persistenceStateToProto,
  type SchedulerOptions,
  type PersistenceConfig,
} from '../agent/persistence/index.js';
import { childPids } from '../agent/persistence/host.js';
import { createLogger } from '../common/index.js';
import { valueOf, type Event } from '../proto/index.js';

const GiB = 1024 ** 3;
const logger = createLogger('persistence-test', 'silent');

/** Test instances: DEBUG POPULATE allowed; `save` is the operator's policy the scheduler takes over. */
function startRedis(h: Harness, opts: Omit<RedisOptions, 'replicaOf'> = {}): Promise<RedisServer> {
  return h.redis({ ...opts, save: opts.save ?? '', args: ['--enable-debug-command', 'local', ...(opts.args ?? [])] });
}

/**
 * `keys` keys, children stretched with rdb-key-save-delay (each key costs ~0.1 ms, so 10 000 keys
 * ≈ 1 s per child), then `writes` real writes: they count as changes and grow the AOF.
 */
async function fill(r: RedisServer, keys: number, writes: number, delayUs = 10): Promise<void> {
  const c = r.client();
  await c.config('SET', 'rdb-key-save-delay', String(delayUs));
  await c.call('DEBUG', 'POPULATE', String(keys), 'key', '64');
  await write(r, writes);
}

async function write(r: RedisServer, n: number): Promise<void> {
  const c = r.client();
  const p = c.pipeline();
  for (let i = 0; i < n; i++) p.set(`w:${i}`, 'x'.repeat(200));
  await p.exec();
}

interface Run {
  scheduler: PersistenceScheduler;
  events: Event[];
  agentEnds: (address: string, kind?: string) => Event[];
}

function schedule(
  t: TestContext,
  servers: RedisServer[],
  config: Partial<PersistenceConfig> = {},
  extra: Pick<SchedulerOptions, 'readMemAvailable'> & { onEvent?: (e: Event) => void; logFiles?: Record<string, string> } = {},
): Run {
  const events: Event[] = [];
  const scheduler = new PersistenceScheduler({
    instances: servers.map((r) => ({ address: r.address, client: r.client(), logFile: extra.logFiles?.[r.address] })),
    config: { loopIntervalMs: 250, childPollIntervalMs: 40, ...config },
    logger,
    readMemAvailable: extra.readMemAvailable,
    onEvent: (e) => {
      events.push(e);
      extra.onEvent?.(e);
    },
  });
  t.after(() => scheduler.stop());
  const agentEnds = (address: string, kind?: string) =>
    events.filter((e) => e.kind === 'fork.end' && e.instance === address && e.attrs.origin === 'agent' && (!kind || e.attrs.kind === kind));
  return { scheduler, events, agentEnds };
}

/** Counts fork children of the given Redis processes every few ms, from /proc (the ground truth). */
function forkSampler(t: TestContext, pids: () => number[], intervalMs = 15) {
  let max = 0;
  let samplesWithChild = 0;
  let samples = 0;
  const timer = setInterval(() => {
    let n = 0;
    for (const p of pids()) {
      try {
        n += childPids(p).length;
      } catch {
        /* restarting */
      }
    }
    samples++;
    if (n > 0) samplesWithChild++;
    max = Math.max(max, n);
  }, intervalMs);
  t.after(() => clearInterval(timer));
  return {
    stop: () => {
      clearInterval(timer);
      return { max, samples, samplesWithChild };
    },
  };
}

async function pidOf(r: RedisServer): Promise<number> {
  return Number((await r.info('server')).process_id);
}

async function configGet(r: RedisServer, name: string): Promise<string> {
  return String(((await r.call('CONFIG', 'GET', name)) as string[])[1]);
}

test('four instances due for a save and a rewrite at once: one child at a time on the host, every one completes', async (t) => {
  const h = await harness(t);
  // The operator's own policy: save after 1 s and 1 change, rewrite the AOF at 10% growth.
  const servers = await Promise.all(
    [0, 1, 2, 3].map(() =>
      startRedis(h, {
        save: '1 1',
        appendonly: true,
        args: ['--auto-aof-rewrite-percentage', '10', '--auto-aof-rewrite-min-size', '1'],
      }),
    ),
  );
  const pids = await Promise.all(servers.map(pidOf));
  const run = schedule(t, servers);
  await run.scheduler.start();

  for (const r of servers) {
    assert.equal(await configGet(r, 'save'), '', 'save points taken over');
    assert.equal(await configGet(r, 'auto-aof-rewrite-percentage'), '0', 'AOF auto-rewrite taken over');
    assert.match(fs.readFileSync(r.configPath!, 'utf8'), /^save ""$/m, 'persisted with CONFIG REWRITE');
    const st = run.scheduler.state().instances[r.address]!;
    assert.equal(st.managed, true);
    assert.deepEqual(st.policy.savePoints, [{ seconds: 1, changes: 1 }], "the operator policy became the scheduler's");
    assert.equal(st.policy.aofRewritePercentage, 10);
  }
  assert.equal(run.events.filter((e) => e.kind === 'persistence.takeover').length, 4);

  const sampler = forkSampler(t, () => pids);
  await Promise.all(servers.map((r) => fill(r, 8000, 2000)));
  await waitFor(
    () =>
      servers.every(
        (r) =>
          run.agentEnds(r.address, 'rdb').some((e) => e.attrs.result === 'ok') &&
          run.agentEnds(r.address, 'aof').some((e) => e.attrs.result === 'ok'),
      ),
    { timeoutMs: 90_000, intervalMs: 100, what: 'an RDB save and an AOF rewrite on every instance' },
  );
  const seen = sampler.stop();

  assert.ok(seen.samplesWithChild > 10, `the sampler saw children running (${seen.samplesWithChild} of ${seen.samples} samples)`);
  assert.equal(seen.max, 1, 'never more than one fork child on the host');

  // The scheduler's own record agrees: every start is followed by its end before the next start.
  const forkEvents = run.events.filter((e) => e.kind === 'fork.start' || e.kind === 'fork.end');
  let open: Event | undefined;
  for (const e of forkEvents) {
    if (e.kind === 'fork.start') {
      assert.equal(open, undefined, `fork.start on ${e.instance} while ${open?.instance} was running`);
      open = e;
    } else {
      assert.equal(e.instance, open?.instance);
      open = undefined;
    }
  }
  assert.ok(
    forkEvents.every((e) => e.attrs.origin === 'agent'),
    "no fork happened behind the scheduler's back",
  );
  for (const r of servers) {
    const info = await r.info('persistence');
    assert.ok(Number(info.rdb_saves) >= 1 && Number(info.aof_rewrites) >= 1, `${r.address} saved and rewrote`);
    assert.equal(info.rdb_last_bgsave_status, 'ok');
    const last = run.scheduler.state().instances[r.address]!.lastFork!;
    assert.equal(last.result, 'ok');
    assert.ok(last.durationMs > 0);
  }
  const st = run.scheduler.state();
  assert.equal(st.tokenHolder, '');
  assert.deepEqual(st.queue, []);
});

test('a replica full sync started mid-cycle holds the token and the queue waits for it', async (t) => {
  const h = await harness(t);
  const masters = await Promise.all([0, 1, 2].map(() => startRedis(h, { save: '1 1' })));
  const pids = await Promise.all(masters.map(pidOf));
  // Memory admission is the test's gate: it closes once the first save started, so the cycle is
  // paused (not finished) when the replica arrives, and no child of ours is running at that moment.
  let mem = 64 * GiB;
  let gateClosed = false;
  const run = schedule(
    t,
    masters,
    { reserveBytes: GiB },
    {
      readMemAvailable: () => mem,
      onEvent: (e) => {
        if (!gateClosed && e.kind === 'fork.start' && e.attrs.origin === 'agent') {
          gateClosed = true;
          mem = 0;
        }
      },
    },
  );
  await run.scheduler.start();
  const sampler = forkSampler(t, () => pids);
  await Promise.all(masters.map((r) => fill(r, 10_000, 500)));

  const blocked = await waitFor(
    () => {
      const s = run.scheduler.state();
      return s.tokenHolder === '' && run.events.some((e) => e.kind === 'fork.end') && s.queue.length >= 2 && s.queue;
    },
    { timeoutMs: 30_000, what: 'the first save done and the rest queued' },
  );
  const master = masters.find((m) => m.address === blocked[0]!.address)!;

  const replica = await h.redis({ replicaOf: master });
  pids.push(await pidOf(replica));
  await waitFor(
    () => {
      const s = run.scheduler.state();
      return s.tokenHolder === master.address && s.token?.origin === 'foreign';
    },
    { timeoutMs: 15_000, intervalMs: 20, what: 'the full-sync child to hold the token' },
  );
  mem = 64 * GiB; // admission open again: only the token holds the queue now
  const waiting = await waitFor(
    () => {
      const s = run.scheduler.state();
      return s.token?.origin === 'foreign' && s.queue.length > 0 && s.queue.every((q) => q.waiting === 'token') && s;
    },
    { timeoutMs: 5000, intervalMs: 20, what: 'the queue waiting on the foreign child' },
  );
  assert.ok(waiting.loops > 0);

  await waitForReplicaLink(replica, 30_000);
  await waitFor(() => masters.every((m) => run.agentEnds(m.address, 'rdb').some((e) => e.attrs.result === 'ok')), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: 'every master saved',
  });
  const seen = sampler.stop();

  const foreignStart = run.events.find((e) => e.kind === 'fork.start' && e.attrs.origin === 'foreign' && e.instance === master.address);
  const foreignEnd = run.events.find((e) => e.kind === 'fork.end' && e.attrs.origin === 'foreign' && e.instance === master.address);
  assert.ok(foreignStart && foreignEnd, 'the full-sync child was reported as a fork not started by the agent');
  assert.equal(foreignStart.attrs.kind, 'rdb');
  const startsDuringSync = run.events.filter(
    (e) =>
      e.kind === 'fork.start' &&
      e.attrs.origin === 'agent' &&
      e.timestampMs >= foreignStart.timestampMs &&
      e.timestampMs < foreignEnd.timestampMs,
  );
  assert.deepEqual(startsDuringSync, [], 'no fork of ours started while the sync child ran');
  assert.equal(seen.max, 1, 'never more than one fork child on the host');
});

test("forks the agent did not start (an operator's BGSAVE, CONFIG SET appendonly yes) are reported and hold the token", async (t) => {
  const h = await harness(t);
  const operator = await startRedis(h, { save: '3600 1' });
  const other = await startRedis(h, { save: '1 1' });
  const run = schedule(t, [operator, other]);
  await run.scheduler.start();
  await fill(operator, 10_000, 0);
  await fill(other, 2000, 100);
  await waitFor(() => run.agentEnds(other.address, 'rdb')[0], { timeoutMs: 10_000, what: "the other instance's first save" });

  const foreignToken = async (kind: string) => {
    const st = await waitFor(
      () => {
        const s = run.scheduler.state();
        return s.tokenHolder === operator.address && s.token?.origin === 'foreign' && s.token.kind === kind && s;
      },
      { timeoutMs: 5000, intervalMs: 20, what: `the operator's ${kind} child to hold the token` },
    );
    assert.equal(st.instances[operator.address]!.running?.origin, 'foreign');
    await write(other, 100); // due again: it must wait for the foreign child
    await waitFor(() => run.events.find((e) => e.kind === 'fork.end' && e.instance === operator.address && e.attrs.kind === kind), {
      timeoutMs: 10_000,
      what: `the ${kind} child to end`,
    });
  };
  assert.equal(await operator.call('BGSAVE'), 'Background saving started');
  await foreignToken('rdb');
  assert.equal(await operator.call('CONFIG', 'SET', 'appendonly', 'yes'), 'OK');
  await foreignToken('aof');

  const starts = run.events.filter((e) => e.kind === 'fork.start' && e.instance === operator.address);
  assert.deepEqual(
    starts.map((e) => [e.attrs.kind, e.attrs.origin]),
    [
      ['rdb', 'foreign'],
      ['aof', 'foreign'],
    ],
  );
  const ends = run.events.filter((e) => e.kind === 'fork.end' && e.instance === operator.address);
  assert.deepEqual(
    ends.map((e) => e.attrs.result),
    ['ok', 'ok'],
  );
  for (const f of ends) {
    const during = run.events.filter(
      (e) =>
        e.kind === 'fork.start' &&
        e.attrs.origin === 'agent' &&
        e.timestampMs > starts.find((x) => x.attrs.kind === f.attrs.kind)!.timestampMs &&
        e.timestampMs < f.timestampMs,
    );
    assert.deepEqual(during, [], `no fork of ours started while the operator's ${f.attrs.kind} child ran`);
  }
  await waitFor(() => run.agentEnds(other.address, 'rdb').length >= 2, { timeoutMs: 10_000, what: 'the waiting save to run afterwards' });
});

test('an instance restarted with its own triggers back on is taken over again; a config file keeps them off', async (t) => {
  const h = await harness(t);
  const statePath = path.join(await h.tempDir('persist-state'), 'policy.json');
  const noFile = await startRedis(h, { save: '1 1', configFile: false });
  const withFile = await startRedis(h, { save: '900 1' });
  const run = schedule(t, [noFile, withFile], { statePath });
  await run.scheduler.start();
  const takeovers = (r: RedisServer) => run.events.filter((e) => e.kind === 'persistence.takeover' && e.instance === r.address);
  assert.equal(takeovers(noFile)[0]?.attrs.persisted, 'no-config-file');
  assert.equal(takeovers(withFile)[0]?.attrs.persisted, 'config-rewrite');

  await noFile.restart();
  await withFile.restart();
  await waitFor(() => takeovers(noFile).some((e) => e.attrs.reason === 'restart'), {
    timeoutMs: 15_000,
    what: 'the takeover after the restart',
  });
  assert.equal(await configGet(noFile, 'save'), '');
  assert.deepEqual(run.scheduler.state().instances[noFile.address]!.policy.savePoints, [{ seconds: 1, changes: 1 }]);
  assert.equal(await configGet(withFile, 'save'), '', 'CONFIG REWRITE kept the takeover across the restart');
  const loops = run.scheduler.state().loops;
  await waitFor(() => run.scheduler.state().loops >= loops + 2, { what: 'two more loops' });
  assert.equal(takeovers(withFile).length, 1, 'nothing to take over again');

  // Someone (Sentinel, an operator) sets a save point and rewrites the config: taken over again,
  // and the new value becomes the policy.
  await withFile.call('CONFIG', 'SET', 'save', '60 5');
  await withFile.call('CONFIG', 'REWRITE');
  await waitFor(() => takeovers(withFile).some((e) => e.attrs.reason === 'reverted'), {
    timeoutMs: 10_000,
    what: 'the takeover of the reverted trigger',
  });
  assert.equal(await configGet(withFile, 'save'), '');
  assert.match(fs.readFileSync(withFile.configPath!, 'utf8'), /^save ""$/m);
  assert.deepEqual(run.scheduler.state().instances[withFile.address]!.policy.savePoints, [{ seconds: 60, changes: 5 }]);

  // A new agent process sees `save ""` everywhere and takes the operator's policy from its record.
  await run.scheduler.stop();
  const again = schedule(t, [noFile, withFile], { statePath });
  await again.scheduler.start();
  const st = again.scheduler.state().instances;
  assert.equal(st[withFile.address]!.policySource, 'recorded');
  assert.deepEqual(st[withFile.address]!.policy.savePoints, [{ seconds: 60, changes: 5 }]);
  assert.deepEqual(st[noFile.address]!.policy.savePoints, [{ seconds: 1, changes: 1 }]);

  // Handing the triggers back restores the operator's values.
  await again.scheduler.stop({ restoreTriggers: true });
  assert.equal(await configGet(withFile, 'save'), '60 5');
  assert.equal(await configGet(noFile, 'save'), '1 1');
});

test('a state file that could not be written at takeover is written on a later loop and survives an agent restart', async (t) => {
  const h = await harness(t);
  const blocker = path.join(await h.tempDir('persist-state'), 'state');
  const statePath = path.join(blocker, 'policy.json');
  const r = await startRedis(h, { save: '1 1' });
  const run = schedule(t, [r], { statePath });
  // After the (empty) state was read: a file where its directory should be fails the write even for root.
  fs.writeFileSync(blocker, '');
  await run.scheduler.start();
  const takeover = run.events.find((e) => e.kind === 'persistence.takeover' && e.instance === r.address);
  assert.match(String(takeover?.attrs.storeError), /^cannot write /);
  assert.equal(await configGet(r, 'save'), '', 'taken over even though the record failed');

  fs.rmSync(blocker);
  await waitFor(() => fs.existsSync(statePath), { timeoutMs: 10_000, what: 'the record to be written on a later loop' });
  await run.scheduler.stop();

  const again = schedule(t, [r], { statePath });
  await again.scheduler.start();
  const st = again.scheduler.state().instances[r.address]!;
  assert.equal(st.policySource, 'recorded');
  assert.deepEqual(st.policy.savePoints, [{ seconds: 1, changes: 1 }]);
});

test('memory admission blocks while the reserve cannot cover the COW estimate and proceeds when it can', async (t) => {
  const h = await harness(t);
  const r = await startRedis(h, { save: '1 1' });
  const reserve = GiB;
  let mem = reserve + 1000;
  const run = schedule(t, [r], { reserveBytes: reserve, floorBytes: 0 }, { readMemAvailable: () => mem });
  await run.scheduler.start();
  await fill(r, 5000, 200, 0);

  const blocked = await waitFor(() => run.events.find((e) => e.kind === 'fork.admission_blocked'), {
    timeoutMs: 10_000,
    what: 'admission to block',
  });
  const estimate = Number(blocked.attrs.estimateBytes);
  assert.equal(blocked.attrs.estimateBasis, 'rss', 'no COW history yet: a fraction of RSS');
  const rss = Number((await r.info('memory')).used_memory_rss);
  assert.ok(estimate > 1000 && Math.abs(estimate - rss * 0.5) < rss * 0.25, `estimate ${estimate} ≈ RSS ${rss} × 0.5`);
  const loops = run.scheduler.state().loops;
  await waitFor(() => run.scheduler.state().loops >= loops + 4, { what: 'four more loops' });
  assert.equal(run.scheduler.state().queue[0]?.waiting, 'admission');
  assert.equal((await r.info('persistence')).rdb_saves, '0', 'no save while admission refuses');
  assert.equal(run.events.filter((e) => e.kind === 'fork.start').length, 0);
  assert.equal(run.events.filter((e) => e.kind === 'fork.admission_blocked').length, 1, 'reported once per blocked episode');

  // Covered now (with room: the RSS-based estimate is recomputed every loop and RSS moves a little;
  // the exact boundary is in the pure admission test).
  mem = reserve + Math.ceil(estimate * 1.2);
  const end = await waitFor(() => run.agentEnds(r.address, 'rdb')[0], { timeoutMs: 10_000, what: 'the save to run' });
  assert.equal(end.attrs.result, 'ok');
  const start = run.events.find((e) => e.kind === 'fork.start')!;
  assert.ok(Number(start.attrs.estimateBytes) <= mem - reserve, 'started only once the estimate was covered');
  assert.equal(start.attrs.estimateBasis, 'rss');
  const st = run.scheduler.state().instances[r.address]!;
  assert.equal(st.cowEstimateBytes, Math.ceil(st.lastFork!.cowBytes * 1.5), "the next estimate comes from this save's COW");
});

test('memory floor while a child runs: kill by pid when configured (no failed save), alert by default', async (t) => {
  const h = await harness(t);
  const killed = await startRedis(h, { save: '1 1' });
  let mem = 64 * GiB;
  const floor = 256 * 1024 * 1024;
  const dropOnStart = (e: Event) => {
    if (e.kind === 'fork.start') mem = floor - 1;
  };
  const run = schedule(
    t,
    [killed],
    { reserveBytes: 0, floorBytes: floor, floorAction: 'kill' },
    { readMemAvailable: () => mem, onEvent: dropOnStart },
  );
  await run.scheduler.start();
  await fill(killed, 30_000, 100);
  const floorEvent = await waitFor(() => run.events.find((e) => e.kind === 'fork.memory_floor'), {
    timeoutMs: 10_000,
    what: 'the floor event',
  });
  assert.equal(floorEvent.attrs.action, 'kill');
  assert.equal(floorEvent.attrs.killError, undefined);
  assert.match(floorEvent.attrs.pids ?? '', /^\d+$/);
  const end = await waitFor(() => run.agentEnds(killed.address)[0], { timeoutMs: 10_000, what: 'the killed child to end' });
  assert.equal(end.attrs.result, 'killed');
  const info = await killed.info('persistence');
  assert.equal(info.rdb_bgsave_in_progress, '0');
  assert.equal(info.rdb_last_bgsave_status, 'ok', 'SIGUSR1: Redis does not count it as a failed save');
  assert.equal(await killed.call('SET', 'after', 'kill'), 'OK');
  await run.scheduler.stop();

  const alerted = await startRedis(h, { save: '1 1' });
  mem = 64 * GiB;
  const run2 = schedule(t, [alerted], { reserveBytes: 0, floorBytes: floor }, { readMemAvailable: () => mem, onEvent: dropOnStart });
  await run2.scheduler.start();
  await fill(alerted, 10_000, 100);
  const alert = await waitFor(() => run2.events.find((e) => e.kind === 'fork.memory_floor'), {
    timeoutMs: 10_000,
    what: 'the floor alert',
  });
  assert.equal(alert.attrs.action, 'alert');
  assert.equal(alert.attrs.pids, undefined);
  const end2 = await waitFor(() => run2.agentEnds(alerted.address)[0], { timeoutMs: 15_000, what: 'the child to finish' });
  assert.equal(end2.attrs.result, 'ok', 'alert only: the save completes');
  assert.equal(run2.events.filter((e) => e.kind === 'fork.memory_floor').length, 1, 'one alert per child');
});

test('an instance that refuses CONFIG SET is reported as unmanaged, not crashed; opt-out is left alone', async (t) => {
  const h = await harness(t);
  const refuses = await startRedis(h, { save: '3600 1', aclUsers: [{ name: 'agent', password: 'pw', rules: '~* &* +@all -config|set' }] });
  const optedOut = await startRedis(h, { save: '900 1' });
  const managed = await startRedis(h, { save: '1 1' });
  const events: Event[] = [];
  const scheduler = new PersistenceScheduler({
    instances: [
      { address: refuses.address, host: refuses.host, port: refuses.port, user: 'agent', password: 'pw' },
      { address: optedOut.address, optOut: true },
      { address: managed.address },
    ],
    config: { loopIntervalMs: 250, childPollIntervalMs: 40 },
    logger,
    onEvent: (e) => events.push(e),
  });
  t.after(() => scheduler.stop());
  await scheduler.start();

  const st = scheduler.state().instances;
  assert.equal(st[refuses.address]!.managed, false);
  assert.match(st[refuses.address]!.unmanagedReason!, /^CONFIG SET refused: NOPERM/);
  assert.equal(st[optedOut.address]!.managed, false);
  assert.equal(st[optedOut.address]!.unmanagedReason, 'opt-out');
  assert.equal(st[managed.address]!.managed, true);
  const unmanaged = events.filter((e) => e.kind === 'persistence.unmanaged');
  assert.deepEqual(unmanaged.map((e) => e.instance).sort(), [refuses.address, optedOut.address].sort());
  assert.equal(await configGet(refuses, 'save'), '3600 1');
  assert.equal(await configGet(optedOut, 'save'), '900 1', 'opt-out: triggers untouched');

  await write(managed, 100);
  const end = await waitFor(() => events.find((e) => e.kind === 'fork.end' && e.instance === managed.address), {
    timeoutMs: 10_000,
    what: 'the managed instance saved',
  });
  assert.equal(end.attrs.result, 'ok');
  assert.equal(events.filter((e) => e.kind === 'persistence.unmanaged').length, 2, 'reported once, not every loop');
  const drained = scheduler.drainEvents();
  assert.deepEqual(drained.events, events, 'drainEvents hands over what onEvent saw');
  assert.equal(drained.dropped, 0);
  assert.deepEqual(scheduler.drainEvents().events, []);
  const proto = persistenceStateToProto(scheduler.state());
  assert.equal(valueOf(proto.fields[`${refuses.address}/managed`]), 0);
  assert.match(String(valueOf(proto.fields[`${refuses.address}/unmanaged_reason`])), /NOPERM/);
  assert.equal(valueOf(proto.fields[`${managed.address}/last_fork_result`]), 'ok');
});

test("a failed save is reported with Redis's own error, and retried after the configured delay", async (t) => {
  const h = await harness(t);
  const logDir = await h.tempDir('persist-log');
  // One instance names its log file (found with CONFIG GET logfile), one logs to stdout, which the
  // harness captures: the scheduler is told where that ends up.
  const named = await startRedis(h, { save: '1 1', args: ['--logfile', path.join(logDir, 'redis.log')] });
  const stdout = await startRedis(h, { save: '1 1' });
  const run = schedule(t, [named, stdout], { retryAfterFailureMs: 500 }, { logFiles: { [stdout.address]: stdout.logFile } });
  await run.scheduler.start();
  // The final RDB name is a directory: the child's rename fails.
  for (const r of [named, stdout]) fs.mkdirSync(path.join(r.dir, 'dump.rdb', 'x'), { recursive: true });
  await Promise.all([write(named, 50), write(stdout, 50)]);
  for (const r of [named, stdout]) {
    const failed = await waitFor(() => run.agentEnds(r.address, 'rdb').find((e) => e.attrs.result === 'error'), {
      timeoutMs: 10_000,
      what: 'the failed save',
    });
    assert.match(failed.attrs.error!, /^Error moving temp DB file temp-\d+\.rdb on the final destination dump\.rdb .*: Is a directory$/);
    // (It may have been retried and failed again since: the state reports the latest.)
    const last = run.scheduler.state().instances[r.address]!.lastFork!;
    const latest = run.agentEnds(r.address, 'rdb').at(-1)!;
    assert.equal(last.result, 'error');
    assert.equal(last.error, latest.attrs.error);
    fs.rmSync(path.join(r.dir, 'dump.rdb'), { recursive: true });
    const ok = await waitFor(() => run.agentEnds(r.address, 'rdb').find((e) => e.attrs.result === 'ok'), {
      timeoutMs: 10_000,
      what: 'the retried save',
    });
    assert.ok(ok.timestampMs - failed.timestampMs >= 500, 'retried no sooner than retryAfterFailureMs');
  }
});

test('cron backups go to the replica when master and replica are both on this host', async (t) => {
  const h = await harness(t);
  const master = await startRedis(h, { save: '3600 1' });
  await master.call('DEBUG', 'POPULATE', '1000');
  const replica = await h.redisReplica(master, { save: '3600 1' });
  const run = schedule(t, [master, replica], { backupCron: '* * * * * *' });
  await run.scheduler.start();
  await waitFor(() => run.agentEnds(replica.address, 'rdb').filter((e) => e.attrs.result === 'ok').length >= 2, {
    timeoutMs: 15_000,
    what: 'two cron backups on the replica',
  });
  const starts = run.events.filter((e) => e.kind === 'fork.start' && e.attrs.origin === 'agent');
  assert.ok(
    starts.every((e) => e.instance === replica.address && e.attrs.reason === 'backup'),
    JSON.stringify(starts.map((e) => [e.instance, e.attrs.reason])),
  );
  assert.equal(
    run.scheduler.state().instances[master.address]!.policy.rdbBackups,
    true,
    'the master would take backups without its replica',
  );
});
