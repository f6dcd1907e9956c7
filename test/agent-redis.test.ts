// The Redis input against real redis-server processes: roles and replica lag,
// instance down/up, wrong password, refused CONFIG, a hung instance, rates across a
// restart, one persistent connection, connections killed again and again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { Accumulator, RedisInput, infoNumber, type AgentConfig } from '../agent/index.js';
import type { RedisSample } from '../proto/index.js';
import { harness, waitFor, freePort } from './harness/index.js';
import { agentConfig, memoryLogger, type MemoryLogger } from './agent-support.js';

interface Rig {
  input: RedisInput;
  log: MemoryLogger;
  gather(): Promise<Accumulator>;
}

async function rig(
  t: { after(fn: () => unknown): void },
  redis: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Promise<Rig> {
  const config: AgentConfig = agentConfig({ redis, ...extra });
  const log = memoryLogger();
  const input = new RedisInput({ config, logger: log.logger });
  t.after(() => input.stop());
  await input.start();
  return {
    input,
    log,
    async gather() {
      const acc = new Accumulator(Date.now());
      await input.gather(acc);
      return acc;
    },
  };
}

const byAddress = (acc: Accumulator, address: string): RedisSample => {
  const s = acc.redis.find((x) => x.address === address);
  assert.ok(s, `no sample for ${address}`);
  return s;
};

test('master, replica and standalone: roles, replica byte lag, keyspace, CONFIG values, one named connection', async (t) => {
  const h = await harness(t);
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const standalone = await h.redis({ args: ['--maxmemory', '64mb', '--maxclients', '500'] });
  await master.call('SET', 'k1', 'v');
  await master.call('SET', 'k2', 'v', 'EX', '1000');
  const r = await rig(t, [
    { address: master.address, cluster: 'c1', group: 'g1' },
    { address: replica.address, cluster: 'c1', group: 'g1' },
    { address: standalone.address },
  ]);
  const first = await r.gather();
  assert.equal(first.redis.length, 3);
  const m = byAddress(first, master.address);
  const rep = byAddress(first, replica.address);
  const st = byAddress(first, standalone.address);
  for (const s of [m, rep, st]) assert.equal(s.up, true, `${s.address}: ${s.error}`);
  assert.equal(m.role, 'master');
  assert.equal(rep.role, 'slave');
  assert.equal(st.role, 'master');
  assert.equal(m.cluster, 'c1');
  assert.equal(m.group, 'g1');
  assert.equal(m.replicas.length, 1);
  assert.equal(m.replicas[0]!.port, replica.port);
  assert.equal(m.replicas[0]!.state, 'online');
  assert.equal(m.replicas[0]!.lagBytes, infoNumber(m.info, 'master_repl_offset')! - m.replicas[0]!.offset);
  assert.deepEqual(rep.replicas, []);
  assert.equal(rep.info.master_link_status && 'str' in rep.info.master_link_status ? rep.info.master_link_status.str : '', 'up');
  assert.deepEqual(
    m.keyspace.map((k) => [k.db, k.keys, k.expires]),
    [['db0', 2, 1]],
  );
  assert.deepEqual(st.keyspace, []);
  // CONFIG GET values and headroom.
  assert.equal(st.maxmemory, 64 * 1024 * 1024);
  assert.equal(st.maxclients, 500);
  assert.deepEqual(st.headroom && [st.headroom.limitSource, st.headroom.limitBytes], ['maxmemory', 64 * 1024 * 1024]);
  assert.equal(m.maxmemory, 0);
  assert.deepEqual(m.headroom && [m.headroom.limitSource, m.headroom.limitBytes], ['host_memory', os.totalmem()]);
  assert.equal(m.headroom!.usedBytes, infoNumber(m.info, 'used_memory'));
  assert.deepEqual(st.unavailable, []);
  assert.ok(m.commandstats.some((c) => c.command === 'set' && c.calls >= 2));
  assert.equal(m.rates!.valid, false, 'no previous sample yet');
  assert.deepEqual(first.events, []);

  await master.call('GET', 'k1');
  await master.call('GET', 'nope');
  const second = await r.gather();
  const m2 = byAddress(second, master.address);
  assert.equal(m2.rates!.valid, true);
  assert.ok(m2.rates!.opsPerSec > 0);
  assert.equal(m2.rates!.keyspaceHitRatio, 0.5, 'one hit and one miss in the interval');
  await r.gather();
  // One persistent connection per instance, named, reused across ticks.
  const clients = String(await standalone.call('CLIENT', 'LIST'))
    .trim()
    .split('\n')
    .filter((l) => l.includes('name=redis-fleet-agent'));
  assert.equal(clients.length, 1, clients.join('\n'));
  assert.equal(Number(/ id=(\d+)/.exec(` ${clients[0]}`)![1]) > 0, true);
  const received = Number((await standalone.info('stats')).total_connections_received);
  await r.gather();
  await r.gather();
  assert.equal(Number((await standalone.info('stats')).total_connections_received), received + 1, 'only our own INFO call connected');
});

test('an instance going down: up=false with the reason and one event/log; the others unaffected; back up', async (t) => {
  const h = await harness(t);
  const a = await h.redis();
  const b = await h.redis();
  const r = await rig(t, [{ address: a.address }, { address: b.address }]);
  assert.ok((await r.gather()).redis.every((s) => s.up));
  await b.kill('SIGKILL');
  const down = await r.gather();
  const sb = byAddress(down, b.address);
  assert.equal(sb.up, false);
  assert.match(sb.error, /connection (refused|closed|reset)/);
  assert.equal(sb.role, '');
  assert.deepEqual(sb.info, {});
  assert.equal(byAddress(down, a.address).up, true);
  assert.deepEqual(
    down.events.map((e) => [e.kind, e.instance]),
    [['instance.down', b.address]],
  );
  // Still down on the next ticks: no new event, no new log line.
  const still = await waitFor(
    async () => {
      const acc = await r.gather();
      const s = byAddress(acc, b.address);
      return s.error === 'connection refused' ? acc : undefined;
    },
    { what: 'connection refused' },
  );
  assert.deepEqual(still.events, []);
  await r.gather();
  assert.equal(r.log.lines.filter((l) => (l.level as number) >= 40).length, 1, 'one warning for the whole outage');
  assert.equal(r.log.count('instance down'), 1);
  await b.restart({ save: false });
  const back = await waitFor(
    async () => {
      const acc = await r.gather();
      return byAddress(acc, b.address).up ? acc : undefined;
    },
    { what: 'instance back up', timeoutMs: 15_000 },
  );
  assert.deepEqual(
    back.events.map((e) => [e.kind, e.instance]),
    [['instance.up', b.address]],
  );
  assert.equal(r.log.count('instance up'), 1);
  assert.equal(byAddress(back, b.address).rates!.valid, false, 'a restarted server has fresh counters');
  assert.equal(byAddress(await r.gather(), b.address).rates!.valid, true);
});

test('the connection killed, and each new one killed as well: still one good sample within the budget, no down', async (t) => {
  const h = await harness(t);
  const server = await h.redis();
  const link = await h.relay(server);
  const r = await rig(t, [{ address: link.address }], { interval: '2s' });
  assert.ok(byAddress(await r.gather(), link.address).up);
  // The open connection and the next two closed as soon as the agent sends on them (its INFO).
  link.reset(2);
  const acc = await r.gather();
  const s = byAddress(acc, link.address);
  assert.equal(s.up, true, s.error);
  assert.equal(link.resets, 3);
  assert.deepEqual(acc.events, []);
  assert.equal(r.log.count('instance down'), 0);
  // Lost again and again: down after three fresh connections, not one connection after another.
  link.reset(10);
  const lost = byAddress(await r.gather(), link.address);
  assert.equal(lost.up, false);
  assert.equal(lost.error, 'connection closed');
  assert.equal(link.resets, 3 + 1 + 3);
});

test('wrong or missing password: a clear error, never the password in logs', async (t) => {
  const h = await harness(t);
  const secret = 'right-pass-7f3a';
  const wrong = 'wrong-pass-91cc';
  const protectedA = await h.redis({ password: secret });
  const protectedB = await h.redis({ password: secret });
  const protectedC = await h.redis({ password: secret });
  const r = await rig(t, [
    { address: protectedA.address, password: wrong },
    { address: protectedB.address },
    { address: protectedC.address, password: secret },
  ]);
  const acc = await waitFor(
    async () => {
      const x = await r.gather();
      return /WRONGPASS/.test(byAddress(x, protectedA.address).error) ? x : undefined;
    },
    { what: 'WRONGPASS reported' },
  );
  const a = byAddress(acc, protectedA.address);
  assert.equal(a.up, false);
  assert.match(a.error, /^WRONGPASS invalid username-password pair/);
  const b = byAddress(acc, protectedB.address);
  assert.equal(b.up, false);
  assert.match(b.error, /^NOAUTH Authentication required/);
  assert.equal(byAddress(acc, protectedC.address).up, true);
  await r.gather();
  await r.gather();
  const text = r.log.text();
  assert.ok(text.includes('WRONGPASS'), 'the reason is logged');
  assert.ok(!text.includes(wrong) && !text.includes(secret), 'no password in any log line');
  assert.ok(!JSON.stringify(acc.redis).includes(wrong), 'no password in the samples');
  assert.equal(r.log.lines.filter((l) => l.instance === protectedA.address && l.msg === 'instance down').length, 1);
});

test('CONFIG renamed or refused by ACL: maxmemory/maxclients from INFO, CONFIG listed unavailable, logged once', async (t) => {
  const h = await harness(t);
  const renamed = await h.redis({ args: ['--rename-command', 'CONFIG', '', '--maxmemory', '32mb'] });
  const acl = await h.redis({
    args: ['--maxmemory', '16mb'],
    aclUsers: [{ name: 'fleet', password: 'acl-pass-1', rules: '~* &* +@all -config' }],
  });
  await assert.rejects(renamed.call('CONFIG', 'GET', 'maxmemory'), /unknown command/, 'CONFIG really is gone');
  const r = await rig(t, [{ address: renamed.address }, { address: acl.address, user: 'fleet', password: 'acl-pass-1' }]);
  for (let i = 0; i < 3; i++) {
    const acc = await r.gather();
    const s = byAddress(acc, renamed.address);
    assert.equal(s.up, true, s.error);
    assert.equal(s.maxmemory, 32 * 1024 * 1024);
    assert.equal(s.maxclients, 10000);
    assert.deepEqual(s.unavailable, ['CONFIG']);
    assert.equal(s.headroom!.limitSource, 'maxmemory');
    const sa = byAddress(acc, acl.address);
    assert.equal(sa.up, true, sa.error);
    assert.equal(sa.maxmemory, 16 * 1024 * 1024);
    assert.deepEqual(sa.unavailable, ['CONFIG']);
  }
  const refusals = r.log.lines.filter((l) => l.msg === 'CONFIG GET refused; maxmemory/maxclients taken from INFO');
  assert.deepEqual(refusals.map((l) => l.instance).sort(), [renamed.address, acl.address].sort(), 'once per instance');
  assert.match(String(refusals.find((l) => l.instance === acl.address)!.error), /NOPERM/);
  assert.ok(!r.log.text().includes('acl-pass-1'));
});

test('a hung instance (SIGSTOP) times out instead of stalling the tick; the others still answer', async (t) => {
  const h = await harness(t);
  const hung = await h.redis();
  const ok = await h.redis();
  const r = await rig(t, [{ address: hung.address }, { address: ok.address }], { interval: '500ms' });
  assert.ok((await r.gather()).redis.every((s) => s.up));
  hung.pause();
  t.after(() => {
    if (hung.running) hung.resume();
  });
  const acc = await r.gather();
  assert.equal(byAddress(acc, hung.address).up, false);
  assert.match(byAddress(acc, hung.address).error, /timeout/);
  assert.equal(byAddress(acc, ok.address).up, true);
  hung.resume();
  await waitFor(async () => byAddress(await r.gather(), hung.address).up, { what: 'hung instance answering again', timeoutMs: 15_000 });
});

test('rates across a restart: valid, then invalid on the restarted counters, then valid again', async (t) => {
  const h = await harness(t);
  const s = await h.redis();
  const r = await rig(t, [{ address: s.address }]);
  assert.equal(byAddress(await r.gather(), s.address).rates!.valid, false);
  for (let i = 0; i < 20; i++) await s.call('SET', `k${i}`, 'v');
  const before = byAddress(await r.gather(), s.address);
  assert.equal(before.rates!.valid, true);
  assert.ok(before.rates!.opsPerSec > 0);
  const runId = before.info.run_id;
  await s.restart({ save: false });
  const after = await waitFor(
    async () => {
      const x = byAddress(await r.gather(), s.address);
      return x.up ? x : undefined;
    },
    { what: 'restarted instance up', timeoutMs: 15_000 },
  );
  assert.notDeepEqual(after.info.run_id, runId);
  assert.equal(after.rates!.valid, false, 'counter reset is not a negative rate');
  // Rates come back from the restarted counters (under a loaded CI machine the first of
  // them can still fall inside the restart, e.g. a reconnect mid-tick, hence a few ticks).
  const seen: string[] = [];
  await waitFor(
    async () => {
      const x = byAddress(await r.gather(), s.address);
      seen.push(
        `up=${x.up} run_id=${String(x.info.run_id)} uptime=${String(x.info.uptime_in_seconds)} cmds=${String(x.info.total_commands_processed)} valid=${x.rates?.valid}`,
      );
      return x.rates?.valid === true;
    },
    { what: 'valid rates on the restarted counters', timeoutMs: 5_000, intervalMs: 50 },
  );
  assert.ok(seen.length <= 3, `valid again within three ticks: ${seen.join(' | ')}`);
});

test('an address where nothing listens is down with "connection refused" from the first tick', async (t) => {
  const port = await freePort();
  const r = await rig(t, [{ address: `127.0.0.1:${port}` }]);
  const acc = await r.gather();
  assert.equal(acc.redis[0]!.up, false);
  assert.equal(acc.redis[0]!.error, 'connection refused');
  assert.deepEqual(
    acc.events.map((e) => e.kind),
    ['instance.down'],
  );
});
