// codis parsers, sample builder and rates on every real capture in test/fixtures/codis.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  CodisRates,
  ProxyParseError,
  codisDashboardXAuth,
  codisGroupMasters,
  codisProxyXAuth,
  codisSample,
  parseCodisError,
  parseCodisInfluxLine,
  parseCodisModel,
  parseCodisOverview,
  parseCodisSlots,
  parseCodisStats,
  parseCodisStatsd,
  parseGoTime,
  parseTopomGroupInfo,
  parseTopomModel,
  parseTopomOverview,
  parseTopomSentinelInfo,
  parseTopomSentinelMonitored,
  parseTopomStats,
  redactXAuth,
  summarizeCodisSlots,
  topomSentinelMajority,
  type CodisStats,
  type TopomStats,
} from '../proxy/index.js';
import { valueOf, type ProxyItem, type ProxySample } from '../proto/index.js';
import { fixturePath } from './fixtures.js';

const DIR = fixturePath('codis');
const read = (f: string): string => fs.readFileSync(path.join(DIR, f), 'utf8');
/** Body of a captured HTTP request (headers, blank line, body). */
const httpBody = (f: string): string => {
  const t = read(f);
  const i = t.indexOf('\r\n\r\n') >= 0 ? t.indexOf('\r\n\r\n') + 4 : t.indexOf('\n\n') + 2;
  assert.ok(i > 2, `${f} has a header/body separator`);
  return t.slice(i);
};

const field = (s: ProxySample | ProxyItem, k: string) => valueOf(s.fields[k]);
const items = (s: ProxySample, kind: string) => s.items.filter((i) => i.kind === kind);
const group = (s: ProxySample, id: string) => {
  const g = s.items.find((i) => i.kind === 'group' && i.tags.group === id);
  assert.ok(g, `group ${id} item present`);
  return g;
};
const command = (s: ProxySample, name: string) => {
  const c = s.items.find((i) => i.kind === 'command' && i.tags.command === name);
  assert.ok(c, `command ${name} item present`);
  return c;
};

const modelA = () => parseCodisModel(read('proxy-model.json'));
const modelB = () => parseCodisModel(read('proxy-model-cluster.json'));
const sampleOf = (statsFile: string, model = modelA(), slotsFile?: string) =>
  codisSample({
    address: '127.0.0.1:11080',
    stats: parseCodisStats(read(statsFile)),
    model,
    slots: slotsFile ? parseCodisSlots(read(slotsFile)) : undefined,
  });
const rusageMs = (s: CodisStats) => {
  assert.ok(s.rusage.nowMs !== undefined);
  return s.rusage.nowMs;
};

/** The 14 codis_usage field names codis pushes (reference/codis.md §4). */
const PUSH_FIELDS = [
  'ops_total',
  'ops_fails',
  'ops_redis_errors',
  'ops_qps',
  'sessions_total',
  'sessions_alive',
  'rusage_mem',
  'rusage_cpu',
  'runtime_gc_num',
  'runtime_gc_total_pausems',
  'runtime_num_procs',
  'runtime_num_goroutines',
  'runtime_num_cgo_call',
  'runtime_num_mem_offheap',
];

function checkStatsFlags(file: string, want: { commands: boolean; runtime: boolean }): void {
  const stats = parseCodisStats(read(file));
  assert.equal(stats.ops.commands !== undefined, want.commands, `${file}: commands`);
  assert.equal(stats.runtime !== undefined, want.runtime, `${file}: runtime`);
  const s = sampleOf(file);
  assert.equal(items(s, 'command').length, want.commands ? stats.ops.commands!.length : 0);
  assert.equal(field(s, 'runtime_gc_num') !== undefined, want.runtime);
  // Scenario A's three flag captures were taken in the same second of load.
  assert.equal(field(s, 'ops_total'), 17920);
  assert.equal(field(s, 'ops_qps'), 1569);
  assert.equal(field(s, 'ops_fails'), 1, 'the 9th connection refused by proxy_max_clients');
  assert.equal(field(s, 'sessions_alive'), 8);
}

