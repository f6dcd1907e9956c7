// Codis as operators see it, against a real Codis 3.2 product (h.codis: codis-dashboard with the
// filesystem coordinator, codis-server groups, codis-proxies, ../shared/codis/bin) → the real
// agent (dashboards[], proxies[]) → gRPC → the real collector → GET /api/v1/codis, the codis_*
// measurements and the built-in Codis rules, notified to a real HTTP receiver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { harness, REPO_ROOT, waitFor, type CodisProduct, type CollectorProcess, type Harness } from './harness/index.js';
import { receiver, type Received } from './alerting-support.js';

const INTERVAL = '300ms';

interface CodisView {
  clusters: Array<{
    product: string;
    dashboards: Array<{ address: string; up: boolean; misconfigured: boolean; version: string | null }>;
    groups: Array<{ id: number; out_of_sync: number; slots: number; servers: Array<{ address: string; up: number; is_master: number }> }>;
    migration: { queue: number | null; pending: number | null; stalledSeconds: number | null; disabled: boolean };
    slots: { assigned: number | null; unassigned: number | null };
    proxies: Array<{ address: string; state: string; online: number }>;
  }>;
}

const firing = (got: Received[], alertname: string, match: Record<string, string> = {}) =>
  got.find(
    (r) =>
      r.body?.status === 'firing' &&
      r.body.alerts?.some(
        (a: { labels: Record<string, string> }) =>
          a.labels.alertname === alertname && Object.entries(match).every(([k, v]) => a.labels[k] === v),
      ),
  );
const resolved = (got: Received[], alertname: string) =>
  got.find(
    (r) =>
      r.body?.status === 'resolved' && r.body.alerts?.some((a: { labels: Record<string, string> }) => a.labels.alertname === alertname),
  );

async function setup(
  h: Harness,
  t: Parameters<typeof receiver>[0],
  overrides: Record<string, unknown>,
): Promise<{ collector: CollectorProcess; rx: { got: Received[] } }> {
  const rx = await receiver(t);
  const collector = await h.collector({
    alerting: {
      builtins: { overrides },
      route: { receiver: 'ops', groupBy: ['alertname', 'instance', 'group', 'proxy'], groupWait: '100ms', groupInterval: '300ms' },
      receivers: [{ name: 'ops', webhook: [{ url: `${rx.url}/hook` }] }],
    },
  });
  return { collector, rx };
}

async function codisView(c: CollectorProcess, product: string): Promise<CodisView['clusters'][number] | undefined> {
  return (await c.api<CodisView>(`/api/v1/codis?product=${product}`)).clusters[0];
}

const dashboardAgent = (codis: CodisProduct, hostId: string) => ({
  hostId,
  interval: INTERVAL,
  roles: ['dashboard'],
  discovery: { enabled: false },
  dashboards: [{ adminAddress: codis.dashboardAddress, productName: codis.product, timeout: '5s' }],
});

