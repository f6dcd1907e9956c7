// Discovery end to end through the real binaries: an agent with no instance list finds the
// local redis-servers (one password-protected, unlocked by a credentials rule by port), a
// redis-sentinel and a nutcracker from /proc, samples them, reports discovery events; a
// configured instance wins over its discovered twin; a killed instance is dropped on the
// next scan. Other processes on this machine (other tests' servers) may be found too: the
// assertions only look at the ones this test started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitFor, type CollectorProcess } from './harness/index.js';

const HOST = 'discovery-e2e';

interface StoredPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | string>;
  time: number;
}
interface InstanceView {
  address: string;
  status: string;
  cluster: string;
  role: string;
  error: string;
}

async function query(c: CollectorProcess, params: Record<string, string>): Promise<StoredPoint[]> {
  return (await c.api<{ points: StoredPoint[] }>(`/api/v1/query?${new URLSearchParams({ limit: '10000', host: HOST, ...params })}`)).points;
}
const instances = async (c: CollectorProcess) => (await c.api<{ instances: InstanceView[] }>(`/api/v1/instances?host=${HOST}`)).instances;
const port = (address: string) => address.slice(address.lastIndexOf(':') + 1);
const byPort = (list: InstanceView[], address: string) => list.filter((i) => port(i.address) === port(address));

test('an agent with no instance list finds and samples local redis, sentinel and nutcracker; configured wins; a killed one is dropped', async (t) => {
  const h = await harness(t);
  const plain = await h.redis();
  const locked = await h.redis({ password: 'disc-secret-1' });
  const configured = await h.redis();
  const doomed = await h.redis();
  const sentinel = await h.sentinel({ masters: [{ name: 'm1', master: plain, quorum: 1 }] });
  const nut = await h.nutcracker({ pools: { main: { servers: [{ server: plain, name: 'p' }] } }, statsIntervalMs: 500 });
  const collector = await h.collector();
  const agent = await h.agent(
    {
      hostId: HOST,
      interval: '300ms',
      roles: ['redis', 'proxy'],
      redis: [{ address: configured.address, cluster: 'from-config' }],
      discovery: {
        enabled: true,
        interval: '10s',
        credentials: [{ ports: port(locked.address), password: 'disc-secret-1', cluster: 'locked-cluster' }],
      },
    },
    { collector },
  );

  const seen = await waitFor(
    async () => {
      const list = await instances(collector);
      const ok = [plain, locked, configured, doomed].every((r) => byPort(list, r.address).some((i) => i.status === 'up'));
      return ok ? list : undefined;
    },
    { what: 'the four redis-servers sampled and up', timeoutMs: 30_000 },
  );
  assert.equal(byPort(seen, configured.address).length, 1, 'the configured instance is not sampled twice');
  assert.equal(byPort(seen, configured.address)[0]!.cluster, 'from-config', 'configured wins');
  assert.equal(byPort(seen, locked.address)[0]!.cluster, 'locked-cluster', 'the credentials rule names its cluster');
  assert.equal(byPort(seen, sentinel.address).length, 0, 'a sentinel is not sampled as a redis instance');

  // Events reach the store asynchronously (batched writes): wait for the ones of this test's servers.
  const wanted = [plain, locked, doomed].map((r) => port(r.address)).concat(String(sentinel.port), String(nut.statsPort));
  const added = await waitFor(
    async () => {
      const ev = await query(collector, { measurement: 'event', kind: 'discovery.added' });
      const ports = new Set(ev.map((e) => port(e.tags.instance!)));
      return wanted.every((p) => ports.has(p)) ? ev : undefined;
    },
    { what: `discovery.added events for ports ${wanted.join(', ')}`, timeoutMs: 20_000 },
  );
  const addedPorts = new Set(added.map((e) => port(e.tags.instance!)));
  for (const r of [plain, locked, doomed])
    assert.ok(
      addedPorts.has(port(r.address)),
      `discovery.added for ${r.address} in ${JSON.stringify(added.map((e) => [e.tags.instance, e.fields.message]))}`,
    );
  assert.ok(!added.some((e) => port(e.tags.instance!) === port(configured.address)), 'no discovery event for a configured instance');
  assert.ok(
    added.some((e) => port(e.tags.instance!) === String(sentinel.port) && JSON.parse(String(e.fields.attrs)).kind === 'sentinel'),
    'the sentinel is reported',
  );
  assert.ok(
    added.some((e) => port(e.tags.instance!) === String(nut.statsPort)),
    'the nutcracker is reported',
  );

  // The discovered nutcracker is polled through its stats port.
  await waitFor(async () => (await query(collector, { measurement: 'twemproxy_server', server: 'p' })).length > 0, {
    what: 'twemproxy_server points for the discovered nutcracker',
    timeoutMs: 20_000,
  });
  assert.ok(!agent.stdout().includes('disc-secret-1'), 'the password is never logged');

  await doomed.kill();
  await waitFor(
    async () => {
      const ev = await query(collector, { measurement: 'event', kind: 'discovery.removed' });
      return ev.some((e) => port(e.tags.instance!) === port(doomed.address));
    },
    { what: 'discovery.removed for the killed instance on the next scan', timeoutMs: 40_000 },
  );
  await waitFor(async () => byPort(await instances(collector), doomed.address).length === 0, {
    what: 'the removed instance gone from the instance list',
  });
});