function checkTopomBasics(t: TopomStats): void {
  assert.equal(t.slots.length, 1024);
  for (const g of t.groups) {
    assert.equal(g.master, g.servers[0]!.addr);
    assert.equal(g.servers[0]!.role, 'master');
    for (const s of g.servers.slice(1)) assert.equal(s.role, 'replica');
  }
}

const groupOf = (t: TopomStats, id: number) => {
  const g = t.groups.find((x) => x.id === id);
  assert.ok(g, `group ${id}`);
  return g;
};
const serverOf = (t: TopomStats, addr: string) => {
  const s = t.groups.flatMap((g) => g.servers).find((x) => x.addr === addr);
  assert.ok(s, `server ${addr}`);
  return s;
};
const majority = (t: TopomStats) => Object.fromEntries(topomSentinelMajority(t).map((m) => [String(m.group), m.master]));

const CHECKS: Record<string, () => void> = {
  'metrics-influxdb-write.txt': () => {
    const p = parseCodisInfluxLine(httpBody('metrics-influxdb-write.txt'));
    assert.equal(p.measurement, 'codis_usage');
    assert.deepEqual(p.tags, {
      admin_addr: '127.0.0.1:11081',
      hostname: 'vm',
      product_name: 'codis-fixture-b',
      proxy_addr: '127.0.0.1:19001',
      token: '63953b5e4c6c4ea5c438edcc269800af',
    });
    assert.deepEqual(Object.keys(p.fields).sort(), [...PUSH_FIELDS].sort());
    assert.equal(p.fields.runtime_gc_total_pausems, 4, 'the quoted uint64 decodes to a number');
    assert.equal(p.fields.ops_total, 7687);
    assert.equal(p.timestampNs, '1795345632640055662');
    // Same reporter tick as the JSON POST: our polled field names and values match codis's own push.
    const polled = codisSample({ address: '', ...parseCodisOverviewStrict(httpBody('metrics-report-json-post.txt')) });
    for (const k of PUSH_FIELDS) {
      if (k === 'runtime_num_goroutines') continue; // goroutine count moved between the two reporters' reads
      assert.equal(field(polled, k), p.fields[k], k);
    }
  },
  'metrics-report-json-post.txt': () => {
    const ov = parseCodisOverview(httpBody('metrics-report-json-post.txt'));
    assert.equal(ov.config?.proxyMaxClients, 1000);
    assert.equal(ov.model?.token, '63953b5e4c6c4ea5c438edcc269800af');
    assert.ok(ov.stats?.runtime, 'StatsRuntime flag: runtime present');
    assert.equal(ov.stats?.ops.commands, undefined, 'no per-command stats in pushes');
    assert.equal(ov.slots, undefined);
    const s = codisSample({ address: '127.0.0.1:11081', ...parseCodisOverviewStrict(httpBody('metrics-report-json-post.txt')) });
    assert.equal(field(s, 'proxy_max_clients'), 1000);
    assert.equal(field(s, 'sessions_ratio'), 1 / 1000);
    assert.equal(items(s, 'command').length, 0);
    // Without a slot table the sentinel view is the group map.
    assert.equal(field(group(s, '1'), 'sentinel_master'), '127.0.0.1:16381');
    assert.equal(field(group(s, '2'), 'sentinel_master'), '127.0.0.1:16383');
  },
  'metrics-statsd-udp.txt': () => {
    const g = parseCodisStatsd(read('metrics-statsd-udp.txt'));
    assert.equal(g.prefix, 'codis.fixture');
    assert.equal(g.productName, 'codis-fixture-b');
    assert.equal(g.adminAddr, '127.0.0.1:11081');
    assert.equal(g.proxyAddr, '127.0.0.1:19001');
    assert.deepEqual(Object.keys(g.fields).sort(), [...PUSH_FIELDS].sort());
    const polled = codisSample({ address: '', ...parseCodisOverviewStrict(httpBody('metrics-report-json-post.txt')) });
    for (const k of PUSH_FIELDS) assert.equal(field(polled, k), g.fields[k], k);
  },
  'proxy-error-bad-xauth.json': () => {
    const e = parseCodisError(read('proxy-error-bad-xauth.json'));
    assert.equal(e.cause, 'invalid xauth, please check product name & auth');
    assert.deepEqual(e.stack, []);
    // Fed to the stats parser by mistake, the body is rejected naming what is missing.
    assert.throws(
      () => parseCodisStats(read('proxy-error-bad-xauth.json')),
      (err: unknown) => err instanceof ProxyParseError && /^codis stats: ops: expected an object, got nothing$/.test(err.message),
    );
  },
  'proxy-model.json': () => {
    const m = modelA();
    assert.equal(m.token, 'eb9f3d61799cbde5d498c361aec518d3');
    assert.equal(m.productName, 'codis-fixture-a');
    assert.equal(m.adminAddr, '127.0.0.1:11080');
    assert.equal(m.proxyAddr, '127.0.0.1:19000');
    assert.equal(m.pid, 11374);
    assert.equal(m.id, 0, 'standalone proxy: no dashboard id');
    assert.equal(m.startTime, '2026-11-22 11:03:58.046717794 +0000 UTC');
    assert.equal(m.startTimeMs, Date.UTC(2026, 10, 22, 11, 3, 58, 46));
    // The README's xauth for scenario A: product, empty product_auth, token.
    assert.equal(codisProxyXAuth(m.productName, '', m.token), 'e484b0ed8693813c098cf3b4136a7848');
  },
  'proxy-model-cluster.json': () => {
    const m = modelB();
    assert.equal(m.productName, 'codis-fixture-b');
    assert.equal(m.adminAddr, '127.0.0.1:11081');
    assert.equal(codisProxyXAuth(m.productName, 'fixture-pass', m.token), '3a50de2c25fabbdef4d1035f8c22f589');
    assert.notEqual(m.startTime, modelA().startTime);
  },
  'proxy-overview.json': () => {
    const ov = parseCodisOverview(read('proxy-overview.json'));
    assert.match(ov.version, /3\.2\.2-12-gde1ad026$/);
    assert.equal(ov.config?.proxyMaxClients, 8);
    assert.equal(ov.config?.productName, 'codis-fixture-a');
    assert.equal(ov.slots?.length, 1024);
    const s = codisSample({ address: '127.0.0.1:11080', ...parseCodisOverviewStrict(read('proxy-overview.json')) });
    assert.equal(s.name, 'codis-fixture-a');
    assert.equal(field(s, 'proxy_max_clients'), 8);
    assert.equal(field(s, 'sessions_alive'), 8);
    assert.equal(field(s, 'sessions_ratio'), 1, 'at the client limit');
    assert.equal(field(s, 'slots_unassigned'), 24);
    assert.equal(field(s, 'version'), ov.version);
    assert.equal(items(s, 'command').length, 18);
    const g = group(s, '1');
    assert.equal(field(g, 'master'), '127.0.0.1:16379');
    assert.equal(field(g, 'slots'), 1000);
    assert.equal(field(s, 'groups'), 1);
  },
  'proxy-slots.json': () => {
    const slots = parseCodisSlots(read('proxy-slots.json'));
    assert.ok(
      slots.every((x) => x.forwardMethod === 1),
      'semi-async forwarding everywhere',
    );
    const sum = summarizeCodisSlots(slots);
    assert.deepEqual(
      sum.groups.map((g) => [g.group, g.master, g.slots, g.addresses.length]),
      [
        [1, '127.0.0.1:16381', 512, 1],
        [2, '127.0.0.1:16383', 512, 1],
      ],
    );
    assert.deepEqual(sum.unassigned, []);
    assert.deepEqual(sum.migrating, []);
  },
  'proxy-slots-after-failover.json': () => {
    const before = codisGroupMasters(parseCodisSlots(read('proxy-slots.json')));
    const after = codisGroupMasters(parseCodisSlots(read('proxy-slots-after-failover.json')));
    assert.equal(before['1'], '127.0.0.1:16381');
    assert.equal(after['1'], '127.0.0.1:16382', 'group 1 follows the sentinel failover');
    assert.equal(after['2'], before['2'], 'group 2 untouched');
  },
  'proxy-slots-migrating.json': () => {
    const sum = summarizeCodisSlots(parseCodisSlots(read('proxy-slots-migrating.json')));
    assert.deepEqual(sum.migrating, [{ slot: 1000, fromAddr: '127.0.0.1:16383', fromGroup: 2, toAddr: '127.0.0.1:16381', toGroup: 1 }]);
    const s = sampleOf('proxy-stats-cluster.json', modelB(), 'proxy-slots-migrating.json');
    assert.equal(field(s, 'slots_migrating'), 1);
    assert.equal(field(group(s, '1'), 'migrating_in'), 1);
    assert.equal(field(group(s, '1'), 'slots'), 513);
    assert.equal(field(group(s, '2'), 'migrating_out'), 1);
    assert.equal(field(group(s, '2'), 'slots'), 511);
  },
  'proxy-slots-standalone.json': () => {
    const sum = summarizeCodisSlots(parseCodisSlots(read('proxy-slots-standalone.json')));
    assert.deepEqual(
      sum.unassigned,
      Array.from({ length: 24 }, (_, i) => 1000 + i),
    );
    assert.equal(sum.assigned, 1000);
    assert.deepEqual(
      sum.groups.map((g) => [g.group, g.master]),
      [[1, '127.0.0.1:16379']],
    );
  },
  'proxy-stats.json': () => {
    const s = sampleOf('proxy-stats.json');
    const cmds = items(s, 'command');
    assert.equal(cmds.length, 18);
    assert.deepEqual(
      cmds.map((c) => c.tags.command),
      [...cmds.map((c) => c.tags.command)].sort(),
      'codis sorts by opstr',
    );
    const get = command(s, 'GET');
    assert.equal(field(get, 'calls'), 8830);
    assert.equal(field(get, 'usec'), 923107);
    assert.equal(field(get, 'usec_per_call'), 923107 / 8830);
    assert.equal(field(get, 'redis_errors'), 9);
    assert.equal(field(command(s, 'KEYS'), 'redis_errors'), 1, 'KEYS refused by the proxy');
    // Every error reply is counted once per command and once in ops.redis.errors.
    assert.equal(
      cmds.reduce((n, c) => n + Number(field(c, 'redis_errors')), 0),
      field(s, 'ops_redis_errors'),
    );
    assert.equal(field(s, 'ops_fails'), 1);
    assert.equal(field(s, 'rusage_cpu_time_ms'), 460 + 1440);
    assert.equal(field(s, 'runtime_num_mem_offheap'), 7340032);
    assert.equal(field(s, 'proxy_max_clients'), undefined, 'not in /proxy/stats');
  },
  'proxy-stats-idle.json': () => {
    const s = sampleOf('proxy-stats-idle.json');
    assert.equal(field(s, 'ops_qps'), 0);
    assert.equal(field(s, 'ops_total'), 0);
    assert.equal(field(s, 'sessions_total'), 0);
    assert.equal(field(s, 'online'), 1);
    assert.equal(items(s, 'command').length, 0, 'no command seen yet');
  },
  'proxy-stats-flags0.json': () => checkStatsFlags('proxy-stats-flags0.json', { commands: false, runtime: false }),
  'proxy-stats-flags1.json': () => checkStatsFlags('proxy-stats-flags1.json', { commands: true, runtime: false }),
  'proxy-stats-flags4.json': () => checkStatsFlags('proxy-stats-flags4.json', { commands: false, runtime: true }),
  'proxy-stats-cluster.json': () => {
    const s = sampleOf('proxy-stats-cluster.json', modelB(), 'proxy-slots.json');
    assert.equal(field(s, 'sentinels_servers'), 3);
    assert.equal(field(s, 'sentinels_switched'), 0);
    assert.equal(field(group(s, '1'), 'sentinel_master'), '127.0.0.1:16381');
    assert.equal(field(group(s, '1'), 'sentinel_agrees'), 1);
    assert.equal(field(command(s, 'AUTH'), 'redis_errors'), 1, 'one wrong session password');
  },
  'proxy-stats-cluster-after-failover.json': () => {
    const s = sampleOf('proxy-stats-cluster-after-failover.json', modelB(), 'proxy-slots-after-failover.json');
    assert.equal(field(s, 'sentinels_switched'), 1);
    assert.equal(field(group(s, '1'), 'master'), '127.0.0.1:16382');
    assert.equal(field(group(s, '1'), 'sentinel_master'), '127.0.0.1:16382');
    assert.equal(field(group(s, '1'), 'sentinel_agrees'), 1);
    // Against the pre-failover slot table the proxy's sentinel view disagrees for group 1 only.
    const stale = sampleOf('proxy-stats-cluster-after-failover.json', modelB(), 'proxy-slots.json');
    assert.equal(field(group(stale, '1'), 'sentinel_agrees'), 0);
    assert.equal(field(group(stale, '2'), 'sentinel_agrees'), 1);
  },
  'topom-group-info.json': () => {
    const g = parseTopomGroupInfo(read('topom-group-info.json'));
    assert.equal(g.role, 'slave');
    assert.equal(g.masterAddr, '127.0.0.1:16381');
    assert.equal(g.masterLinkStatus, 'up');
    assert.equal(g.maxmemory, 0);
    assert.equal(g.info.redis_version, '3.2.11');
  },
  'topom-model.json': () => {
    const m = parseTopomModel(read('topom-model.json'));
    assert.equal(m.productName, 'codis-fixture-b');
    assert.equal(m.adminAddr, '127.0.0.1:18080');
    assert.equal(m.token, 'e4a8b45e04161c633a8fb3f7cb57af10');
    assert.equal(m.startTimeMs, Date.UTC(2026, 10, 22, 11, 5, 37, 506));
    assert.equal(codisDashboardXAuth(m.productName), 'd377445cf5af4b462d740f9740fa121e');
  },
  'topom-overview.json': () => {
    const o = parseTopomOverview(read('topom-overview.json'));
    assert.equal(o.config?.productName, 'codis-fixture-b');
    assert.equal(o.config?.coordinatorName, 'filesystem');
    assert.equal(o.config?.sentinelQuorum, 2);
    assert.equal(o.model?.productName, 'codis-fixture-b');
    assert.ok(o.stats);
    checkTopomBasics(o.stats);
    assert.deepEqual(
      o.stats.groups.map((g) => g.id),
      [1, 2],
    );
    assert.equal(o.stats.proxies[0]?.state, 'online');
  },
  'topom-sentinel-info.json': () => {
    const i = parseTopomSentinelInfo(read('topom-sentinel-info.json'));
    assert.equal(i.tilt, false);
    assert.deepEqual(
      i.masters.map((m) => [m.name, m.status, m.address, m.sentinels]),
      [
        ['codis-fixture-b-1', 'ok', '127.0.0.1:16381', 3],
        ['codis-fixture-b-2', 'ok', '127.0.0.1:16383', 3],
      ],
    );
  },
  'topom-sentinel-monitored.json': () => {
    const m = parseTopomSentinelMonitored(read('topom-sentinel-monitored.json'));
    assert.deepEqual(
      m.map((x) => [x.name, x.group, x.master, x.quorum, x.numSlaves]),
      [
        ['codis-fixture-b-1', 1, '127.0.0.1:16381', 2, 1],
        ['codis-fixture-b-2', 2, '127.0.0.1:16383', 2, 0],
      ],
    );
    assert.deepEqual(
      m[0]!.slaves.map((s) => [s.addr, s.masterLinkStatus]),
      [['127.0.0.1:16382', 'ok']],
    );
  },
  'topom-slots.json': () => {
    const sum = summarizeCodisSlots(parseCodisSlots(read('topom-slots.json')));
    assert.deepEqual(
      sum.groups.map((g) => [g.group, g.master, g.slots]),
      [
        [1, '127.0.0.1:16381', 512],
        [2, '127.0.0.1:16383', 512],
      ],
    );
  },
  'topom-stats.json': () => {
    const t = parseTopomStats(read('topom-stats.json'));
    checkTopomBasics(t);
    assert.deepEqual(
      t.groups.map((g) => [g.id, g.master, g.servers.map((s) => `${s.addr}:${s.role}:${s.infoRole}`)]),
      [
        [1, '127.0.0.1:16381', ['127.0.0.1:16381:master:master', '127.0.0.1:16382:replica:slave']],
        [2, '127.0.0.1:16383', ['127.0.0.1:16383:master:master']],
      ],
    );
    assert.equal(serverOf(t, '127.0.0.1:16382').masterAddr, '127.0.0.1:16381');
    assert.equal(t.proxies.length, 1);
    assert.equal(t.proxies[0]!.state, 'online');
    assert.equal(t.proxies[0]!.stats?.ops.commands, undefined, 'the dashboard reads flags-0 stats');
    assert.deepEqual(t.sentinels.servers, ['127.0.0.1:26381', '127.0.0.1:26382', '127.0.0.1:26383']);
    assert.ok(t.sentinels.stats.every((s) => s.state === 'ok'));
    assert.deepEqual(majority(t), { 1: '127.0.0.1:16381', 2: '127.0.0.1:16383' });
    assert.deepEqual(majority(t), t.sentinels.masters);
    // The proxy's slot table captured in the same steady state routes exactly like the majority.
    assert.deepEqual(codisGroupMasters(parseCodisSlots(read('proxy-slots.json'))), majority(t));
  },
  'topom-stats-empty.json': () => {
    const t = parseTopomStats(read('topom-stats-empty.json'));
    assert.deepEqual([t.groups, t.proxies, t.sentinels.servers], [[], [], []]);
    assert.ok(
      t.slots.every((s) => s.groupId === 0),
      'no slot assigned yet',
    );
    assert.deepEqual(topomSentinelMajority(t), []);
  },
  'topom-stats-migrating.json': () => {
    const t = parseTopomStats(read('topom-stats-migrating.json'));
    checkTopomBasics(t);
    assert.equal(t.slotAction.interval, 500000);
    assert.equal(t.slotAction.progress, '[OK] Slot[1000]@DB[0]=3');
    assert.deepEqual(
      t.slots.filter((s) => s.actionState).map((s) => [s.id, s.groupId, s.actionState, s.targetId]),
      [
        [1000, 2, 'migrating', 1],
        [1001, 2, 'pending', 1],
        [1002, 2, 'pending', 1],
        [1003, 2, 'pending', 1],
      ],
    );
  },
  'topom-stats-master-down.json': () => {
    const t = parseTopomStats(read('topom-stats-master-down.json'));
    checkTopomBasics(t);
    const dead = serverOf(t, '127.0.0.1:16381');
    assert.equal(dead.state, 'error');
    assert.match(dead.error, /connect: connection refused$/);
    assert.equal(groupOf(t, 1).master, '127.0.0.1:16381', 'the dashboard has not failed over yet');
    for (const s of t.sentinels.stats) {
      const m = s.monitored.find((x) => x.group === 1);
      assert.ok(m?.flags.includes('disconnected'), `${s.addr} sees the master disconnected`);
    }
    assert.equal(majority(t)['1'], '127.0.0.1:16381', 'no +switch-master yet');
  },
  'topom-stats-after-failover.json': () => {
    const t = parseTopomStats(read('topom-stats-after-failover.json'));
    checkTopomBasics(t);
    const g1 = groupOf(t, 1);
    assert.deepEqual(
      g1.servers.map((s) => s.addr),
      ['127.0.0.1:16382', '127.0.0.1:16381'],
      'servers[0] swapped',
    );
    assert.equal(g1.outOfSync, true);
    assert.equal(serverOf(t, '127.0.0.1:16382').infoRole, 'master');
    assert.equal(serverOf(t, '127.0.0.1:16381').state, 'error');
    assert.equal(t.proxies[0]!.stats?.sentinels.switched, true);
    assert.deepEqual(majority(t), { 1: '127.0.0.1:16382', 2: '127.0.0.1:16383' });
    assert.deepEqual(codisGroupMasters(parseCodisSlots(read('proxy-slots-after-failover.json'))), majority(t));
    assert.notDeepEqual(codisGroupMasters(parseCodisSlots(read('proxy-slots.json'))), majority(t), 'a stale route is caught');
  },
  'topom-stats-recovered.json': () => {
    const t = parseTopomStats(read('topom-stats-recovered.json'));
    checkTopomBasics(t);
    assert.ok(t.groups.every((g) => !g.outOfSync));
    const old = serverOf(t, '127.0.0.1:16381');
    assert.deepEqual([old.state, old.role, old.infoRole, old.masterAddr], ['ok', 'replica', 'slave', '127.0.0.1:16382']);
    assert.equal(t.proxies[0]!.stats?.sentinels.switched, false);
  },
  'topom-stats-proxy-down.json': () => {
    const t = parseTopomStats(read('topom-stats-proxy-down.json'));
    const p = t.proxies[0]!;
    assert.equal(p.state, 'error');
    assert.equal(p.stats, undefined);
    assert.match(p.error, /connect: connection refused$/);
    assert.match(p.error, /\/api\/proxy\/stats\/<xauth>/);
    assert.ok(!p.error.includes('3a50de2c25fabbdef4d1035f8c22f589'), "the proxy xauth in codis's error text is redacted");
  },
};

