// The harness's real Codis 3.2 product: slots assigned, proxy online, data through the proxy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { harness, livePids } from './harness/index.js';

interface Stats {
  slots: Array<{ id: number; group_id?: number }>;
  group: { models: Array<{ id: number; servers: Array<{ server: string }>; out_of_sync?: boolean }> };
  proxy: { models: Array<{ token: string }>; stats: Record<string, { stats?: { online: boolean } }> };
  sentinels: { model?: { servers?: string[] } };
}

test('h.codis: a product with 2 groups (master + replica), a proxy and Sentinels', { timeout: 120_000 }, async (t) => {
  const h = await harness(t);
  const codis = await h.codis({ product: 'rf-harness', productAuth: 'pw', sentinels: 3 });
  const st = (await codis.get('/topom/stats')) as Stats;
  assert.equal(st.group.models.length, 2);
  for (const g of st.group.models) assert.equal(g.servers.length, 2, `group ${g.id} has master + replica`);
  assert.equal(st.slots.filter((s) => (s.group_id ?? 0) > 0).length, 1024, 'every slot is assigned');
  assert.deepEqual(new Set(st.slots.map((s) => s.group_id)), new Set([1, 2]));
  assert.equal(st.proxy.models.length, 1);
  assert.equal(Object.values(st.proxy.stats)[0]?.stats?.online, true);
  assert.deepEqual(st.sentinels.model?.servers?.sort(), codis.sentinels.map((s) => s.address).sort());
  const replInfo = await codis.info(codis.groups[0]!.replicas[0]!, 'replication');
  assert.equal(replInfo.master_port, String(codis.groups[0]!.master.port));

  const client = codis.client();
  for (let n = 0; n < 20; n++) await client.set(`k${n}`, `v${n}`);
  assert.equal(await client.get('k7'), 'v7');
  const keys = await Promise.all(
    codis.groups.map(async (g) => Number(/keys=(\d+)/.exec(String(await codis.call(g.master, 'INFO', 'keyspace')))?.[1] ?? 0)),
  );
  assert.equal(keys[0]! + keys[1]!, 20);
  assert.ok(keys[0]! > 0 && keys[1]! > 0, `keys spread over both groups: ${keys}`);

  const pids = h.runningPids();
  assert.equal(pids.length, 4 + 3 + 2, 'servers, sentinels, dashboard, proxy');
  await h.close();
  assert.deepEqual(
    livePids().filter((p) => pids.includes(p)),
    [],
    'every Codis process is gone after close()',
  );
});
