// Proxies end to end through the real binaries: a real nutcracker in front of two real
// redis-servers, and a codis-proxy admin API (a loopback HTTP server answering with the
// captured documents: no codis-proxy binary exists here) → agent with `proxies:` →
// gRPC → collector (embedded store) → the twemproxy_* and codis_proxy_* measurements,
// ejection and proxy down/up events, bad proxy config exits 78.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { harness, waitFor, type CollectorProcess } from './harness/index.js';
import { readFixture } from './fixtures.js';

const HOST = 'proxy-e2e';
const STATS_INTERVAL_MS = 300;

interface StoredPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | string>;
  time: number;
}

async function query(c: CollectorProcess, params: Record<string, string>): Promise<StoredPoint[]> {
  return (await c.api<{ points: StoredPoint[] }>(`/api/v1/query?${new URLSearchParams({ limit: '10000', host: HOST, ...params })}`)).points;
}

/** codis-proxy's open-mode admin API: GET /proxy answers the captured overview document. */
async function codisAdmin(t: TestContext): Promise<{ address: string; close(): Promise<void> }> {
  const body = readFixture('codis', 'proxy-overview.json');
  const server = http.createServer((req, res) => {
    if (req.url === '/proxy') res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
    else res.writeHead(404).end('404 page not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closed = false;
  const close = () =>
    closed
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          closed = true;
          server.closeAllConnections();
          server.close(() => resolve());
        });
  t.after(close);
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, close };
}

test('agent reports a real nutcracker and a codis-proxy admin API: per-pool/server and per-command points, ejection and down events', async (t) => {
  const h = await harness(t);
  const a = await h.redis();
  const b = await h.redis();
  const nut = await h.nutcracker({
    pools: {
      main: {
        servers: [
          { server: a, name: 'a' },
          { server: b, name: 'b' },
        ],
      },
    },
    statsIntervalMs: STATS_INTERVAL_MS,
  });
  const codis = await codisAdmin(t);
  const collector = await h.collector();
  await h.agent(
    {
      hostId: HOST,
      interval: '200ms',
      roles: ['proxy'],
      proxies: [
        {
          kind: 'twemproxy',
          statsAddress: nut.statsAddress,
          statsInterval: `${STATS_INTERVAL_MS}ms`,
          configFile: nut.configPath,
          name: 'nut-main',
        },
        { kind: 'codis', adminAddress: codis.address },
      ],
    },
    { collector },
  );

  // Traffic through the proxy lands on the backends and in the per-server counters.
  const client = nut.client('main');
  t.after(() => client.disconnect());
  for (let i = 0; i < 50; i++) await client.set(`k${i}`, 'v');
  const servers = await waitFor(
    async () => {
      const pts = await query(collector, { measurement: 'twemproxy_server', proxy: nut.statsAddress });
      const latest = (s: string) => pts.filter((p) => p.tags.server === s).at(-1);
      const la = latest('a');
      const lb = latest('b');
      return la && lb && Number(la.fields.requests) + Number(lb.fields.requests) >= 50 ? { la, lb, pts } : undefined;
    },
    { what: 'twemproxy_server points counting the 50 SETs', timeoutMs: 20_000 },
  );
  assert.equal(servers.la.tags.pool, 'main');
  assert.equal(servers.la.tags.name, 'nut-main');
  assert.equal(servers.la.fields.address, a.address);
  assert.equal(servers.la.fields.ejected, 0);
  assert.equal(typeof servers.la.fields.requests, 'number');
  const pool = (await query(collector, { measurement: 'twemproxy_pool', pool: 'main' })).at(-1)!;
  assert.ok(Number(pool.fields.requests) >= 50, `pool requests ${pool.fields.requests}`);
  assert.equal(pool.fields.servers, 2);
  // Never read faster than nutcracker's stats interval, though the agent ticks every 200 ms.
  const proxyPts = await query(collector, { measurement: 'twemproxy', proxy: nut.statsAddress });
  for (let i = 1; i < proxyPts.length; i++) {
    assert.ok(
      proxyPts[i]!.time - proxyPts[i - 1]!.time >= STATS_INTERVAL_MS - 20,
      `reads ${proxyPts[i]!.time - proxyPts[i - 1]!.time} ms apart`,
    );
  }
  assert.ok(
    proxyPts.some((p) => p.fields.rates_valid === 1 && typeof p.fields.requests_per_sec === 'number'),
    'rates after two reads',
  );

  // codis-proxy: the proxy, its commands and its group → master routes.
  const cp = await waitFor(async () => (await query(collector, { measurement: 'codis_proxy', proxy: codis.address })).at(-1), {
    what: 'a codis_proxy point',
  });
  assert.equal(cp.fields.up, 1);
  assert.equal(cp.fields.online, 1);
  assert.equal(typeof cp.fields.ops_total, 'number');
  assert.ok(cp.tags.name, 'tagged with the product name');
  const cmds = await query(collector, { measurement: 'codis_proxy_cmd', proxy: codis.address });
  assert.ok(cmds.length > 0 && cmds.every((p) => p.tags.command && typeof p.fields.calls === 'number'));
  const groups = await query(collector, { measurement: 'codis_proxy_group', proxy: codis.address });
  assert.ok(
    groups.some((p) => typeof p.fields.master === 'string' && String(p.fields.master).includes(':')),
    'group → master route',
  );

  // The latest of each proxy in the HTTP API.
  const api = await collector.api<{
    proxies: {
      host: string;
      kind: string;
      address: string;
      name: string;
      up: boolean;
      fields: Record<string, unknown>;
      items: Record<string, { tags: Record<string, string> }[]>;
    }[];
  }>(`/api/v1/proxies?host=${HOST}`);
  assert.deepEqual(
    api.proxies.map((p) => [p.kind, p.address]).sort(),
    [
      ['codis', codis.address],
      ['twemproxy', nut.statsAddress],
    ].sort(),
  );
  const tw = api.proxies.find((p) => p.kind === 'twemproxy')!;
  assert.equal(tw.name, 'nut-main');
  assert.deepEqual(tw.items.server!.map((s) => s.tags.server).sort(), ['a', 'b']);
  assert.equal(typeof tw.fields.uptime, 'number');
  const onlyCodis = await collector.api<{ proxies: unknown[] }>('/api/v1/proxies?kind=codis');
  assert.equal(onlyCodis.proxies.length, 1);
  const bad = await collector.request('/api/v1/proxies?kind=envoy');
  assert.equal(bad.status, 400);

  // A killed backend is ejected: an event and ejected=1 on its server series.
  await a.kill();
  const ejected = await waitFor(
    async () => {
      for (let i = 0; i < 5; i++) await client.get(`k${i}`).catch(() => undefined);
      const ev = await query(collector, { measurement: 'event', kind: 'proxy.server_ejected' });
      return ev.length ? ev : undefined;
    },
    { what: 'a proxy.server_ejected event', timeoutMs: 30_000 },
  );
  assert.equal(ejected[0]!.tags.instance, nut.statsAddress);
  assert.deepEqual(JSON.parse(String(ejected[0]!.fields.attrs)), { pool: 'main', server: 'a', address: a.address });
  await waitFor(async () => (await query(collector, { measurement: 'twemproxy_server', server: 'a' })).at(-1)?.fields.ejected === 1, {
    what: 'server a ejected=1',
  });

  // The codis admin API going away: proxy.down once, up=0 with the reason.
  await codis.close();
  const down = await waitFor(
    async () => {
      const ev = await query(collector, { measurement: 'event', kind: 'proxy.down' });
      return ev.find((e) => e.tags.instance === codis.address);
    },
    { what: 'proxy.down for the codis proxy' },
  );
  assert.match(String(down.fields.message), /ECONNREFUSED|refused/);
  const last = await waitFor(
    async () => {
      const p = (await query(collector, { measurement: 'codis_proxy', proxy: codis.address })).at(-1);
      return p?.fields.up === 0 ? p : undefined;
    },
    { what: 'codis_proxy up=0' },
  );
  assert.match(String(last.fields.error), /ECONNREFUSED/);
  const downs = (await query(collector, { measurement: 'event', kind: 'proxy.down' })).filter((e) => e.tags.instance === codis.address);
  assert.equal(downs.length, 1, 'one event, not one per tick');
});