/** parseCodisOverview with model and stats required (the sample builder needs both). */
function parseCodisOverviewStrict(text: string) {
  const ov = parseCodisOverview(text);
  assert.ok(ov.stats && ov.model);
  return { stats: ov.stats, model: ov.model, slots: ov.slots, config: ov.config, version: ov.version };
}

test('every codis capture has a parser check, and every check passes', async (t) => {
  const files = fs
    .readdirSync(DIR)
    .filter((f) => f !== 'README.md')
    .sort();
  assert.ok(files.length > 20, `found ${files.length} captures`);
  assert.deepEqual(
    files.filter((f) => !(f in CHECKS)),
    [],
    'captures without a check',
  );
  assert.deepEqual(
    Object.keys(CHECKS).filter((f) => !files.includes(f)),
    [],
    'checks for missing captures',
  );
  for (const f of files) await t.test(f, () => CHECKS[f]!());
});

test('go time strings: monotonic suffix stripped, zone offsets applied, junk is undefined', () => {
  assert.equal(parseGoTime('2026-11-22 11:04:05.047989351 +0000 UTC'), Date.UTC(2026, 10, 22, 11, 4, 5, 47));
  assert.equal(parseGoTime('2018-11-04 16:22:35 +0800 CST'), Date.UTC(2018, 10, 4, 8, 22, 35));
  assert.equal(parseGoTime('yesterday'), undefined);
});