test(
  'the dashboard: groups and proxies as it sees them; an out-of-sync group alerts and the resync resolves it',
  { timeout: 180_000 },
  async (t) => {
    const h = await harness(t);
    const codis = await h.codis({ product: 'rf-sync' });
    const { collector, rx } = await setup(h, t, { CodisGroupOutOfSync: { for: '1s' } });
    await h.agent(dashboardAgent(codis, 'codis-dash-1'), { collector });

    const view = await waitFor(
      async () => {
        const v = await codisView(collector, 'rf-sync');
        return v && v.groups.length === 2 && v.proxies.length === 1 ? v : undefined;
      },
      { what: 'the product in GET /api/v1/codis', timeoutMs: 30_000 },
    );
    assert.equal(view.dashboards[0]!.up, true);
    assert.equal(view.dashboards[0]!.misconfigured, false);
    assert.match(String(view.dashboards[0]!.version), /3\.2\.2/);
    assert.deepEqual(view.slots, { assigned: 1024, unassigned: 0 });
    assert.deepEqual(
      view.groups.map((g) => [g.id, g.slots, g.out_of_sync, g.servers.length]),
      [
        [1, 512, 0, 2],
        [2, 512, 0, 2],
      ],
    );
    const g1 = view.groups[0]!;
    assert.deepEqual(
      g1.servers.map((s) => [s.address, s.is_master, s.up]),
      [
        [codis.groups[0]!.master.address, 1, 1],
        [codis.groups[0]!.replicas[0]!.address, 0, 1],
      ],
    );
    assert.deepEqual(
      view.proxies.map((p) => [p.address, p.state, p.online]),
      [[codis.proxies[0]!.adminAddress, 'online', 1]],
    );
    assert.equal(view.migration.queue, 0);

    // A replica joining the read pool of an in-use group leaves the group out of sync until a resync.
    await codis.admin('--replica-groups', '--gid=1', `--addr=${codis.groups[0]!.replicas[0]!.address}`, '--enable');
    await waitFor(async () => (await codisView(collector, 'rf-sync'))?.groups[0]?.out_of_sync === 1, {
      what: 'group 1 out of sync in the view',
      timeoutMs: 20_000,
    });
    // What an operator types: redis-fleet collector codis.
    const cli = await promisify(execFile)(
      process.execPath,
      [path.join(REPO_ROOT, 'dist/cli/main.js'), 'collector', '--url', collector.httpUrl, 'codis'],
      { env: { ...process.env, REDIS_FLEET_TOKEN: collector.apiTokens.viewer } },
    );
    assert.match(cli.stdout, /^product rf-sync: dashboards \S+ up \| slots unassigned 0 \| migration queue 0 /);
    assert.match(
      cli.stdout,
      new RegExp(`\\n1 +${codis.groups[0]!.master.address.replace(/\./g, '\\.')} +2 +0 +512 +OUT OF SYNC\\n2 .* ok\\n`),
    );
    assert.match(cli.stdout, new RegExp(`${codis.proxies[0]!.adminAddress.replace(/\./g, '\\.')} +online`));
    const alert = await waitFor(() => firing(rx.got, 'CodisGroupOutOfSync'), { what: 'CodisGroupOutOfSync notified', timeoutMs: 20_000 });
    const labels = alert.body.alerts[0].labels as Record<string, string>;
    assert.deepEqual(
      [labels.group, labels.product, labels.dashboard, labels.severity],
      ['1', 'rf-sync', codis.dashboardAddress, 'warning'],
    );
    assert.equal(firing(rx.got, 'CodisGroupOutOfSync', { group: '2' }), undefined, 'group 2 is in sync');

    await codis.admin('--resync-group', '--gid=1');
    await waitFor(() => resolved(rx.got, 'CodisGroupOutOfSync'), {
      what: 'CodisGroupOutOfSync resolved after the resync',
      timeoutMs: 20_000,
    });
    assert.equal((await codisView(collector, 'rf-sync'))?.groups[0]?.out_of_sync, 0);
  },
);

test(
  'a slot migration: the queue is visible per state; stuck, it alerts; once it moves it drains and resolves',
  { timeout: 180_000 },
  async (t) => {
    const h = await harness(t);
    const codis = await h.codis({ product: 'rf-migrate', replicas: 0 });
    const { collector, rx } = await setup(h, t, { CodisMigrationStuck: { value: 2 } });
    await h.agent(dashboardAgent(codis, 'codis-dash-2'), { collector });
    await waitFor(async () => (await codisView(collector, 'rf-migrate'))?.groups.length === 2, {
      what: 'the product reported',
      timeoutMs: 30_000,
    });

    // Slot actions disabled: the 100 queued slots wait as "pending" and nothing moves.
    await codis.admin('--slot-action', '--disabled=1');
    await codis.admin('--slot-action', '--create-range', '--beg=0', '--end=99', '--gid=2');
    const queued = await waitFor(
      async () => {
        const v = await codisView(collector, 'rf-migrate');
        return v?.migration.pending === 100 ? v : undefined;
      },
      { what: '100 pending slots in the migration queue', timeoutMs: 20_000 },
    );
    assert.equal(queued.migration.queue, 100);
    assert.equal(queued.migration.disabled, true);
    const stuck = await waitFor(() => firing(rx.got, 'CodisMigrationStuck'), { what: 'CodisMigrationStuck notified', timeoutMs: 20_000 });
    assert.equal(stuck.body.alerts[0].labels.product, 'rf-migrate');
    assert.ok(Number(stuck.body.alerts[0].annotations.summary.match(/for ([\d.]+) s/)?.[1]) > 2, stuck.body.alerts[0].annotations.summary);

    await codis.admin('--slot-action', '--disabled=0');
    const done = await waitFor(
      async () => {
        const v = await codisView(collector, 'rf-migrate');
        return v?.migration.queue === 0 ? v : undefined;
      },
      { what: 'the migration queue drained', timeoutMs: 60_000 },
    );
    assert.deepEqual(
      done.groups.map((g) => g.slots),
      [412, 612],
    );
    assert.equal(done.migration.stalledSeconds, 0);
    await waitFor(() => resolved(rx.got, 'CodisMigrationStuck'), { what: 'CodisMigrationStuck resolved', timeoutMs: 20_000 });
  },
);

