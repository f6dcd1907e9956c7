// The real stack the Grafana dashboard tests feed a metrics engine from (through the collector given):
// Redis master + replica + a standalone that goes down, nutcracker, a codis-proxy admin API serving a
// captured overview, agents; guard state and failover / fence / fork events from a synthetic reporter
// over the real gRPC protocol.
import type { TestContext } from 'node:test';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROTOCOL_VERSION, intValue, strValue } from '../proto/index.js';
import { waitFor, DEFAULT_TOKEN, type Harness, type CollectorProcess, type RedisServer } from './harness/index.js';
import { TestAgent, makeReport, redisSample } from './collector-support.js';
import { readFixture } from './fixtures.js';

/**
 * Starts the stack and its traffic (stopped when the test ends); returns once the standalone,
 * seen stored (`stored(address)`), has been killed.
 */
export async function feedGrafanaStack(
  t: TestContext,
  h: Harness,
  collector: CollectorProcess,
  stored: (address: string) => Promise<boolean>,
): Promise<{ master: RedisServer; replica: RedisServer }> {
  // Storage host: master + replica (c1/g1), a standalone (c2) that goes down.
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const standalone = await h.redis();
  const mc = master.client();
  await mc.config('SET', 'slowlog-log-slower-than', '0');
  await h.agent(
    {
      hostId: 'gf-redis',
      interval: '500ms',
      labels: { idc: 'sz-a', city: 'sz', env: 'test' },
      redis: [
        { address: master.address, cluster: 'c1', group: 'g1' },
        { address: replica.address, cluster: 'c1', group: 'g1' },
        { address: standalone.address, cluster: 'c2', group: 'g9' },
      ],
    },
    { collector },
  );

  // Proxy host: a real nutcracker over two Redis, and a codis-proxy and codis-dashboard admin API (captured overviews).
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
    statsIntervalMs: 300,
  });
  const overview = readFixture('codis', 'proxy-overview.json');
  const topom = readFixture('codis', 'topom-overview.json');
  const admin = http.createServer((req, res) => {
    if (req.url === '/proxy') res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(overview);
    else if (req.url === '/topom') res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(topom);
    else res.writeHead(404).end('404 page not found');
  });
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        admin.closeAllConnections();
        admin.close(() => resolve());
      }),
  );
  await h.agent(
    {
      hostId: 'gf-proxy',
      interval: '500ms',
      roles: ['proxy', 'dashboard'],
      labels: { idc: 'sz-a', city: 'sz', env: 'test' },
      proxies: [
        { kind: 'twemproxy', statsAddress: nut.statsAddress, statsInterval: '300ms', configFile: nut.configPath, name: 'nut-main' },
        { kind: 'codis', adminAddress: `127.0.0.1:${(admin.address() as AddressInfo).port}`, name: 'codis-orders' },
      ],
      dashboards: [{ adminAddress: `127.0.0.1:${(admin.address() as AddressInfo).port}`, timeout: '5s' }],
    },
    { collector },
  );

  // A guarded host with a fenced master (synthetic reporter, real gRPC): the guard measurement.
  const guarded = new TestAgent(collector.grpcAddress, collector.tokens[0] ?? DEFAULT_TOKEN);
  t.after(() => guarded.close());
  await guarded.hello({
    hostId: 'gf-guard',
    labels: { idc: 'sz-a', city: 'sz', env: 'test', module: '' },
    roles: ['redis'],
    agentVersion: '0.0.0-synthetic',
    intervalMs: 1000,
    sessionId: crypto.randomUUID(),
    protocolVersion: PROTOCOL_VERSION,
  });
  const fencedAddr = '127.0.0.1:17379';
  const guardReport = (seq: number) => {
    const r = makeReport(seq, { redis: [redisSample({ address: fencedAddr, cluster: 'c1', group: 'g2' })] });
    r.guard = {
      zkState: 'unreachable',
      fields: {
        sentinels_total: intValue(3),
        sentinels_answered: intValue(1),
        zk_consecutive_failures: intValue(4),
        [`${fencedAddr}/phase`]: strValue('fenced'),
        [`${fencedAddr}/fenced`]: intValue(1),
        [`${fencedAddr}/fenced_since_ms`]: intValue(Date.now()),
        [`${fencedAddr}/fence_reason`]: strValue('ZooKeeper unreachable and no Sentinel majority'),
        [`${fencedAddr}/fence_mode`]: strValue('acl'),
        [`${fencedAddr}/waiting_for`]: strValue('ZooKeeper'),
        [`${fencedAddr}/seen_role`]: strValue('master'),
      },
    };
    return r;
  };
  // Events for the annotations (failover, fence, fork) from the same reporter; the standalone's
  // instance.down below is a real one.
  const first = guardReport(1);
  const ev = (kind: string, message: string) => ({ timestampMs: Date.now(), kind, instance: fencedAddr, message, attrs: {} });
  first.events = [
    ev('sentinel.+switch-master', 'mymaster 127.0.0.1 17380 127.0.0.1 17379'),
    ev('guard.fenced', 'ZooKeeper unreachable and no Sentinel majority'),
    ev('fork.start', 'bgsave child started'),
    ev('fork.end', 'bgsave child ended: ok'),
  ];
  await guarded.report(first);

  // Traffic: hits and misses on the master (hit ratio, commandstats, latency, slowlog), through the proxy.
  const nc = nut.client('main');
  let seq = 1;
  let traffic = true;
  const load = (async () => {
    let i = 0;
    while (traffic) {
      await mc.set(`k${i % 50}`, 'v').catch(() => undefined);
      await mc.get(`k${i % 50}`).catch(() => undefined);
      await mc.get(`missing${i}`).catch(() => undefined);
      await nc.set(`n${i % 50}`, 'v').catch(() => undefined);
      await nc.get(`n${i % 50}`).catch(() => undefined);
      if (i % 10 === 0) await guarded.report(guardReport(++seq)).catch(() => undefined);
      i++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  t.after(async () => {
    traffic = false;
    await load;
  });
  await mc.bgsave();
  // The standalone goes down: an instance.down event (Problem events, Recent events).
  await waitFor(() => stored(standalone.address), { timeoutMs: 30_000, what: 'the standalone in the metrics engine' });
  await standalone.kill();
  return { master, replica };
}

/**
 * Every datasource reference in a dashboard (panels, targets, variables, annotations) names the
 * `DS` variable; `DS` is a datasource variable of the type whose __inputs entry a UI import fills.
 */
export function datasourceProblems(
  d: {
    __inputs: { name: string; type: string; pluginId: string }[];
    templating: { list: { name: string; type: string; query: unknown; current?: { value: unknown } }[] };
  },
  type: string,
): string[] {
  const problems: string[] = [];
  const walk = (o: unknown, at: string): void => {
    if (Array.isArray(o)) {
      o.forEach((x, i) => walk(x, `${at}[${i}]`));
      return;
    }
    if (!o || typeof o !== 'object') return;
    const r = o as Record<string, unknown>;
    if (r.datasource !== undefined) {
      const ds = r.datasource as { type?: string; uid?: string };
      if (ds.type !== 'grafana' && (ds.uid !== '${DS}' || ds.type !== type)) problems.push(`${at}: datasource ${JSON.stringify(ds)}`);
    }
    for (const [k, v] of Object.entries(r)) if (k !== 'datasource') walk(v, `${at}.${k}`);
  };
  walk(d, '');
  const dsVar = d.templating.list.find((v) => v.name === 'DS');
  if (!dsVar || dsVar.type !== 'datasource' || dsVar.query !== type) problems.push(`no datasource variable DS of type ${type}`);
  const input = d.__inputs.find((i) => i.type === 'datasource' && i.pluginId === type);
  if (!input) problems.push(`no __inputs datasource entry for ${type}`);
  else if (dsVar?.current?.value !== `\${${input.name}}`) problems.push(`DS does not default to \${${input.name}}`);
  return problems;
}

/** A value as a regex matching exactly it (Grafana's regex formatting of a variable). */
export const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