test('codis rates: per-second from counter deltas over the sample interval, per command too', () => {
  const beforeStats = parseCodisStats(read('proxy-stats-cluster.json'));
  const afterStats = parseCodisStats(read('proxy-stats-cluster-after-failover.json'));
  const t0 = rusageMs(beforeStats);
  const t1 = rusageMs(afterStats);
  const rates = new CodisRates();
  const first = rates.annotate(sampleOf('proxy-stats-cluster.json', modelB()), t0);
  assert.equal(field(first, 'rates_valid'), 0);
  assert.equal(field(first, 'counters_reset'), 0);
  assert.equal(field(first, 'ops_per_sec'), undefined);
  const raw = sampleOf('proxy-stats-cluster-after-failover.json', modelB());
  const second = rates.annotate(raw, t1);
  const seconds = (t1 - t0) / 1000;
  assert.equal(field(second, 'rates_valid'), 1);
  assert.equal(field(second, 'ops_per_sec'), (afterStats.ops.total - beforeStats.ops.total) / seconds);
  assert.equal(field(second, 'sessions_per_sec'), (afterStats.sessions.total - beforeStats.sessions.total) / seconds);
  const incrBefore = beforeStats.ops.commands!.find((c) => c.command === 'INCR')!;
  const incrAfter = afterStats.ops.commands!.find((c) => c.command === 'INCR')!;
  const incr = command(second, 'INCR');
  assert.equal(field(incr, 'calls_per_sec'), (incrAfter.calls - incrBefore.calls) / seconds);
  assert.equal(field(incr, 'interval_usec_per_call'), (incrAfter.usecs - incrBefore.usecs) / (incrAfter.calls - incrBefore.calls));
  // annotate returns a copy: the sample it was given is not modified.
  assert.equal(raw.fields.ops_per_sec, undefined);
  assert.equal(command(raw, 'INCR').fields.calls_per_sec, undefined);
});

