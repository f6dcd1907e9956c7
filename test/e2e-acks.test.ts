// Acks that mean stored, end to end on real servers: Redis → real agent → collector →
// InfluxDB 1.6 (or the embedded SQLite store). The collector is SIGKILLed, InfluxDB is
// stopped for longer than any memory queue would last, the spool fills up: afterwards
// every report the agent produced is stored exactly once (one `host` point per report,
// one `redis` point per report and instance), and nothing is counted as dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { harness, waitFor, type AgentProcess, type CollectorProcess, type InfluxServer } from './harness/index.js';
import { openDatabase } from '../collector/sqlite.js';

const DB = 'redisfleet';
const INTERVAL = '200ms';

interface Health {
  status: 'ok' | 'degraded';
  sinkQueue: number;
  sinkStats: { accepted: number; written: number; spooled: number; droppedRejected: number; droppedNoRoom: number };
  storage?: {
    state: 'ok' | 'spooling' | 'full';
    reason?: string;
    pausedStreams: number;
    spool?: { bytes: number; maxBytes: number; points: number };
  };
  drops?: { rejected: number; noRoom: number };
}

interface AgentStatusFile {
  collector: { connected: boolean; lastSeq: number; bufferedReports: number; droppedReports: number };
}

const health = (c: CollectorProcess): Promise<Health> => c.api<Health>('/healthz');

function agentStatus(a: AgentProcess): AgentStatusFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(String(a.config.statusFile), 'utf8')) as AgentStatusFile;
  } catch {
    return undefined; // not written yet, or being replaced
  }
}

/** Waits until the agent has produced `n` more reports than it had when called. */
async function moreReports(a: AgentProcess, n: number, what: string): Promise<number> {
  const from = agentStatus(a)?.collector.lastSeq ?? 0;
  await waitFor(() => (agentStatus(a)?.collector.lastSeq ?? 0) >= from + n, { what, timeoutMs: 30_000 });
  return agentStatus(a)!.collector.lastSeq;
}

/** Lets the agent deliver what it buffered, stops it (flushing) and returns its last seq. */
async function stopDelivered(a: AgentProcess): Promise<number> {
  await waitFor(
    () => {
      const s = agentStatus(a)?.collector;
      return s && s.connected && s.bufferedReports <= 2;
    },
    { what: 'the agent buffer delivered', timeoutMs: 60_000 },
  );
  assert.equal(await a.stop(), 0);
  const line = a.logs().find((l) => l.msg === 'agent stopped');
  assert.ok(line, 'the agent logged its stop');
  assert.equal(line.flushed, true, 'every report was acked before the agent exited');
  assert.equal(agentStatus(a)?.collector.droppedReports ?? 0, 0, 'the agent dropped nothing');
  return Number(line.lastSeq);
}

/** Times of the points of one measurement for one host, oldest first. */
async function influxTimes(influx: InfluxServer, measurement: string, field: string, host: string): Promise<number[]> {
  const rows = await influx.rows(`SELECT "${field}" FROM "${measurement}" WHERE "host" = '${host}'`, DB);
  return rows.map((r) => Number(r.time)).sort((a, b) => a - b);
}

/** Every report 1..n is in InfluxDB exactly once: n host points and n redis points at n distinct times. */
async function assertEveryReportOnce(influx: InfluxServer, host: string, n: number): Promise<void> {
  const hostTimes = await waitFor(
    async () => {
      const t = await influxTimes(influx, 'host', 'cpu_cores', host);
      return t.length >= n ? t : undefined;
    },
    { what: `${n} host points`, timeoutMs: 60_000 },
  );
  assert.equal(hostTimes.length, n, 'one host point per report: no gap');
  assert.equal(new Set(hostTimes).size, n, 'none twice');
  // Redis points carry their own sampling time (close to, not equal to, the report's).
  const redisTimes = await influxTimes(influx, 'redis', 'up', host);
  assert.equal(redisTimes.length, n, 'one redis point per report');
  assert.equal(new Set(redisTimes).size, n);
}

async function assertNothingDropped(c: CollectorProcess): Promise<void> {
  const hz = await waitFor(
    async () => {
      const x = await health(c);
      return x.sinkQueue === 0 && x.status === 'ok' ? x : undefined;
    },
    { what: 'storage ok and empty', timeoutMs: 60_000 },
  );
  assert.equal(hz.sinkStats.droppedNoRoom, 0);
  assert.equal(hz.sinkStats.droppedRejected, 0);
  assert.deepEqual({ rejected: hz.drops?.rejected, noRoom: hz.drops?.noRoom }, { rejected: 0, noRoom: 0 });
}

