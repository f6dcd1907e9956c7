// Foundation end to end on real servers: Redis master + replica + standalone → agent → gRPC →
// collector → InfluxDB 1.x (and the embedded store) → HTTP API.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitFor, type Harness, type RedisServer, type CollectorProcess, type InfluxServer } from './harness/index.js';

const INTERVAL_MS = 1000;

interface InstanceView {
  id: string;
  address: string;
  role: string;
  status: string;
  cluster: string;
  group: string;
  usedMemory: number;
  error: string;
  sampledAt: string;
  replication: { replicas: unknown[] };
}

async function instances(c: CollectorProcess): Promise<InstanceView[]> {
  return (await c.api<{ instances: InstanceView[] }>('/api/v1/instances')).instances;
}

async function startTrio(h: Harness) {
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const standalone = await h.redis();
  return { master, replica, standalone };
}

function agentConfig(hostId: string, trio: { master: RedisServer; replica: RedisServer; standalone: RedisServer }) {
  return {
    hostId,
    interval: `${INTERVAL_MS}ms`,
    labels: { idc: 'sz-a', city: 'sz', env: 'test' },
    redis: [
      { address: trio.master.address, cluster: 'c1', group: 'g1' },
      { address: trio.replica.address, cluster: 'c1', group: 'g1' },
      { address: trio.standalone.address, cluster: 'c2', group: 'g9' },
    ],
  };
}

/** Times (ms) of the `host` points of one host, oldest first. */
async function influxHostTimes(influx: InfluxServer, host: string): Promise<number[]> {
  const rows = await influx.rows(`SELECT cpu_cores FROM host WHERE "host" = '${host}'`, 'redisfleet');
  return rows.map((r) => Number(r.time)).sort((a, b) => a - b);
}

function largestGap(times: number[]): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

describe('foundation end to end with InfluxDB', () => {
  test("every instance's series arrive with the right tags and types; down, restart, collector outage and agent restart", async (t) => {
    const h = await harness(t);
    const trio = await startTrio(h);
    const influx = await h.influx();
    const collector = await h.collector({ influx: { url: influx.url, database: 'redisfleet', flushInterval: '200ms' } });
    const agent = await h.agent(agentConfig('e2e-influx', trio), { collector });

    // Within two intervals (plus start-up) every instance is in InfluxDB with its tags.
    const rows = await waitFor(
      async () => {
        const r = await influx.rows(
          'SELECT last(used_memory) FROM redis GROUP BY "instance", "role", "cluster", "group", "idc", "host"',
          'redisfleet',
        );
        return r.length === 3 ? r : null;
      },
      { timeoutMs: 3 * INTERVAL_MS + 10_000, what: 'three instances in InfluxDB' },
    );
    const byInstance = new Map(rows.map((r) => [r.instance, r]));
    assert.equal(byInstance.get(trio.master.address)?.role, 'master');
    assert.equal(byInstance.get(trio.replica.address)?.role, 'slave');
    assert.equal(byInstance.get(trio.standalone.address)?.role, 'master');
    assert.equal(byInstance.get(trio.standalone.address)?.cluster, 'c2');
    assert.equal(byInstance.get(trio.master.address)?.group, 'g1');
    for (const r of rows) {
      assert.equal(r.idc, 'sz-a');
      assert.equal(r.host, 'e2e-influx');
      assert.ok(Number(r.last) > 0, `used_memory of ${r.instance}`);
    }

    // Field types are the pinned ones.
    const fieldTypes = new Map((await influx.rows('SHOW FIELD KEYS FROM redis', 'redisfleet')).map((r) => [r.fieldKey, r.fieldType]));
    assert.equal(fieldTypes.get('used_memory'), 'integer');
    assert.equal(fieldTypes.get('mem_fragmentation_ratio'), 'float');
    assert.equal(fieldTypes.get('redis_version'), 'string');
    assert.equal(fieldTypes.get('up'), 'integer');
    const hostTypes = new Map((await influx.rows('SHOW FIELD KEYS FROM host', 'redisfleet')).map((r) => [r.fieldKey, r.fieldType]));
    assert.equal(hostTypes.get('mem_available_bytes'), 'integer');
    assert.equal(hostTypes.get('cpu_percent'), 'float');

    // The master's replica appears in redis_replica with a byte lag.
    const replicaRows = await waitFor(
      async () => {
        const r = await influx.rows(
          `SELECT last(lag_bytes) FROM redis_replica WHERE "instance" = '${trio.master.address}' GROUP BY "replica"`,
          'redisfleet',
        );
        return r.length === 1 ? r : null;
      },
      { what: 'the replica series of the master' },
    );
    assert.equal(replicaRows[0]!.replica, trio.replica.address);

    // The history API answers from InfluxDB with the same tags and pinned types.
    const history = await collector.api<{
      sink: string;
      points: { time: number; tags: Record<string, string>; fields: Record<string, unknown> }[];
    }>(`/api/v1/query?measurement=redis&instance=${encodeURIComponent(trio.master.address)}&limit=50`);
    assert.equal(history.sink, 'influx');
    assert.ok(history.points.length > 0, 'points of the master from InfluxDB');
    assert.ok(history.points.every((p) => p.tags.instance === trio.master.address && p.tags.cluster === 'c1'));
    assert.equal(typeof history.points[0]!.fields.used_memory, 'number');
    assert.equal(typeof history.points[0]!.fields.redis_version, 'string');
    const times = history.points.map((p) => p.time);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'oldest first',
    );

    // The HTTP API shows the same three.
    const api = await waitFor(async () => ((await instances(collector)).length === 3 ? instances(collector) : null), {
      what: 'three instances in the API',
    });
    assert.deepEqual(api.map((i) => i.address).sort(), [trio.master.address, trio.replica.address, trio.standalone.address].sort());
    assert.equal(api.find((i) => i.address === trio.master.address)!.replication.replicas.length, 1);

    // Kill an instance → reported down (API and the `up` field); restart it → back.
    await trio.standalone.kill();
    await waitFor(async () => (await instances(collector)).find((i) => i.address === trio.standalone.address)?.status === 'down', {
      timeoutMs: 4 * INTERVAL_MS + 5000,
      what: 'standalone reported down',
    });
    const downRow = await waitFor(
      async () => {
        const r = await influx.rows(
          `SELECT last(up), last(error) FROM redis WHERE "instance" = '${trio.standalone.address}'`,
          'redisfleet',
        );
        return r[0] && Number(r[0].last) === 0 ? r[0] : null;
      },
      { what: 'up=0 in InfluxDB' },
    );
    assert.ok(String(downRow.last_1).length > 0, 'the error says why');
    const others = await instances(collector);
    assert.equal(others.find((i) => i.address === trio.master.address)!.status, 'up', 'the others are unaffected');
    await trio.standalone.restart();
    await waitFor(async () => (await instances(collector)).find((i) => i.address === trio.standalone.address)?.status === 'up', {
      timeoutMs: 4 * INTERVAL_MS + 5000,
      what: 'standalone back up',
    });

    // Stop the collector for several intervals → nothing lost once it is back.
    const before = await influxHostTimes(influx, 'e2e-influx');
    await collector.stop();
    const outageStart = Date.now();
    await waitFor(() => Date.now() - outageStart >= 5 * INTERVAL_MS, {
      timeoutMs: 10 * INTERVAL_MS,
      intervalMs: 200,
      what: 'five intervals of collector outage',
    });
    await collector.start();
    const outageEnd = Date.now();
    const after = await waitFor(
      async () => {
        const times = await influxHostTimes(influx, 'e2e-influx');
        return times.length && times[times.length - 1]! > outageEnd + INTERVAL_MS ? times : null;
      },
      { timeoutMs: 20_000, what: 'reports after the outage' },
    );
    const window = after.filter((x) => x >= before[before.length - 1]!);
    assert.ok(
      window.some((x) => x > outageStart && x < outageEnd),
      'reports sampled during the outage were replayed',
    );
    assert.ok(largestGap(window) < 2 * INTERVAL_MS, `no gap in the host series across the outage (largest ${largestGap(window)} ms)`);

    // Restart the agent → it resumes with a new session.
    const lastBeforeRestart = (await influxHostTimes(influx, 'e2e-influx')).at(-1)!;
    assert.equal(await agent.stop(), 0);
    await agent.start();
    await waitFor(async () => (await influxHostTimes(influx, 'e2e-influx')).at(-1)! > lastBeforeRestart + INTERVAL_MS, {
      timeoutMs: 15_000,
      what: 'points from the restarted agent',
    });
    const hosts = await collector.api<{ hosts: { id: string; status: string; connected: boolean }[] }>('/api/v1/hosts');
    assert.equal(hosts.hosts.find((x) => x.id === 'e2e-influx')?.status, 'up');
  });
});