test(
  'an offline codis-proxy (never onlined) alerts CodisProxyOffline; onlined by the dashboard it resolves',
  { timeout: 180_000 },
  async (t) => {
    const h = await harness(t);
    const codis = await h.codis({ product: 'rf-offline', groups: 1, replicas: 0 });
    const lonely = await codis.addProxy({ register: false });
    const { collector, rx } = await setup(h, t, {});
    await h.agent(
      {
        hostId: 'codis-proxy-1',
        interval: INTERVAL,
        roles: ['proxy'],
        discovery: { enabled: false },
        proxies: [{ kind: 'codis', adminAddress: lonely.adminAddress, productName: 'rf-offline', timeout: '5s' }],
      },
      { collector },
    );

    const alert = await waitFor(() => firing(rx.got, 'CodisProxyOffline'), { what: 'CodisProxyOffline notified', timeoutMs: 20_000 });
    assert.equal(alert.body.alerts[0].labels.proxy, lonely.adminAddress);
    assert.equal(alert.body.alerts[0].labels.severity, 'critical');
    const p = (await collector.api<{ proxies: Array<{ up: boolean; fields: Record<string, unknown> }> }>('/api/v1/proxies')).proxies[0]!;
    assert.deepEqual([p.up, p.fields.state, p.fields.online], [true, 'offline', 0]);
    await assert.rejects(codis.client(lonely).get('k'), /router is not online/);

    await codis.admin('--create-proxy', `--addr=${lonely.adminAddress}`);
    await waitFor(() => resolved(rx.got, 'CodisProxyOffline'), { what: 'CodisProxyOffline resolved', timeoutMs: 20_000 });
    assert.equal(firing(rx.got, 'ProxyDown'), undefined);
  },
);

test('a wrong product auth is ProxyMisconfigured (warning), not ProxyDown; every field is still read', { timeout: 180_000 }, async (t) => {
  const h = await harness(t);
  const codis = await h.codis({ product: 'rf-auth', productAuth: 'right-pass', groups: 1, replicas: 0 });
  const dir = await h.tempDir('codis-auth');
  const wrong = path.join(dir, 'wrong');
  await fs.writeFile(wrong, 'wrong-pass\n', { mode: 0o600 });
  const { collector, rx } = await setup(h, t, {});
  const agent = await h.agent(
    {
      hostId: 'codis-proxy-2',
      interval: INTERVAL,
      roles: ['proxy'],
      discovery: { enabled: false },
      proxies: [
        { kind: 'codis', adminAddress: codis.proxies[0]!.adminAddress, productName: 'rf-auth', productAuthFile: wrong, timeout: '5s' },
      ],
    },
    { collector },
  );

  const alert = await waitFor(() => firing(rx.got, 'ProxyMisconfigured'), { what: 'ProxyMisconfigured notified', timeoutMs: 20_000 });
  assert.equal(alert.body.alerts[0].labels.severity, 'warning');
  const p = (
    await collector.api<{ proxies: Array<{ up: boolean; error: string | null; fields: Record<string, unknown> }> }>('/api/v1/proxies')
  ).proxies[0]!;
  assert.equal(p.up, true);
  assert.equal(p.fields.misconfigured, 1);
  assert.match(String(p.fields.misconfigured_reason), /^product auth rejected: invalid xauth/);
  assert.equal(p.fields.proxy_max_clients, 1000, 'read without auth');
  assert.equal(typeof p.fields.sessions_ratio, 'number');
  assert.match(String(p.fields.version), /3\.2\.2/);
  assert.equal(p.fields.state, 'online');
  const alerts = (await collector.api<{ alerts: Array<{ labels: Record<string, string> }> }>('/api/v1/alerts')).alerts;
  const downs = (
    await collector.api<{ points: Array<{ fields: Record<string, unknown> }> }>('/api/v1/query?measurement=event&kind=proxy.down')
  ).points;
  assert.deepEqual(
    alerts.filter((a) => a.labels.alertname === 'ProxyDown'),
    [],
    `the proxy answers: no ProxyDown (proxy.down events: ${JSON.stringify(downs.map((p) => p.fields.message))})`,
  );
  assert.equal(firing(rx.got, 'ProxyDown'), undefined, `proxy.down events: ${JSON.stringify(downs.map((p) => p.fields.message))}`);
  assert.ok(!JSON.stringify(await collector.api('/api/v1/proxies')).includes('wrong-pass'), 'the secret is never shown');
  assert.ok(!JSON.stringify(agent.logs()).includes('wrong-pass'), 'nor logged');
});

