// The embedded metric store (no InfluxDB configured): points from real gRPC reports
// land in SQLite, replays are idempotent, history survives a restart and is pruned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../common/index.js';
import { resolveCollectorConfig, startCollector, type Collector, type Point } from '../collector/index.js';
import { MEASUREMENTS } from '../proto/index.js';
import { harness, type Harness } from './harness/index.js';
import { TestAgent, makeHello, makeReport, redisSample } from './collector-support.js';

const TOKEN = 'store-test-token-0123456789';

async function collectorIn(h: Harness, dir: string, extra: Record<string, unknown> = {}): Promise<Collector> {
  const tokenFile = path.join(dir, 'tokens');
  await fs.writeFile(tokenFile, `${TOKEN}\n`);
  const config = resolveCollectorConfig({
    grpc: { listen: '127.0.0.1:0', tokenFile },
    http: { listen: '127.0.0.1:0' },
    store: { path: path.join(dir, 'collector.db'), ...extra },
  });
  const c = await startCollector(config, createLogger('collector-test', 'error'));
  h.onClose(() => c.close());
  return c;
}

function agent(h: Harness, c: Collector): TestAgent {
  const a = new TestAgent(c.grpcAddress, TOKEN);
  h.onClose(() => a.close());
  return a;
}

function countAll(c: Collector): number {
  let n = 0;
  for (const m of Object.keys(MEASUREMENTS)) n += c.queryPoints({ measurement: m, limit: 10_000_000, tier: 'raw' }).length;
  return n;
}

test('embedded store: report points are stored and queried back by measurement, tags and time', async (t) => {
  const h = await harness(t);
  const c = await collectorIn(h, await h.tempDir('collector-store'));
  assert.equal(c.sinkKind, 'embedded');
  const a = agent(h, c);
  await a.hello(makeHello('db-host', { labels: { idc: 'sz-a' } }));
  const ts = 1_795_000_000_000;
  await a.report(
    makeReport(1, {
      timestampMs: ts,
      redis: [
        redisSample({ address: '127.0.0.1:6379', sampledAtMs: ts + 5 }),
        redisSample({ address: '127.0.0.1:6380', role: 'slave', sampledAtMs: ts + 6 }),
      ],
    }),
  );
  assert.ok(await c.drain(5000), 'queue drained');

  const host = c.queryPoints({ measurement: 'host' });
  assert.equal(host.length, 1);
  assert.deepEqual(host[0]!.tags, { host: 'db-host', idc: 'sz-a' });
  assert.equal(host[0]!.time, ts);
  assert.equal(host[0]!.fields.mem_total_bytes, 25_276_510_208);

  const slave = c.queryPoints({ measurement: 'redis', tags: { role: 'slave' } });
  assert.equal(slave.length, 1);
  assert.equal(slave[0]!.tags.instance, '127.0.0.1:6380');
  assert.equal(slave[0]!.time, ts + 6);
  assert.equal(slave[0]!.fields.master_link_status, 'up');
  assert.equal(c.queryPoints({ measurement: 'redis', from: ts + 6 }).length, 1, 'from is inclusive');
  assert.equal(c.queryPoints({ measurement: 'redis', to: ts + 5 }).length, 1, 'to is inclusive');
  assert.equal(c.queryPoints({ measurement: 'redis', tags: { instance: '127.0.0.1:6379', cluster: 'c1' } }).length, 1);
  assert.equal(c.queryPoints({ measurement: 'redis', tags: { instance: 'nope' } }).length, 0);
  assert.equal(c.queryPoints({ measurement: 'redis_keyspace', limit: 3 }).length, 3);
  assert.equal(c.queryPoints({ measurement: 'redis_latency' })[0]!.fields.p99_9, 313.343);
  assert.equal(c.sinkStats().written, c.sinkStats().accepted);
});

test('embedded store: a re-sent report (same session and seq, new stream) is stored once', async (t) => {
  const h = await harness(t);
  const c = await collectorIn(h, await h.tempDir('collector-store'));
  const hello = makeHello('replayer');
  const report = makeReport(1, { timestampMs: 1_795_000_100_000, redis: [redisSample({ sampledAtMs: 1_795_000_100_010 })] });

  const first = agent(h, c);
  await first.hello(hello);
  await first.report(report);
  assert.ok(await c.drain(5000));
  const once = countAll(c);
  assert.ok(once > 5);

  // The agent did not see the ack (say), reconnects and re-sends everything unacked.
  first.close();
  const again = agent(h, c);
  await again.hello(hello);
  again.send({ report });
  again.send({ report });
  await again.acks(1, 2);
  assert.ok(await c.drain(5000));
  assert.equal(countAll(c), once, 'replays overwrite, never duplicate');
  assert.equal(c.queryPoints({ measurement: 'redis' }).length, 1);
  assert.equal(c.queryPoints({ measurement: 'redis_slowlog' }).length, 1);
  assert.ok(c.sinkStats().accepted >= 3 * once, 'every replay was accepted (and acked)');
});

test('embedded store: history survives a restart; age and count limits prune the oldest', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('collector-store');
  let c = await collectorIn(h, dir, { historyRetention: '1h', maxHistoryPoints: 1000 });
  const a = agent(h, c);
  await a.hello(makeHello('pruned'));
  const now = Date.now();
  const old = now - 2 * 3_600_000;
  await a.report(makeReport(1, { timestampMs: old, redis: [redisSample({ sampledAtMs: old })] }));
  await a.report(makeReport(2, { timestampMs: now, redis: [redisSample({ sampledAtMs: now })] }));
  assert.ok(await c.drain(5000));
  assert.equal(c.queryPoints({ measurement: 'host' }).length, 2);
  a.close();
  await c.close();

  // Restart on the same file: history is still there, except what the age limit removes at start.
  c = await collectorIn(h, dir, { historyRetention: '1h', maxHistoryPoints: 1000 });
  const hosts = c.queryPoints({ measurement: 'host' });
  assert.deepEqual(
    hosts.map((p) => p.time),
    [now],
    'the 2 h old point is pruned by the 1 h retention',
  );

  // Each report here is 9 points, all new (own timestamps, own slowlog entry): 120 reports exceed
  // maxHistoryPoints = 1000.
  const b = agent(h, c);
  await b.hello(makeHello('pruned'));
  for (let seq = 1; seq <= 120; seq++) {
    const s = redisSample({ sampledAtMs: now + seq });
    s.slowlog = [{ ...s.slowlog[0]!, id: 5000 + seq, timestamp: Math.floor(now / 1000) + seq }];
    b.send({ report: makeReport(seq, { timestampMs: now + seq, redis: [s] }) });
  }
  await b.ack(120);
  assert.ok(await c.drain(5000));
  const total = countAll(c);
  assert.ok(total <= 1000, `at most maxHistoryPoints kept (got ${total})`);
  assert.ok(total >= 990, `pruning keeps close to the limit (got ${total})`);
  const latest: Point[] = c.queryPoints({ measurement: 'host', from: now + 120, tier: 'raw' });
  assert.equal(latest.length, 1, 'the newest points are kept');
  assert.equal(c.queryPoints({ measurement: 'host', to: now + 1, tier: 'raw' }).length, 0, 'the oldest raw points went first');
});
