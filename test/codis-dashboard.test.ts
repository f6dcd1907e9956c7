// codis-dashboard (topom) captures → the codis_dashboard sample (groups, migration queue,
// per-server / per-Sentinel / per-proxy state) and the poller's migration-stall clock,
// served by a loopback HTTP server answering like the dashboard's admin API.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { valueOf, type DashboardSample } from '../proto/index.js';
import { CodisDashboardPoller, dashboardSample, parseTopomOverview, parseTopomStats, pollCodisDashboard } from '../proxy/index.js';
import { Accumulator, DashboardsInput, Targets } from '../agent/index.js';
import { identifyProcess } from '../agent/discovery/index.js';
import { readFixture } from './fixtures.js';
import { harness, waitFor } from './harness/index.js';
import { agentConfig, memoryLogger } from './agent-support.js';

const read = (f: string) => readFixture('codis', f);
const field = (s: DashboardSample, k: string) => valueOf(s.fields[k]);
const items = (s: DashboardSample, kind: string) => s.items.filter((i) => i.kind === kind);
const fromStats = (f: string, productName?: string) =>
  dashboardSample(
    { address: '127.0.0.1:18080', productName },
    { version: '', compile: '', config: undefined, model: undefined, stats: parseTopomStats(read(f)) },
  );

/** The captured /topom overview with another capture's stats in it. */
function overviewWith(statsFile: string): string {
  const ov = JSON.parse(read('topom-overview.json')) as Record<string, unknown>;
  ov.stats = JSON.parse(read(statsFile));
  return JSON.stringify(ov);
}

test('GET /topom of a healthy product: version, model, 2 groups, 3 servers, 3 Sentinels, 1 online proxy', () => {
  const s = dashboardSample(
    { address: '127.0.0.1:18080', productName: 'codis-fixture-b' },
    parseTopomOverview(read('topom-overview.json')),
  );
  assert.deepEqual([s.up, s.error, s.product], [true, '', 'codis-fixture-b']);
  assert.match(String(field(s, 'version')), /@3\.2\.2-12-gde1ad026$/);
  assert.equal(field(s, 'token'), 'e4a8b45e04161c633a8fb3f7cb57af10');
  assert.equal(field(s, 'misconfigured'), 0);
  // Captured with group 1 still out_of_sync (slots assigned to it after its replica joined; never resynced).
  assert.deepEqual(
    [field(s, 'groups'), field(s, 'servers'), field(s, 'servers_unreachable'), field(s, 'groups_out_of_sync')],
    [2, 3, 0, 1],
  );
  assert.deepEqual(
    [field(s, 'sentinels'), field(s, 'sentinels_unreachable'), field(s, 'proxies'), field(s, 'proxies_online')],
    [3, 0, 1, 1],
  );
  assert.equal(Number(field(s, 'slots_assigned')) + Number(field(s, 'slots_unassigned')), 1024);
  assert.equal(field(s, 'migration_queue'), 0);
  assert.deepEqual(
    items(s, 'group').map((g) => [g.tags.group, valueOf(g.fields.master), valueOf(g.fields.servers)]),
    [
      ['1', '127.0.0.1:16381', 2],
      ['2', '127.0.0.1:16383', 1],
    ],
  );
  assert.deepEqual(
    items(s, 'server').map((x) => [x.tags.server, valueOf(x.fields.is_master), valueOf(x.fields.up), valueOf(x.fields.info_role)]),
    [
      ['127.0.0.1:16381', 1, 1, 'master'],
      ['127.0.0.1:16382', 0, 1, 'slave'],
      ['127.0.0.1:16383', 1, 1, 'master'],
    ],
  );
  assert.deepEqual(
    items(s, 'sentinel').map((x) => [x.tags.sentinel, valueOf(x.fields.up), valueOf(x.fields.masters)]),
    [
      ['127.0.0.1:26381', 1, 2],
      ['127.0.0.1:26382', 1, 2],
      ['127.0.0.1:26383', 1, 2],
    ],
  );
  assert.deepEqual(
    items(s, 'proxy').map((x) => [x.tags.proxy, valueOf(x.fields.state), valueOf(x.fields.online)]),
    [['127.0.0.1:11081', 'online', 1]],
  );
});

test('during a slot migration: the queue per state, the progress line, the out-of-sync group', () => {
  const s = fromStats('topom-stats-migrating.json');
  assert.deepEqual(
    ['pending', 'preparing', 'prepared', 'migrating', 'finished', 'queue'].map((k) => field(s, `migration_${k}`)),
    [3, 0, 0, 1, 0, 4],
  );
  assert.equal(field(s, 'migration_progress'), '[OK] Slot[1000]@DB[0]=3');
  assert.equal(field(s, 'migration_interval_us'), 500000);
  assert.equal(field(s, 'migration_disabled'), 0);
  assert.equal(field(s, 'groups_out_of_sync'), 1);
  assert.deepEqual(
    items(s, 'group').map((g) => [g.tags.group, valueOf(g.fields.out_of_sync)]),
    [
      ['1', 1],
      ['2', 0],
    ],
  );
});