describe('foundation end to end with the embedded store', () => {
  test('instances visible in the API, history kept, down and back', async (t) => {
    const h = await harness(t);
    const trio = await startTrio(h);
    const collector = await h.collector();
    await h.agent(agentConfig('e2e-embedded', trio), { collector });

    const api = await waitFor(
      async () => {
        const list = await instances(collector);
        return list.length === 3 && list.every((i) => i.status === 'up') ? list : null;
      },
      { timeoutMs: 3 * INTERVAL_MS + 10_000, what: 'three instances up in the API' },
    );
    const byAddr = new Map(api.map((i) => [i.address, i]));
    assert.equal(byAddr.get(trio.replica.address)!.role, 'slave');
    assert.equal(byAddr.get(trio.master.address)!.cluster, 'c1');
    assert.ok(byAddr.get(trio.master.address)!.usedMemory > 0);

    const health = await collector.api<{ sink: string }>('/healthz');
    assert.equal(health.sink, 'embedded');

    // History: a few points of the master's used_memory through the API.
    const series = await waitFor(
      async () => {
        const r = await collector.api<{ points: { time: number; fields: Record<string, unknown> }[] }>(
          `/api/v1/query?measurement=redis&instance=${encodeURIComponent(trio.master.address)}&limit=100`,
        );
        return r.points.length >= 3 ? r.points : null;
      },
      { timeoutMs: 5 * INTERVAL_MS + 5000, what: 'three history points of the master' },
    );
    assert.equal(typeof series[0]!.fields.used_memory, 'number');

    await trio.replica.kill();
    await waitFor(async () => (await instances(collector)).find((i) => i.address === trio.replica.address)?.status === 'down', {
      timeoutMs: 4 * INTERVAL_MS + 5000,
      what: 'replica reported down',
    });
    const down = (await instances(collector)).find((i) => i.address === trio.replica.address)!;
    assert.match(down.error, /refused|closed|connect/i);
  });
});
