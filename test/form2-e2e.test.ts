// Report form 2 end to end on real servers: the same INFO capture sent in form 1 and in form 2
// lands as the same points in a real InfluxDB; the real agent negotiates form 2, and form 1 with
// a collector that does not offer it; a schema mismatch is refused with a Reject in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { harness, waitFor, freePort, type InfluxServer } from './harness/index.js';
import { rendezvousOrder } from '../agent/transport/rendezvous.js';
import { TestAgent, makeHello } from './collector-support.js';
import { fixtureSample } from './form2-support.js';
import { REPORT_FORM_V2, SCHEMA_FINGERPRINT, encodeRedisSamples, type Report, type RedisSample } from '../proto/index.js';

const welcomeForm = (m: unknown): number | undefined => (m as { welcome?: { reportForm?: number } }).welcome?.reportForm;
const offer = { reportForms: [REPORT_FORM_V2], schema: SCHEMA_FINGERPRINT };

/** Every stored row of a host, by measurement and series (host tag left out), in a comparable form. */
async function storedRows(influx: InfluxServer, db: string, host: string): Promise<string[]> {
  const rows = await influx.rows(`SELECT * FROM /.*/ WHERE host = '${host}' GROUP BY *`, db);
  return rows
    .map((r) => {
      const { host: _h, ...rest } = r;
      return JSON.stringify(
        Object.fromEntries(
          Object.entries(rest)
            .filter(([, v]) => v !== null)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        ),
      );
    })
    .sort();
}

test('the same INFO capture in form 1 and in form 2 is stored as the same points in InfluxDB; the latest-sample view agrees', async (t) => {
  const h = await harness(t);
  const influx = await h.influx();
  const collector = await h.collector({ influx: { url: influx.url, database: 'forms', flushInterval: '50ms' } });
  const samples: RedisSample[] = [
    fixtureSample('master', '10.0.0.1:6379'),
    fixtureSample('replica', '10.0.0.1:6380'),
    { ...fixtureSample('master', '10.0.0.1:6381'), up: false, error: 'connect "refused" \\ now', info: {} },
  ];
  const report: Report = { seq: 1, timestampMs: 1_795_345_417_766, redis: samples, proxies: [], events: [] };

  const v1 = new TestAgent(collector.grpcAddress, collector.tokens[0]!);
  const v2 = new TestAgent(collector.grpcAddress, collector.tokens[0]!);
  t.after(() => {
    v1.close();
    v2.close();
  });
  // An agent from before forms: no offer, so form 1, and it is taken as always.
  assert.equal(welcomeForm(await v1.hello(makeHello('form1-host'))), 1);
  assert.equal(welcomeForm(await v2.hello(makeHello('form2-host', offer))), REPORT_FORM_V2);
  await v1.report(report);
  await v2.report({ ...report, redis: [], redisV2: encodeRedisSamples(samples) });

  let rows1: string[] = [];
  let rows2: string[] = [];
  await waitFor(
    async () => {
      rows1 = await storedRows(influx, 'forms', 'form1-host');
      rows2 = await storedRows(influx, 'forms', 'form2-host');
      return rows1.length > 40 && rows2.length === rows1.length;
    },
    { timeoutMs: 30_000, what: 'both hosts stored in InfluxDB' },
  );
  assert.deepEqual(rows2, rows1);
  // The escapes made it through: a tag with space/comma/equals, a string field with quote and backslash.
  const master = rows1
    .map((r) => JSON.parse(r) as Record<string, unknown>)
    .find((r) => r._measurement === 'redis' && r.instance === '10.0.0.1:6379')!;
  assert.equal(master.cluster, 'c 1,x=y');
  assert.equal(master.config_file, '/etc/redis "main" \\ 1.conf');

  // The API's latest-sample view (what rules, views and placement read) is the same too.
  const latest = async (host: string) =>
    (await collector.api<{ instances: { id: string; host: string }[] }>(`/api/v1/instances?host=${host}`)).instances
      .map(({ id, ...rest }) => JSON.stringify({ ...rest, id: id.slice(host.length), host: undefined }))
      .sort();
  assert.deepEqual(await latest('form2-host'), await latest('form1-host'));
});

