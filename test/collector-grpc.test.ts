// The collector process (dist/collector/main.js) against real gRPC agent streams:
// auth, protocol errors, size limits, acks, stream replacement, and the HTTP views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { harness, waitFor, DEFAULT_TOKEN, type CollectorProcess, type Harness } from './harness/index.js';
import { TestAgent, makeHello, makeReport, redisSample } from './collector-support.js';

function agentOf(h: Harness, c: CollectorProcess, token: string | null = DEFAULT_TOKEN, opts?: { maxSendBytes?: number }): TestAgent {
  const a = new TestAgent(c.grpcAddress, token, opts);
  h.onClose(() => a.close());
  return a;
}

/** The collector is still up: a fresh stream gets its welcome. */
async function assertServing(h: Harness, c: CollectorProcess, hostId: string): Promise<void> {
  assert.ok(c.running, 'collector process still running');
  const a = agentOf(h, c);
  await a.hello(makeHello(hostId));
  a.close();
}

test('auth: missing or wrong token is UNAUTHENTICATED without echoing it; a listed token works', async (t) => {
  const h = await harness(t);
  const c = await h.collector({}, { tokens: ['first-token-aaaaaaaa', 'second-token-bbbbbbbb'] });

  const none = agentOf(h, c, null);
  none.send({ hello: makeHello('h-none') });
  const s1 = await none.ended();
  assert.equal(s1.code, grpc.status.UNAUTHENTICATED);
  assert.match(s1.details, /missing authorization/);

  const wrong = agentOf(h, c, 'not-the-token-zzzz');
  wrong.send({ hello: makeHello('h-wrong') });
  const s2 = await wrong.ended();
  assert.equal(s2.code, grpc.status.UNAUTHENTICATED);
  assert.equal(s2.details, 'invalid token');
  assert.equal(wrong.received.length, 0, 'nothing but the status for an unauthenticated stream');

  const second = agentOf(h, c, 'second-token-bbbbbbbb'); // any line of the token file is accepted (rotation)
  const welcome = await second.hello(makeHello('h-ok'));
  assert.equal(welcome.welcome!.collectorVersion, '0.1.0');
  await second.report(makeReport(1));

  await c.waitForLog((l) => l.msg === 'agent stream refused: unauthenticated' && l.reason === 'invalid token');
  const out = c.stdout() + (await c.stderr());
  for (const secret of ['not-the-token-zzzz', 'first-token-aaaaaaaa', 'second-token-bbbbbbbb']) {
    assert.ok(!out.includes(secret), `collector output must not contain ${secret}`);
  }
});