async function alertState(c: CollectorProcess, name: string): Promise<string | undefined> {
  const { alerts } = await c.api<{ alerts: { state: string }[] }>(`/api/v1/alerts?alertname=${name}`);
  return alerts[0]?.state;
}

test('SIGKILL the collector while InfluxDB is stopped and reports flow; restart both: every sample of the outage is stored once', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const influx = await h.influx();
  const collector = await h.collector({ influx: { url: influx.url, database: DB } });
  const agent = await h.agent({ hostId: 'acks-kill', interval: INTERVAL, redis: [{ address: redis.address }] }, { collector });
  await waitFor(async () => (await influxTimes(influx, 'host', 'cpu_cores', 'acks-kill')).length >= 3, {
    what: 'first points in InfluxDB',
    timeoutMs: 30_000,
  });

  await influx.stop();
  await waitFor(
    async () => {
      const x = await health(collector);
      return x.storage?.state === 'spooling' && x.sinkStats.spooled > 0;
    },
    { what: 'the collector spooling', timeoutMs: 30_000 },
  );
  const hz = await health(collector);
  assert.equal(hz.status, 'degraded');
  assert.ok(hz.storage!.spool!.points > 0);
  await moreReports(agent, 5, 'reports spooled while InfluxDB is away');
  // Acked (fsync'd in the spool) reports, then the SIGKILL: only the disk has them now.
  await collector.kill('SIGKILL');
  await moreReports(agent, 5, 'reports buffered by the agent while the collector is dead');

  await influx.restart();
  await collector.start();
  assert.ok(
    collector.logs().some((l) => l.msg === 'spool: replaying points a previous run left'),
    'the spool was replayed',
  );
  const n = await stopDelivered(agent);
  assert.ok(n >= 15);
  await assertEveryReportOnce(influx, 'acks-kill', n);
  await assertNothingDropped(collector);
});

test('InfluxDB down far longer than the old memory queue would last: nothing lost; health and CollectorSpooling say so', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const influx = await h.influx();
  // The memory queue holds 100 points (a few reports); the outage spans many times that.
  const collector = await h.collector({ influx: { url: influx.url, database: DB, batchSize: 50, maxQueuePoints: 100 } });
  const agent = await h.agent({ hostId: 'acks-long', interval: INTERVAL, redis: [{ address: redis.address }] }, { collector });
  await waitFor(async () => (await influxTimes(influx, 'host', 'cpu_cores', 'acks-long')).length >= 2, {
    what: 'first points',
    timeoutMs: 30_000,
  });

  await influx.stop();
  await waitFor(async () => (await health(collector)).sinkStats.spooled > 10 * 100, {
    what: 'ten memory queues worth spooled',
    timeoutMs: 60_000,
  });
  const during = await health(collector);
  assert.equal(during.status, 'degraded');
  assert.equal(during.storage?.state, 'spooling');
  assert.match(String(during.storage?.reason), /ECONNREFUSED|connect|refused/i);
  await waitFor(async () => (await alertState(collector, 'CollectorSpooling')) === 'firing', {
    what: 'CollectorSpooling firing',
    timeoutMs: 20_000,
  });
  assert.ok((agentStatus(agent)?.collector.bufferedReports ?? 99) <= 3, 'the agent buffer stays (nearly) empty: spooled reports are acked');

  await influx.restart();
  const n = await stopDelivered(agent);
  await assertEveryReportOnce(influx, 'acks-long', n);
  await assertNothingDropped(collector);
  await waitFor(async () => (await alertState(collector, 'CollectorSpooling')) === 'resolved', {
    what: 'CollectorSpooling resolved',
    timeoutMs: 20_000,
  });
});