test('codis rates: a command first seen in the interval is rated from zero', () => {
  const idle = parseCodisStats(read('proxy-stats-idle.json'));
  const busy = parseCodisStats(read('proxy-stats.json'));
  const rates = new CodisRates();
  rates.update(sampleOf('proxy-stats-idle.json'), rusageMs(idle));
  const r = rates.update(sampleOf('proxy-stats.json'), rusageMs(busy));
  assert.equal(r.valid, true);
  const seconds = (rusageMs(busy) - rusageMs(idle)) / 1000;
  assert.equal(r.opsPerSec, busy.ops.total / seconds);
  assert.equal(r.commands.GET?.callsPerSec, 8830 / seconds);
  assert.equal(r.failsPerSec, 1 / seconds);
});

test('codis rates: a restart (new start_time) or a stats reset (counters down) is a reset, not a negative rate', () => {
  const rates = new CodisRates();
  rates.update(sampleOf('proxy-stats.json', modelA()), 1_000);
  const restarted = rates.update(sampleOf('proxy-stats.json', modelB()), 11_000);
  assert.deepEqual([restarted.valid, restarted.reset], [false, true]);
  assert.match(restarted.reason, /restarted/);
  // The new process is the baseline now: the next sample of it rates normally.
  const next = rates.update(sampleOf('proxy-stats.json', modelB()), 21_000);
  assert.deepEqual([next.valid, next.reset, next.opsPerSec], [true, false, 0]);
  // PUT /api/proxy/stats/reset zeroes ops.total in the same process.
  const reset = rates.update(sampleOf('proxy-stats-idle.json', modelB()), 31_000);
  assert.deepEqual([reset.valid, reset.reset], [false, true]);
  assert.match(reset.reason, /ops_total went down/);
  const annotated = new CodisRates();
  annotated.annotate(sampleOf('proxy-stats.json'), 1_000);
  const after = annotated.annotate(sampleOf('proxy-stats-idle.json'), 2_000);
  assert.deepEqual([field(after, 'rates_valid'), field(after, 'counters_reset'), field(after, 'ops_per_sec')], [0, 1, undefined]);
});