test('a bad proxies entry exits 78 naming the key', async (t) => {
  const h = await harness(t);
  const base = { hostId: HOST, collector: { addresses: ['127.0.0.1:1'], tokenEnv: 'RF_E2E_TOKEN' } };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ roles: ['proxy'], proxies: [{ kind: 'twemproxy' }] }, /proxies\[0\]\.statsAddress: is required/],
    [{ roles: ['proxy'], proxies: [{ kind: 'codis', adminAddress: 'nohost' }] }, /proxies\[0\]\.adminAddress: must be host:port/],
    [
      { roles: ['proxy'], proxies: [{ kind: 'codis', adminAddress: '127.0.0.1:1', statsInterval: '1s' }] },
      /proxies\[0\]\.statsInterval: does not apply to kind codis/,
    ],
    [{ roles: ['redis'], proxies: [{ kind: 'twemproxy', statsAddress: '127.0.0.1:22222' }] }, /proxies: needs the proxy role/],
    [
      { roles: ['proxy'], proxies: [{ kind: 'twemproxy', statsAddress: '127.0.0.1:22222', configFile: '/nonexistent/nutcracker.yml' }] },
      /proxies\[0\]\.configFile: cannot read/,
    ],
  ];
  for (const [config, expected] of cases) {
    const r = await h.runToExit('agent', { ...base, ...config }, { env: { RF_E2E_TOKEN: 'tok' } });
    assert.equal(r.code, 78, `${JSON.stringify(config)}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, expected);
  }
});
