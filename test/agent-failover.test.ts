// Several collectors: rendezvous order by host id (load divides, a host sticks to one collector),
// failover to the next collector when the preferred one dies, failback when it returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendezvousOrder } from '../agent/transport/rendezvous.js';
import { harness, waitFor, type CollectorProcess } from './harness/index.js';

const addr = (address: string) => ({ address });

test('rendezvous order: spreads hosts evenly, is stable, and losing one collector moves only its hosts', () => {
  const collectors = ['10.0.0.1:7400', '10.0.0.2:7400', '10.0.0.3:7400'].map(addr);
  const hosts = Array.from({ length: 9000 }, (_, i) => `redis-host-${i}.sz.example`);
  const first = new Map<string, string>();
  const count = new Map<string, number>();
  for (const h of hosts) {
    const order = rendezvousOrder(h, collectors).map((c) => c.address);
    assert.equal(new Set(order).size, 3);
    assert.deepEqual(
      rendezvousOrder(h, [...collectors].reverse()).map((c) => c.address),
      order,
      'order independent of the list order',
    );
    first.set(h, order[0]!);
    count.set(order[0]!, (count.get(order[0]!) ?? 0) + 1);
  }
  for (const c of collectors) {
    const n = count.get(c.address) ?? 0;
    assert.ok(n > 2700 && n < 3300, `${c.address} prefers ${n} of 9000 hosts (expected ~3000)`);
  }
  // Drop the second collector: hosts that preferred another one keep it; its hosts split over the other two.
  const remaining = [collectors[0]!, collectors[2]!];
  const moved = new Map<string, number>();
  for (const h of hosts) {
    const now = rendezvousOrder(h, remaining)[0]!.address;
    if (first.get(h) !== collectors[1]!.address) assert.equal(now, first.get(h), `${h} moved although its collector stayed`);
    else moved.set(now, (moved.get(now) ?? 0) + 1);
  }
  const [a = 0, b = 0] = [...moved.values()];
  assert.ok(Math.min(a, b) > 0.4 * (a + b), `the lost collector's hosts split ${a}/${b}`);
});

async function hostOn(c: CollectorProcess, hostId: string): Promise<{ connected: boolean } | undefined> {
  const { hosts } = await c.api<{ hosts: { id: string; connected: boolean }[] }>('/api/v1/hosts');
  return hosts.find((x) => x.id === hostId);
}

test('agent fails over to the next collector within seconds when its collector is SIGKILLed', async (t) => {
  const h = await harness(t);
  const [c1, c2] = await Promise.all([h.collector(), h.collector()]);
  const byAddress = new Map([
    [c1.grpcAddress, c1],
    [c2.grpcAddress, c2],
  ]);
  const hostId = 'failover-host';
  const order = rendezvousOrder(hostId, [c1.grpcAddress, c2.grpcAddress].map(addr)).map((a) => byAddress.get(a.address)!);
  const [preferred, fallback] = order as [CollectorProcess, CollectorProcess];
  const agent = await h.agent({
    hostId,
    interval: '200ms',
    roles: ['redis'],
    redis: [],
    collector: { addresses: [c1.grpcAddress, c2.grpcAddress] },
  });
  await waitFor(async () => (await hostOn(preferred, hostId))?.connected === true, {
    what: 'the host on its preferred collector',
    timeoutMs: 20_000,
  });
  assert.equal(await hostOn(fallback, hostId), undefined, 'the other collector never saw the host');

  const killedAt = Date.now();
  await preferred.kill('SIGKILL');
  const line = await agent.waitForLog((l) => l.msg === 'connected to collector' && l.address === fallback.grpcAddress, 20_000);
  const failoverMs = Number(new Date(String(line.time)).getTime() || line.time) - killedAt;
  await waitFor(async () => (await hostOn(fallback, hostId))?.connected === true, {
    what: 'the host on the fallback collector',
    timeoutMs: 20_000,
  });
  t.diagnostic(`failover took ${failoverMs} ms`);
  assert.ok(failoverMs < 3000, `failover took ${failoverMs} ms`);
});

test('agent goes back to its preferred collector after collector.failback', async (t) => {
  const h = await harness(t);
  const [c1, c2] = await Promise.all([h.collector(), h.collector()]);
  const byAddress = new Map([
    [c1.grpcAddress, c1],
    [c2.grpcAddress, c2],
  ]);
  const hostId = 'failback-host';
  const order = rendezvousOrder(hostId, [c1.grpcAddress, c2.grpcAddress].map(addr)).map((a) => byAddress.get(a.address)!);
  const [preferred, fallback] = order as [CollectorProcess, CollectorProcess];
  await preferred.stop();
  const agent = await h.agent({
    hostId,
    interval: '200ms',
    roles: ['redis'],
    redis: [],
    collector: { addresses: [c1.grpcAddress, c2.grpcAddress], failback: '1s' },
  });
  await waitFor(async () => (await hostOn(fallback, hostId))?.connected === true, {
    what: 'the host on the fallback collector',
    timeoutMs: 20_000,
  });
  await preferred.start();
  await agent.waitForLog({ msg: 'failing back to the preferred collector' }, 20_000);
  await waitFor(async () => (await hostOn(preferred, hostId))?.connected === true, {
    what: 'the host back on its preferred collector',
    timeoutMs: 20_000,
  });
  await waitFor(async () => (await hostOn(fallback, hostId))?.connected === false, {
    what: 'the fallback collector to let go',
    timeoutMs: 20_000,
  });
});