test('spool full: the collector stops acking, the agent buffers, health is degraded and CollectorBackpressure fires; nothing lost after', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const influx = await h.influx();
  const collector = await h.collector({
    influx: { url: influx.url, database: DB, batchSize: 50, maxQueuePoints: 100 },
    spool: { maxBytes: '128kb', segmentBytes: '64kb' },
  });
  const agent = await h.agent({ hostId: 'acks-full', interval: INTERVAL, redis: [{ address: redis.address }] }, { collector });
  await waitFor(async () => (await influxTimes(influx, 'host', 'cpu_cores', 'acks-full')).length >= 2, {
    what: 'first points',
    timeoutMs: 30_000,
  });

  await influx.stop();
  const full = await waitFor(
    async () => {
      const x = await health(collector);
      return x.storage?.state === 'full' ? x : undefined;
    },
    { what: 'storage full', timeoutMs: 60_000 },
  );
  assert.equal(full.status, 'degraded');
  assert.ok(full.storage!.spool!.bytes <= 128 * 1024, 'the spool stays within spool.maxBytes');
  await waitFor(async () => (await health(collector)).storage!.pausedStreams >= 1, { what: 'the agent stream paused', timeoutMs: 20_000 });
  // Not acked any more: the agent's buffer grows with every tick.
  await waitFor(() => (agentStatus(agent)?.collector.bufferedReports ?? 0) >= 10, { what: 'the agent buffering', timeoutMs: 30_000 });
  await waitFor(async () => (await alertState(collector, 'CollectorBackpressure')) === 'firing', {
    what: 'CollectorBackpressure firing',
    timeoutMs: 20_000,
  });

  await influx.restart();
  const n = await stopDelivered(agent);
  await assertEveryReportOnce(influx, 'acks-full', n);
  await assertNothingDropped(collector);
  await waitFor(async () => (await alertState(collector, 'CollectorBackpressure')) === 'resolved', {
    what: 'CollectorBackpressure resolved',
    timeoutMs: 20_000,
  });
  // With no agent left to write, the storage still leaves 'full' once the spool has drained.
  await waitFor(async () => (await health(collector)).storage?.state === 'ok', { what: 'storage ok', timeoutMs: 20_000 });
  assert.equal(await alertState(collector, 'CollectorBackpressure'), 'resolved', 'not fired again');
  assert.equal(await alertState(collector, 'MetricsDropped'), undefined, 'nothing was dropped');
});

test('embedded store: acks come after the SQLite commit — SIGKILL while reports flow loses nothing', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const collector = await h.collector();
  const agent = await h.agent({ hostId: 'acks-sqlite', interval: INTERVAL, redis: [{ address: redis.address }] }, { collector });
  await moreReports(agent, 5, 'reports stored');
  await collector.kill('SIGKILL');
  await moreReports(agent, 3, 'reports buffered while the collector is dead');
  await collector.start();
  await moreReports(agent, 3, 'reports after the restart');
  await collector.kill('SIGKILL');
  await collector.start();
  const n = await stopDelivered(agent);
  await collector.stop();

  const db = openDatabase(String((collector.config.store as { path: string }).path));
  t.after(() => db.close());
  const times = db
    .prepare<{ time: number }>(
      `SELECT p.time AS time FROM history_raw p JOIN series s ON s.id = p.series
    WHERE s.measurement = 'host' AND json_extract(s.tags, '$.host') = 'acks-sqlite' ORDER BY p.time`,
    )
    .all()
    .map((r) => r.time);
  assert.equal(times.length, n, 'one host point per report');
  assert.equal(new Set(times).size, n);
  const redisPoints = db
    .prepare<{ n: number }>(
      `SELECT count(*) AS n FROM history_raw p JOIN series s ON s.id = p.series
    WHERE s.measurement = 'redis' AND json_extract(s.tags, '$.host') = 'acks-sqlite'`,
    )
    .get()!.n;
  assert.equal(redisPoints, n);
});

test("the Welcome carries the collector's maxMessageBytes: the agent drops (counts, logs once) larger reports instead of breaking the stream", async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const collector = await h.collector({ grpc: { maxMessageBytes: 2048 } });
  const agent = await h.agent({ hostId: 'acks-big', interval: INTERVAL, redis: [{ address: redis.address }] }, { collector });
  await waitFor(() => (agentStatus(agent)?.collector.droppedReports ?? 0) >= 5, {
    what: 'oversized reports dropped by the agent',
    timeoutMs: 30_000,
  });
  const st = agentStatus(agent)!.collector;
  assert.equal(st.connected, true, 'the stream stays up');
  assert.equal(agent.logs().filter((l) => l.msg === 'report larger than maxMessageBytes dropped').length, 1, 'logged once');
  assert.ok(
    !collector.logs().some((l) => String(l.why ?? '').includes('RESOURCE_EXHAUSTED') || String(l.msg).includes('refused')),
    'the collector never saw one',
  );
  const host = await collector.api<{ lastSeq?: number; connected: boolean }>('/api/v1/hosts/acks-big');
  assert.equal(host.connected, true);
});