test("a master down: the dashboard's own error for that server, counted per group and product", () => {
  const s = fromStats('topom-stats-master-down.json');
  assert.equal(field(s, 'servers_unreachable'), 1);
  const down = items(s, 'server').find((x) => x.tags.server === '127.0.0.1:16381')!;
  assert.deepEqual([down.tags.group, valueOf(down.fields.up), valueOf(down.fields.timeout)], ['1', 0, 0]);
  assert.equal(valueOf(down.fields.error), 'dial tcp 127.0.0.1:16381: connect: connection refused');
  assert.equal(valueOf(items(s, 'group').find((g) => g.tags.group === '1')!.fields.servers_unreachable), 1);
  // After the failover the dashboard's servers[0] is the promoted replica, and the group is out of sync.
  const after = fromStats('topom-stats-after-failover.json');
  const g1 = items(after, 'group').find((g) => g.tags.group === '1')!;
  assert.deepEqual([valueOf(g1.fields.master), valueOf(g1.fields.out_of_sync)], ['127.0.0.1:16382', 1]);
});

test('a proxy the dashboard cannot reach: state error with its cause, the xauth in the URL redacted', () => {
  const s = fromStats('topom-stats-proxy-down.json');
  assert.deepEqual([field(s, 'proxies'), field(s, 'proxies_online'), field(s, 'proxies_unreachable')], [1, 0, 1]);
  const p = items(s, 'proxy')[0]!;
  assert.deepEqual(
    [p.tags.proxy, valueOf(p.fields.state), valueOf(p.fields.up), valueOf(p.fields.online)],
    ['127.0.0.1:11081', 'error', 0, 0],
  );
  const error = String(valueOf(p.fields.error));
  assert.match(error, /^Get "http:\/\/127\.0\.0\.1:11081\/api\/proxy\/stats\/<xauth>": dial tcp/);
  assert.ok(!JSON.stringify(s).includes('3a50de2c25fabbdef4d1035f8c22f589'), 'the xauth never reaches the sample');
});

test('a fresh product: nothing assigned; another product or no stats is misconfigured with the reason', () => {
  const empty = fromStats('topom-stats-empty.json');
  assert.deepEqual(
    [field(empty, 'groups'), field(empty, 'slots_assigned'), field(empty, 'slots_unassigned'), field(empty, 'proxies')],
    [0, 0, 1024, 0],
  );
  const other = dashboardSample({ address: 'd:1', productName: 'codis-prod' }, parseTopomOverview(read('topom-overview.json')));
  assert.equal(field(other, 'misconfigured'), 1);
  assert.equal(field(other, 'misconfigured_reason'), 'dashboard serves product "codis-fixture-b", expected "codis-prod"');
  const ov = JSON.parse(read('topom-overview.json')) as Record<string, unknown>;
  delete ov.stats;
  const offline = dashboardSample({ address: 'd:1' }, parseTopomOverview(JSON.stringify(ov)));
  assert.match(String(field(offline, 'misconfigured_reason')), /not online/);
  assert.equal(field(offline, 'groups'), undefined);
});