test(
  "discovery: the local codis-dashboard is polled; codis-servers get the group it gives them; a credentials rule is a discovered proxy's product auth",
  { timeout: 180_000 },
  async (t) => {
    const h = await harness(t);
    const codis = await h.codis({ product: 'rf-disc', productAuth: 'disc-pass', groups: 2, replicas: 1 });
    const collector = await h.collector();
    const proxyPort = codis.proxies[0]!.adminPort;
    const ports = codis.servers.map((s) => s.port).join(',');
    await h.agent(
      {
        hostId: 'codis-disc',
        interval: INTERVAL,
        roles: ['redis', 'proxy', 'dashboard'],
        // Only this product's ports: other tests' servers on this machine are discovered too, without credentials.
        // The proxy's rule has a wrong password on purpose: refused by the proxy, it shows the rule's password is what the agent sends.
        discovery: {
          enabled: true,
          credentials: [
            { ports: String(proxyPort), password: 'not-disc-pass' },
            { ports, cluster: 'rf-disc', password: 'disc-pass' },
          ],
        },
        // No dashboards[]: the dashboard role plus discovery finds the local codis-dashboard.
      },
      { collector },
    );
    const view = await waitFor(
      async () => {
        const v = await codisView(collector, 'rf-disc');
        return v?.dashboards.some((d) => d.address.endsWith(`:${codis.dashboard.port}`) && d.up) ? v : undefined;
      },
      { what: 'the discovered dashboard polled', timeoutMs: 60_000 },
    );
    assert.equal(view.groups.length, 2);

    const byPort = (port: number) => (i: { address: string }) => i.address.endsWith(`:${port}`);
    const instances = await waitFor(
      async () => {
        const all = (
          await collector.api<{ instances: Array<{ address: string; group: string; cluster: string; status: string }> }>(
            '/api/v1/instances',
          )
        ).instances;
        const ours = codis.servers.map((s) => all.find(byPort(s.port)));
        return ours.every((i) => i && i.group !== '' && i.status === 'up') ? ours : undefined;
      },
      { what: 'the discovered codis-servers sampled with their group', timeoutMs: 60_000 },
    );
    assert.deepEqual(
      instances.map((i) => [i!.group, i!.cluster]),
      codis.groups.flatMap((g) => [
        [String(g.id), 'rf-disc'],
        [String(g.id), 'rf-disc'],
      ]),
    );

    const proxy = await waitFor(
      async () => {
        const all = (
          await collector.api<{ proxies: Array<{ address: string; up: boolean; fields: Record<string, unknown> }> }>('/api/v1/proxies')
        ).proxies;
        return all.find((p) => p.address.endsWith(`:${proxyPort}`) && p.up);
      },
      { what: 'the discovered codis-proxy polled', timeoutMs: 60_000 },
    );
    const checked = await waitFor(
      async () => {
        const all = (
          await collector.api<{ proxies: Array<{ address: string; up: boolean; fields: Record<string, unknown> }> }>('/api/v1/proxies')
        ).proxies;
        return all.find((p) => p.address.endsWith(`:${proxyPort}`) && p.fields.misconfigured === 1);
      },
      { what: "the discovered proxy checked with the rule's password", timeoutMs: 20_000 },
    );
    assert.match(String(checked.fields.misconfigured_reason), /^product auth rejected/);
    assert.equal(proxy.fields.state, 'online');
  },
);