test('a real agent reports in form 2 when the collector accepts it, in form 1 when it does not (grpc.reportForm2: false)', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  for (const reportForm2 of [true, false]) {
    const collector = await h.collector({ grpc: { reportForm2 } });
    const agent = await h.agent({ hostId: `agent-${reportForm2}`, interval: '200ms', redis: [{ address: redis.address }] }, { collector });
    const line = await agent.waitForLog('connected to collector', 30_000);
    assert.equal(line.reportForm, reportForm2 ? REPORT_FORM_V2 : 1);
    await waitFor(
      async () => {
        const r = await collector.api<{ instances: { status: string; usedMemory: number | null; version: string | null }[] }>(
          `/api/v1/instances?host=agent-${reportForm2}`,
        );
        const s = r.instances[0];
        return s?.status === 'up' && typeof s.usedMemory === 'number' && s.usedMemory > 0 && s.version?.startsWith('7.');
      },
      { timeoutMs: 30_000, what: `the agent's samples in the latest view (reportForm2 ${reportForm2})` },
    );
    await agent.stop();
    await collector.stop();
  }
});

test('a schema mismatch falls back to form 1 with a warning; form 2 sent anyway is refused with a Reject saying why', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  const samples = [fixtureSample('master', '10.0.0.1:6379')];
  const other = SCHEMA_FINGERPRINT ^ 0x5a5a5a5a;

  const a = new TestAgent(collector.grpcAddress, collector.tokens[0]!);
  t.after(() => a.close());
  assert.equal(welcomeForm(await a.hello(makeHello('skewed', { ...offer, schema: other }))), 1);
  const warned = await collector.waitForLog(
    'agent offers report form 2 with another metric schema: it reports in form 1 (upgrade the agent or the collector to match)',
  );
  assert.equal(warned.host, 'skewed');
  a.send({
    report: { seq: 1, timestampMs: Date.now(), redis: [], proxies: [], events: [], redisV2: encodeRedisSamples(samples, other) },
  });
  const status = await a.ended();
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  const reject = a.received.find((m) => m.body === 'reject')?.reject;
  assert.equal(reject?.seq, 1);
  assert.match(reject!.reason, /built from different metric schemas/);
  assert.match(reject!.reason, new RegExp(other.toString(16).padStart(8, '0')));

  // Form 2 on a stream that never offered it: refused too, and the collector keeps serving.
  const b = new TestAgent(collector.grpcAddress, collector.tokens[0]!);
  t.after(() => b.close());
  await b.hello(makeHello('unoffered'));
  b.send({ report: { seq: 1, timestampMs: Date.now(), redis: [], proxies: [], events: [], redisV2: encodeRedisSamples(samples) } });
  assert.equal((await b.ended()).code, grpc.status.INVALID_ARGUMENT);
  assert.match(b.received.find((m) => m.body === 'reject')!.reject!.reason, /did not negotiate report form 2/);

  const many = new TestAgent(collector.grpcAddress, collector.tokens[0]!);
  t.after(() => many.close());
  many.send({ hello: makeHello('many-forms', { reportForms: Array.from({ length: 17 }, () => REPORT_FORM_V2) }) });
  const refused = await many.ended();
  assert.equal(refused.code, grpc.status.INVALID_ARGUMENT);
  assert.match(refused.details, /hello\.reportForms has 17 entries/);

  const c = new TestAgent(collector.grpcAddress, collector.tokens[0]!);
  t.after(() => c.close());
  assert.equal(welcomeForm(await c.hello(makeHello('fine', offer))), REPORT_FORM_V2);
  await c.report({ seq: 1, timestampMs: Date.now(), redis: [], proxies: [], events: [], redisV2: encodeRedisSamples(samples) });
});