async function topom(t: TestContext, body: () => { status: number; text: string }): Promise<string> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/topom') return void res.writeHead(404).end('404 page not found');
    const b = body();
    res.writeHead(b.status, { 'content-type': 'application/json; charset=utf-8' }).end(b.text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('CodisDashboardPoller: seconds the migration queue has not moved, reset by any change, 0 once drained', async (t) => {
  let doc = overviewWith('topom-stats-migrating.json');
  const address = await topom(t, () => ({ status: 200, text: doc }));
  const poller = new CodisDashboardPoller({ adminAddress: address, timeoutMs: 5000 });
  let now = 1_000_000;
  const clock = () => now;
  assert.equal(field(await poller.poll(clock), 'migration_stalled_seconds'), 0);
  now += 7_500;
  assert.equal(field(await poller.poll(clock), 'migration_stalled_seconds'), 7.5, 'same queue, same progress line');
  // The executor moved on: one slot less pending, one more migrating.
  const moved = JSON.parse(doc) as { stats: { slots: Array<{ action?: { state?: string } }> } };
  moved.stats.slots.find((x) => x.action?.state === 'pending')!.action!.state = 'migrating';
  doc = JSON.stringify(moved);
  now += 1_000;
  assert.equal(field(await poller.poll(clock), 'migration_stalled_seconds'), 0);
  now += 2_000;
  assert.equal(field(await poller.poll(clock), 'migration_stalled_seconds'), 2);
  doc = overviewWith('topom-stats.json');
  now += 60_000;
  const drained = await poller.poll(clock);
  assert.deepEqual([field(drained, 'migration_queue'), field(drained, 'migration_stalled_seconds')], [0, 0]);
});

test('a dashboard that errors, answers garbage or is not there: up=false with the reason, never a throw', async (t) => {
  let reply = { status: 800, text: '{"Cause": "topom is not online", "Stack": null}' };
  const address = await topom(t, () => reply);
  const notOnline = await pollCodisDashboard({ adminAddress: address, timeoutMs: 5000 });
  assert.deepEqual([notOnline.up, notOnline.error], [false, 'codis /topom: HTTP 800: topom is not online']);
  reply = { status: 200, text: '{"version": 1' };
  const garbage = await pollCodisDashboard({ adminAddress: address, productName: 'p', name: 'main', timeoutMs: 5000 });
  assert.equal(garbage.up, false);
  assert.match(garbage.error, /malformed JSON/);
  assert.deepEqual([garbage.product, garbage.name, garbage.fields, garbage.items], ['p', 'main', {}, []]);
  const bad = await pollCodisDashboard({ adminAddress: 'nohost', timeoutMs: 5000 });
  assert.equal(bad.error, 'bad admin address "nohost" (want host:port)');
});

test('discovery knows a codis-dashboard process; Targets gives discovered local codis-servers their dashboard group', () => {
  assert.equal(
    identifyProcess(['/opt/codis/bin/codis-dashboard', '--config=dashboard.toml', '--log=dashboard.log'], 'codis-dashboard'),
    'codis-dashboard',
  );
  assert.equal(identifyProcess(['/opt/codis/bin/codis-proxy', '--config=proxy.toml'], 'codis-proxy'), 'codis-proxy');

  const configured = { host: '127.0.0.1', port: 6379, address: '127.0.0.1:6379', cluster: 'mine', group: 'g-own' };
  const targets = new Targets([configured], []);
  const discovered = [
    { host: '127.0.0.1', port: 6380, address: '127.0.0.1:6380', cluster: '', group: '' },
    { host: '127.0.0.1', port: 6381, address: '127.0.0.1:6381', cluster: 'rule-cluster', group: '' },
    { host: '127.0.0.1', port: 6382, address: '127.0.0.1:6382', cluster: '', group: '' },
  ];
  targets.setDiscovered(discovered, []);
  targets.setCodisMembership([
    { address: '127.0.0.1:6379', product: 'p', group: '9' }, // configured: keeps its own
    { address: '127.0.0.1:6380', product: 'p', group: '1' },
    { address: 'localhost:6381', product: 'p', group: '2' },
    { address: '203.0.113.7:6382', product: 'p', group: '3' }, // same port on another host: not this one
  ]);
  assert.deepEqual(
    targets.redis.map((r) => [r.address, r.cluster, r.group]),
    [
      ['127.0.0.1:6379', 'mine', 'g-own'],
      ['127.0.0.1:6380', 'p', '1'],
      ['127.0.0.1:6381', 'rule-cluster', '2'],
      ['127.0.0.1:6382', '', ''],
    ],
  );
  // A rescan brings fresh configs: the group the dashboard gave is applied again at once.
  targets.setDiscovered([{ host: '127.0.0.1', port: 6380, address: '127.0.0.1:6380', cluster: '', group: '' }], []);
  assert.deepEqual(
    targets.redis.map((r) => r.group),
    ['g-own', '1'],
  );
});

test('agent dashboards input: a real codis-dashboard dropped from the targets while down gets its dashboard.up for the same instance', async (t) => {
  const h = await harness(t);
  const codis = await h.codis({ product: 'rf-gone', groups: 0, proxies: 0 });
  const targets = new Targets([], []);
  const found = { adminAddress: codis.dashboardAddress, name: '', productName: 'rf-gone', timeoutMs: 2000 };
  targets.setDiscovered([], [], [found]);
  const log = memoryLogger();
  const input = new DashboardsInput({ config: agentConfig({}), logger: log.logger, targets });
  const gather = async (): Promise<Accumulator> => {
    const acc = new Accumulator(Date.now());
    await input.gather(acc);
    return acc;
  };
  assert.equal((await gather()).dashboards[0]?.up, true, 'the dashboard answers first');

  await codis.dashboard.stop();
  const down = (await gather()).events.find((e) => e.kind === 'dashboard.down');
  assert.equal(down?.instance, codis.dashboardAddress);

  // A rescan no longer finds it: the collector resolves CodisDashboardDown on a dashboard.up naming the same instance.
  targets.setDiscovered([], [], []);
  const acc = await gather();
  assert.deepEqual(acc.dashboards, []);
  assert.deepEqual(
    acc.events.map((e) => [e.kind, e.instance, e.message, e.attrs.product, e.attrs.sampled]),
    [['dashboard.up', codis.dashboardAddress, 'dashboard no longer sampled', 'rf-gone', 'false']],
  );
  assert.ok(Number(acc.events[0]!.attrs.downMs) >= 0);
  assert.equal(log.count('codis-dashboard no longer sampled while not answering'), 1);

  // Found again, still down: a new dashboard.down.
  targets.setDiscovered([], [], [found]);
  await waitFor(async () => (await gather()).events.some((e) => e.kind === 'dashboard.down'), {
    what: 'dashboard.down after the rediscovery',
  });
});