test('codis rates: a down sample neither rates nor replaces the baseline', () => {
  const rates = new CodisRates();
  rates.update(sampleOf('proxy-stats-idle.json'), 0);
  const down: ProxySample = { kind: 'codis', address: 'x', name: '', up: false, error: 'timed out', fields: {}, items: [] };
  assert.equal(rates.update(down, 5_000).valid, false);
  assert.equal(rates.annotate(down, 5_000), down, 'a down sample is returned as is');
  const r = rates.update(sampleOf('proxy-stats.json'), 10_000);
  assert.equal(r.valid, true);
  assert.equal(r.opsPerSec, 17845 / 10);
});

test('codis parse errors name the document and the key', () => {
  const bad = JSON.parse(read('proxy-stats-idle.json')) as { ops: { total: unknown } };
  bad.ops.total = 'many';
  assert.throws(() => parseCodisStats(JSON.stringify(bad)), /^ProxyParseError: codis stats: ops\.total: expected a number, got "many"$/);
  assert.throws(() => parseCodisStats('<html>'), /codis stats: malformed JSON/);
  assert.throws(() => parseCodisSlots('{"id": 1}'), /codis slots: expected an array of slots/);
  assert.throws(() => parseCodisSlots('[{"id": 1}, {"id": 1}]'), /codis slots: \[1\]\.id: slot 1 listed twice/);
  assert.throws(() => parseCodisModel('{"token": "t"}'), /codis model: start_time: expected a string, got nothing/);
  assert.throws(
    () => parseTopomStats('{"group": {}, "proxy": {}, "sentinels": {"masters": {"1": 2}}}'),
    /topom stats: sentinels\.masters\.1: expected a string, got 2/,
  );
  // A non-JSON error body still yields a cause.
  assert.equal(parseCodisError('404 page not found\n').cause, '404 page not found');
});

test('xauth values are redacted from any codis text', () => {
  assert.equal(
    redactXAuth('Get "http://h:1/api/proxy/stats/3a50de2c25fabbdef4d1035f8c22f589/5": refused'),
    'Get "http://h:1/api/proxy/stats/<xauth>/5": refused',
  );
  assert.equal(redactXAuth('/api/topom/stats/d377445cf5af4b462d740f9740fa121e'), '/api/topom/stats/<xauth>');
  assert.equal(
    redactXAuth('token eb9f3d61799cbde5d498c361aec518d3 is public'),
    'token eb9f3d61799cbde5d498c361aec518d3 is public',
    'only path segments',
  );
});