test("gzip'd writes (influx.gzip, the default) are taken by InfluxDB and VictoriaMetrics alike, in fewer bytes", async (t) => {
  const h = await harness(t);
  const [influx, vm] = await Promise.all([h.influx(), h.victoria()]);
  const samples = [{ ...fixtureSample('master', '10.0.0.1:6379'), sampledAtMs: Date.now() }];
  for (const [flavor, url] of [
    ['influxdb', influx.url],
    ['victoriametrics', vm.url],
  ] as const) {
    const collector = await h.collector({ influx: { url, flavor, database: 'gz', flushInterval: '50ms' } });
    const a = new TestAgent(collector.grpcAddress, collector.tokens[0]!);
    t.after(() => a.close());
    await a.hello(makeHello(`gz-${flavor}`, offer));
    await a.report({ seq: 1, timestampMs: Date.now(), redis: [], proxies: [], events: [], redisV2: encodeRedisSamples(samples) });
    const stats = await waitFor(
      async () => {
        const s = (await collector.api<{ sinkStats: { written: number; bodyBytes: number; sentBytes: number } }>('/healthz')).sinkStats;
        return s.written > 0 && s.sentBytes > 0 ? s : undefined;
      },
      { timeoutMs: 30_000, what: `points written to ${flavor}` },
    );
    assert.ok(stats.sentBytes < stats.bodyBytes / 2, `${flavor}: sent ${stats.sentBytes} of ${stats.bodyBytes} bytes`);
    const usedMemory = samples[0]!.info.used_memory as { int: number };
    if (flavor === 'influxdb') {
      const rows = await influx.rows(`SELECT used_memory FROM redis WHERE host = 'gz-influxdb'`, 'gz');
      assert.equal(rows[0]?.used_memory, usedMemory.int);
    } else {
      const series = await waitFor(
        async () => {
          const r = await vm.query('redis_used_memory{host="gz-victoriametrics"}');
          return r.length ? r : undefined;
        },
        { timeoutMs: 30_000, what: 'the point in VictoriaMetrics' },
      );
      assert.equal(Number(series[0]!.value![1]), usedMemory.int);
    }
    await collector.stop();
  }
});

test('reports buffered in form 2 are resent in form 1 when the agent fails over to a collector without form 2', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const a = await h.collector({ grpc: { reportForm2: true } });
  const b = await h.collector({ grpc: { reportForm2: false } });
  const addresses = [a.grpcAddress, b.grpcAddress];
  // a host id that prefers the form-2 collector (rendezvous order)
  let hostId = '';
  for (let i = 0; !hostId; i++)
    if (
      rendezvousOrder(
        `fo-${i}`,
        addresses.map((address) => ({ address })),
      )[0]!.address === a.grpcAddress
    )
      hostId = `fo-${i}`;
  const dir = await h.tempDir('fo-metrics');
  await fs.writeFile(path.join(dir, 'token'), 'm-token\n', { mode: 0o600 });
  const port = await freePort();
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const agent = await h.agent({
    hostId,
    interval: '200ms',
    redis: [{ address: redis.address }],
    collector: { addresses },
    metrics: { listen: `127.0.0.1:${port}`, tokenFile: path.join(dir, 'token') },
  });
  const first = await agent.waitForLog('connected to collector', 30_000);
  assert.equal(first.reportForm, REPORT_FORM_V2);
  const seqOn = async (c: typeof a) =>
    (await c.api<{ lastSeq?: number }>(`/api/v1/hosts/${hostId}`).catch(() => ({ lastSeq: 0 }))).lastSeq ?? 0;
  await waitFor(async () => (await seqOn(a)) >= 3, { timeoutMs: 30_000, what: 'form-2 reports acked by the first collector' });
  // Frozen: the agent keeps encoding (form 2) and buffering unacked reports; then it dies.
  process.kill(a.pid, 'SIGSTOP');
  const frozenAt = await seqOn(b);
  assert.equal(frozenAt, 0);
  await waitFor(
    async () => {
      const text = await (await fetch(metricsUrl, { headers: { authorization: 'Bearer m-token' } })).text();
      return Number(/^redis_fleet_agent_buffered_reports (\d+)/m.exec(text)?.[1] ?? 0) >= 3;
    },
    { timeoutMs: 30_000, what: 'form-2 reports buffered, unacked, while the first collector is frozen' },
  );
  await a.kill('SIGKILL');
  const moved = await agent.waitForLog((l) => l.msg === 'connected to collector' && l.address === b.grpcAddress, 30_000);
  assert.equal(moved.reportForm, 1);
  await waitFor(async () => (await seqOn(b)) >= 8, { timeoutMs: 30_000, what: 'the buffered reports acked by the form-1 collector' });
  assert.equal(b.logs().filter((l) => l.msg === 'agent report refused').length, 0);
});