test('protocol violations end only that stream with INVALID_ARGUMENT; the process keeps serving', async (t) => {
  const h = await harness(t);
  const c = await h.collector();

  const early = agentOf(h, c);
  early.send({ report: makeReport(5) });
  const s1 = await early.ended();
  assert.equal(s1.code, grpc.status.INVALID_ARGUMENT);
  assert.match(s1.details, /report before hello/);
  const reject = early.received.find((m) => m.body === 'reject');
  assert.equal(reject?.reject?.seq, 5);
  assert.match(reject!.reject!.reason, /report before hello/);

  const emptyId = agentOf(h, c);
  emptyId.send({ hello: makeHello('') });
  const s2 = await emptyId.ended();
  assert.equal(s2.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(s2.details, 'hello.hostId is empty');

  const badVersion = agentOf(h, c);
  badVersion.send({ hello: makeHello('h1', { protocolVersion: 9 }) });
  assert.match((await badVersion.ended()).details, /hello\.protocolVersion 9 is not supported/);

  const garbage = agentOf(h, c);
  garbage.sendRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  const s3 = await garbage.ended();
  assert.equal(s3.code, grpc.status.INVALID_ARGUMENT);
  assert.match(s3.details, /^malformed AgentMessage: /);

  const empty = agentOf(h, c);
  empty.sendRaw(Buffer.alloc(0));
  assert.equal((await empty.ended()).details, 'AgentMessage carries neither hello nor report');

  const badReport = agentOf(h, c);
  await badReport.hello(makeHello('h-bad-report'));
  badReport.send({ report: makeReport(1, { redis: [redisSample({ address: '' })] }) });
  const s4 = await badReport.ended();
  assert.equal(s4.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(s4.details, 'report.redis[0].address is empty');

  await assertServing(h, c, 'h-after-violations');
});

test('an oversized message is RESOURCE_EXHAUSTED for its stream only', async (t) => {
  const h = await harness(t);
  const c = await h.collector({ grpc: { maxMessageBytes: 65_536 } });
  const good = agentOf(h, c);
  await good.hello(makeHello('h-good'));
  await good.report(makeReport(1));

  const big = agentOf(h, c);
  await big.hello(makeHello('h-big'));
  const huge = makeReport(1, { events: [{ timestampMs: Date.now(), kind: 'x', instance: '', message: 'y'.repeat(200_000), attrs: {} }] });
  big.send({ report: huge });
  const s = await big.ended();
  assert.equal(s.code, grpc.status.RESOURCE_EXHAUSTED);

  // The other stream is unaffected and new streams are served.
  await good.report(makeReport(2));
  await assertServing(h, c, 'h-after-big');
  const hosts = await c.api('/api/v1/hosts');
  const bigHost = hosts.hosts.find((x: { id: string }) => x.id === 'h-big');
  assert.equal(bigHost.connected, false, 'the refused stream is no longer counted as connected');
  assert.equal(bigHost.lastSeq, 0, 'nothing of the oversized report was taken');
});

test('acks carry session and seq; a reconnecting host replaces its old stream', async (t) => {
  const h = await harness(t);
  const c = await h.collector();
  const first = agentOf(h, c);
  const hello = makeHello('h-acks');
  await first.hello(hello);
  for (let seq = 1; seq <= 3; seq++) {
    const ack = await first.report(makeReport(seq));
    assert.deepEqual(ack.ack, { sessionId: hello.sessionId, seq });
  }
  assert.deepEqual(
    first.received.map((m) => m.body),
    ['welcome', 'ack', 'ack', 'ack'],
  );
  const before = await c.api('/api/v1/hosts/h-acks');
  assert.equal(before.connected, true);
  assert.equal(before.lastSeq, 3);

  // Same host, new stream (the agent reconnected): the old stream is ended, the host stays connected.
  const second = agentOf(h, c);
  await second.hello({ ...hello });
  const old = await first.ended();
  assert.equal(old.code, grpc.status.ABORTED);
  assert.match(old.details, /replaced by a newer stream/);
  await second.report(makeReport(4));
  assert.equal((await c.api('/api/v1/hosts/h-acks')).connected, true);
  assert.equal((await c.api('/api/v1/hosts/h-acks')).lastSeq, 4);

  second.close();
  await waitFor(async () => (await c.api('/api/v1/hosts/h-acks')).connected === false, { what: 'host disconnected' });
});

test('HTTP API: hosts, host by id, 404, instances with filters, 400 on bad filters, healthz', async (t) => {
  const h = await harness(t);
  const c = await h.collector();
  const a = agentOf(h, c);
  await a.hello(makeHello('storage-01', { labels: { idc: 'sz-a', env: 'prod' }, roles: ['redis', 'proxy'], intervalMs: 60_000 }));
  const master = redisSample({ address: '127.0.0.1:6379', cluster: 'c1', role: 'master', sampledAtMs: Date.now() });
  const replica = redisSample({ address: '127.0.0.1:6380', cluster: 'c1', role: 'slave' });
  const down = redisSample({ address: '127.0.0.1:6381', cluster: 'c2', up: false });
  await a.report(makeReport(1, { redis: [master, replica, down] }));
  const b = agentOf(h, c);
  await b.hello(makeHello('storage-02', { intervalMs: 60_000 }));
  await b.report(makeReport(1, { redis: [redisSample({ address: '127.0.0.1:7000', cluster: 'c2' })] }));

  const hosts = await c.api('/api/v1/hosts');
  assert.deepEqual(
    hosts.hosts.map((x: { id: string }) => x.id),
    ['storage-01', 'storage-02'],
  );
  const one = await c.api('/api/v1/hosts/storage-01');
  assert.equal(one.status, 'up');
  assert.equal(one.connected, true);
  assert.deepEqual(one.labels, { idc: 'sz-a', env: 'prod' });
  assert.deepEqual(one.roles, ['redis', 'proxy']);
  assert.equal(one.intervalMs, 60_000);
  assert.equal(one.instances, 3);
  assert.equal(one.host.memTotalBytes, 25_276_510_208);
  assert.equal(one.capacity.instanceSlots, 8);
  assert.equal(one.agent.rssBytes, 50_000_000);
  assert.ok(Date.parse(one.lastReportAt) > 0);

  const missing = await c.request('/api/v1/hosts/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { error: 'host not found', id: 'nope' });
  const unknownRoute = await c.request('/api/v1/nothing');
  assert.equal(unknownRoute.status, 404);
  assert.equal((unknownRoute.body as { error: string }).error, 'not found');

  const all = (await c.api('/api/v1/instances')).instances;
  assert.equal(all.length, 4);
  const m = all.find((i: { id: string }) => i.id === 'storage-01/127.0.0.1:6379');
  assert.equal(m.status, 'up');
  assert.equal(m.role, 'master');
  assert.equal(m.version, '7.0.15');
  assert.equal(m.usedMemory, 5_491_288, 'used_memory of the INFO capture');
  assert.equal(m.maxmemory, 268_435_456);
  assert.equal(m.maxclients, 10_000);
  assert.equal(m.clients, 1);
  assert.equal(m.opsPerSec, 120.5);
  assert.deepEqual(m.headroom, {
    usedBytes: 5_491_288,
    limitBytes: 268_435_456,
    limitSource: 'maxmemory',
    usedRatio: 5_491_288 / 268_435_456,
  });
  assert.equal(m.replication.masterReplOffset, 64);
  assert.equal(m.replication.connectedSlaves, 1);
  assert.equal(m.replication.replicas[0].address, '127.0.0.1:17380');
  assert.equal(m.sampledAt, new Date(master.sampledAtMs).toISOString());
  const r = all.find((i: { id: string }) => i.id === 'storage-01/127.0.0.1:6380');
  assert.equal(r.role, 'slave');
  assert.equal(r.replication.masterLinkStatus, 'up');
  assert.equal(typeof r.replication.slaveReplOffset, 'number');
  const d = all.find((i: { id: string }) => i.id === 'storage-01/127.0.0.1:6381');
  assert.equal(d.status, 'down');
  assert.match(d.error, /ECONNREFUSED/);

  const ids = async (q: string) => (await c.api(`/api/v1/instances${q}`)).instances.map((i: { id: string }) => i.id);
  assert.deepEqual(await ids('?host=storage-02'), ['storage-02/127.0.0.1:7000']);
  assert.deepEqual(await ids('?cluster=c2'), ['storage-01/127.0.0.1:6381', 'storage-02/127.0.0.1:7000']);
  assert.deepEqual(await ids('?role=slave'), ['storage-01/127.0.0.1:6380']);
  assert.deepEqual(await ids('?status=down'), ['storage-01/127.0.0.1:6381']);
  assert.deepEqual(await ids('?host=storage-01&role=master&status=up'), ['storage-01/127.0.0.1:6379']);

  const badStatus = await c.request('/api/v1/instances?status=sideways');
  assert.equal(badStatus.status, 400);
  assert.equal((badStatus.body as { error: string }).error, 'invalid request');
  assert.match((badStatus.body as { message: string }).message, /status/);
  const badParam = await c.request('/api/v1/instances?hots=storage-01');
  assert.equal(badParam.status, 400);

  // History queries: the measurement and every tag filter are checked against the schema.
  for (const [query, message] of [
    ['measurement=redis_nope', /measurement: unknown measurement "redis_nope"/],
    ['measurement=redis&hots=storage-01', /hots: not a tag of redis/],
    ['measurement=redis&from=yesterday', /from: must be unix milliseconds or an ISO 8601 time/],
    ['measurement=redis&from=2000&to=1000', /from: must not be after to/],
    ['measurement=redis&limit=0', /limit/],
    ['host=storage-01', /measurement/],
  ] as const) {
    const bad = await c.request(`/api/v1/query?${query}`);
    assert.equal(bad.status, 400, query);
    assert.match((bad.body as { message: string }).message, message, query);
  }
  const stored = await waitFor(
    async () => {
      const r = await c.api(`/api/v1/query?measurement=host&host=storage-01&from=${new Date(0).toISOString()}`);
      return r.points.length > 0 ? r : null;
    },
    { what: 'the host point of storage-01 in the embedded history' },
  );
  assert.equal(stored.sink, 'embedded');
  assert.ok(stored.points.every((p: { tags: Record<string, string> }) => p.tags.host === 'storage-01'));

  const health = await c.api('/healthz');
  assert.equal(health.status, 'ok');
  assert.equal(health.sink, 'embedded');
  assert.equal(health.hosts, 2);
  assert.equal(typeof health.sinkQueue, 'number');
});

test('a silent host goes down after 3 of its intervals (instances host_down) and comes back with a report', async (t) => {
  const h = await harness(t);
  const c = await h.collector();
  const a = agentOf(h, c);
  await a.hello(makeHello('h-flaky', { intervalMs: 200 }));
  // Measured from the send: the ack comes only once the points are committed.
  const downAt = Date.now();
  await a.report(makeReport(1));
  assert.equal((await c.api('/api/v1/hosts/h-flaky')).status, 'up');

  await waitFor(async () => (await c.api('/api/v1/hosts/h-flaky')).status === 'down', { what: 'host down', timeoutMs: 5000 });
  assert.ok(Date.now() - downAt >= 500, 'not down before ~3 intervals of silence');
  const inst = (await c.api('/api/v1/instances?host=h-flaky')).instances;
  assert.equal(inst[0].status, 'host_down');
  assert.deepEqual(
    (await c.api('/api/v1/instances?status=host_down')).instances.map((i: { id: string }) => i.id),
    ['h-flaky/127.0.0.1:17379'],
  );
  await c.waitForLog((l) => l.msg === 'host down: no report for too long' && l.host === 'h-flaky');

  await a.report(makeReport(2));
  assert.equal((await c.api('/api/v1/hosts/h-flaky')).status, 'up');
  assert.equal((await c.api('/api/v1/instances?host=h-flaky')).instances[0].status, 'up');
  await c.waitForLog((l) => l.msg === 'host up again' && l.host === 'h-flaky');
});

test('state survives a collector restart (same store file); SIGTERM exits 0', async (t) => {
  const h = await harness(t);
  const c = await h.collector();
  const a = agentOf(h, c);
  await a.hello(makeHello('h-persist', { intervalMs: 60_000, labels: { idc: 'bj' } }));
  await a.report(makeReport(1));
  await a.report(
    makeReport(2, { redis: [redisSample({ address: '127.0.0.1:6379' }), redisSample({ address: '127.0.0.1:6380', role: 'slave' })] }),
  );
  a.close();

  assert.equal(await c.stop(), 0, 'graceful stop on SIGTERM exits 0');
  await c.start();
  const host = await c.api('/api/v1/hosts/h-persist');
  assert.equal(host.lastSeq, 2);
  assert.equal(host.connected, false);
  assert.equal(host.status, 'up');
  assert.deepEqual(host.labels, { idc: 'bj' });
  assert.equal(host.instances, 2);
  const inst = (await c.api('/api/v1/instances?host=h-persist')).instances;
  assert.deepEqual(
    inst.map((i: { address: string; role: string }) => `${i.address}:${i.role}`),
    ['127.0.0.1:6379:master', '127.0.0.1:6380:slave'],
  );

  // A report that drops an instance removes it, also across the next restart.
  const b = agentOf(h, c);
  await b.hello(makeHello('h-persist', { intervalMs: 60_000 }));
  await b.report(makeReport(1, { redis: [redisSample({ address: '127.0.0.1:6379' })] }));
  b.close();
  await c.restart();
  assert.deepEqual(
    (await c.api('/api/v1/instances?host=h-persist')).instances.map((i: { address: string }) => i.address),
    ['127.0.0.1:6379'],
  );
  assert.equal((await c.api('/api/v1/hosts/h-persist')).lastSeq, 1, 'a new session restarts seq');
});

test("after a collector restart, a host that was up gets the agents' reconnect grace before silence counts", async (t) => {
  const h = await harness(t);
  const c = await h.collector();
  const a = agentOf(h, c);
  await a.hello(makeHello('h-grace', { intervalMs: 200 }));
  await a.report(makeReport(1));
  await waitFor(async () => (await c.api('/api/v1/hosts/h-grace')).status === 'up', { what: 'host up' });
  a.close();
  await c.stop();
  await c.start();
  const restartedAt = Date.now();
  // 3 intervals of 200 ms would have passed long ago; the grace keeps it up (no false HostSilent)...
  await waitFor(() => Date.now() - restartedAt > 2000, { what: 'two seconds after the restart' });
  assert.equal((await c.api('/api/v1/hosts/h-grace')).status, 'up');
  // ...and a host that really stays silent is down once the grace and its 3 intervals are over.
  await waitFor(async () => (await c.api('/api/v1/hosts/h-grace')).status === 'down', {
    what: 'host down after the grace',
    timeoutMs: 20_000,
  });
  assert.ok(Date.now() - restartedAt >= 10_000, `down ${Date.now() - restartedAt} ms after the restart`);
});
