// The agent's link to the collector against a real grpc-js server: hello/welcome,
// acks, buffering while the collector is away, in-order replay without gaps, the
// buffer bound, a rejected token, dead and silent addresses, oversize reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startAgent, CollectorLink, type AgentHandle } from '../agent/index.js';
import { PROTOCOL_VERSION } from '../proto/index.js';
import { rendezvousOrder } from '../agent/transport/rendezvous.js';
import { freePort, waitFor } from './harness/index.js';
import { TestCollector, agentConfig, memoryLogger, TEST_TOKEN, type ReceivedReport, type TestCollectorOptions } from './agent-support.js';

const FAST = { backoff: { baseMs: 50, maxMs: 400 }, welcomeTimeoutMs: 1500 };

type Ctx = { after(fn: () => unknown): void };

async function collector(t: Ctx, opts: TestCollectorOptions = {}): Promise<TestCollector> {
  const c = await TestCollector.start(opts);
  t.after(() => c.stop());
  return c;
}

async function agent(t: Ctx, overrides: Parameters<typeof agentConfig>[0], log = memoryLogger()): Promise<AgentHandle> {
  const a = await startAgent(agentConfig(overrides), log.logger, FAST);
  t.after(() => a.stop({ flushMs: 0 }));
  return a;
}

/** Every connection's seqs are consecutive, and each connection resumes at or before the next missing seq. */
function assertInOrderNoGap(reports: ReceivedReport[], from = 1): number {
  let highest = from - 1;
  let lastConn = -1;
  let prev = 0;
  for (const r of reports) {
    if (r.connection !== lastConn) {
      assert.ok(r.seq <= highest + 1, `connection ${r.connection} starts at ${r.seq} but ${highest + 1} was never received`);
      lastConn = r.connection;
    } else {
      assert.equal(r.seq, prev + 1, `gap within connection ${r.connection}: ${prev} → ${r.seq}`);
    }
    prev = r.seq;
    highest = Math.max(highest, r.seq);
  }
  return highest;
}

test('hello first, then one report per tick with seq 1,2,3…, acked; stop flushes', async (t) => {
  const c = await collector(t);
  const log = memoryLogger();
  const a = await agent(
    t,
    { hostId: 'h-1', labels: { idc: 'sz-a', env: 'test' }, roles: ['redis', 'proxy'], collector: { addresses: [c.address] } },
    log,
  );
  await waitFor(() => c.reports.length >= 4, { what: '4 reports' });
  assert.equal(c.hellos.length, 1);
  const hello = c.hellos[0]!;
  assert.equal(hello.hostId, 'h-1');
  assert.deepEqual(hello.labels, { idc: 'sz-a', env: 'test' });
  assert.deepEqual(hello.roles, ['redis', 'proxy']);
  assert.equal(hello.intervalMs, 200);
  assert.equal(hello.sessionId, a.sessionId);
  assert.equal(hello.protocolVersion, PROTOCOL_VERSION);
  assert.match(hello.agentVersion, /^\d+\.\d+\.\d+/);
  const seqs = c.seqs();
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
  );
  const r = c.reports[2]!;
  assert.ok(r.timestampMs > c.reports[1]!.timestampMs);
  assert.ok(r.host!.memTotalBytes > 0 && r.host!.cpuCores > 0);
  assert.ok(r.agent!.rssBytes > 0);
  assert.ok(r.agent!.tickCpuMs >= 0);
  assert.deepEqual(r.capacity!.idleAddresses, []);
  await waitFor(() => a.stats().bufferedReports === 0, { what: 'acks to empty the buffer' });
  await a.stop();
  const last = c.reports.length;
  assert.equal(a.stats().lastSeq, last, 'everything submitted was delivered');
  assert.equal(log.count('connected to collector'), 1);
  assert.ok(!log.text().includes(TEST_TOKEN));
});

test('collector away for a few ticks: reports buffered, then every seq arrives in order with no gap', async (t) => {
  const c = await collector(t);
  const a = await agent(t, { collector: { addresses: [c.address] } });
  await waitFor(() => c.reports.length >= 3, { what: 'first reports' });
  await c.stop();
  const lastBefore = Math.max(...c.seqs());
  await waitFor(() => a.stats().lastSeq >= lastBefore + 5, { what: 'agent keeps ticking while the collector is away' });
  assert.ok(a.stats().bufferedReports >= 4, `buffered ${a.stats().bufferedReports}`);
  assert.equal(a.stats().connected, false);
  await c.listen();
  await waitFor(() => a.stats().lastSeq > 0 && c.seqs().includes(a.stats().lastSeq) && a.stats().bufferedReports === 0, {
    what: 'the backlog to be delivered and acked',
    timeoutMs: 15_000,
  });
  const highest = assertInOrderNoGap(c.reports);
  assert.equal(new Set(c.seqs()).size, highest, 'every seq from 1 arrived');
  assert.ok(c.connections >= 2);
  assert.equal(c.hellos.length, c.connections, 'a hello opens every connection');
  assert.ok(
    c.hellos.every((h) => h.sessionId === a.sessionId),
    'same session across reconnects',
  );
  assert.ok(a.stats().reconnects >= 1);
  assert.equal(a.stats().droppedReports, 0);
});

test('buffer bound: the oldest are dropped first and counted; a closed port never stops sampling', async (t) => {
  const port = await freePort();
  const log = memoryLogger();
  const a = await agent(t, { collector: { addresses: [`127.0.0.1:${port}`] }, buffer: { maxReports: 3 } }, log);
  await waitFor(() => a.stats().lastSeq >= 8, { what: 'ticks while no collector exists', timeoutMs: 15_000 });
  const s = a.stats();
  assert.equal(s.bufferedReports, 3);
  assert.ok(s.droppedReports >= 5);
  assert.equal(log.count('report buffer full; dropping the oldest reports'), 1);
  assert.equal(log.count('collector unreachable; buffering reports and retrying'), 1, 'logged once, not per attempt');
  const c = await collector(t, { port });
  await waitFor(() => c.reports.length >= 5, { what: 'reports after the collector appears', timeoutMs: 15_000 });
  const first = c.reports[0]!.seq;
  assert.ok(first > 1, 'the oldest reports were dropped, not the newest');
  assertInOrderNoGap(c.reports, first);
  assert.ok(c.reports.at(-1)!.agent!.droppedReports >= first - 1, 'the drop counter travels in the reports');
});

test('wrong token: UNAUTHENTICATED logged once without the token, retried with backoff, sampling goes on', async (t) => {
  const c = await collector(t, { token: 'the-right-token' });
  const log = memoryLogger();
  const a = await agent(t, { collector: { addresses: [c.address] } }, log);
  await waitFor(() => c.authFailures >= 4, { what: 'repeated attempts', timeoutMs: 15_000 });
  assert.equal(log.count('collector rejected the token; retrying with backoff'), 1);
  const line = log.lines.find((l) => l.msg === 'collector rejected the token; retrying with backoff')!;
  assert.equal(line.code, 'UNAUTHENTICATED');
  assert.ok(!log.text().includes(TEST_TOKEN) && !log.text().includes('the-right-token'));
  assert.equal(c.reports.length, 0);
  assert.ok(a.stats().lastSeq >= 2 && a.stats().bufferedReports === a.stats().lastSeq, 'still sampling and buffering');
});

test('several addresses: a dead one and a silent one are skipped, the live one gets the reports', async (t) => {
  const dead = await freePort();
  // Accepts TCP but never speaks HTTP/2: only the welcome timeout gets the agent past it.
  const silent = net.createServer(() => {
    /* hold the socket */
  });
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  silent.on('connection', (s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const silentPort = (silent.address() as net.AddressInfo).port;
  const c = await collector(t);
  const log = memoryLogger();
  const addresses = [`127.0.0.1:${dead}`, `127.0.0.1:${silentPort}`, c.address];
  // The addresses are tried in the host's rendezvous order: pick a host id that ranks the live one last.
  const hostId = Array.from({ length: 100 }, (_, i) => `h-${i}`).find(
    (id) =>
      rendezvousOrder(
        id,
        addresses.map((address) => ({ address })),
      ).at(-1)!.address === c.address,
  )!;
  await agent(t, { hostId, collector: { addresses } }, log);
  await waitFor(() => c.reports.length >= 3, { what: 'reports via the third address', timeoutMs: 15_000 });
  assertInOrderNoGap(c.reports);
  assert.equal(c.reports[0]!.seq, 1, 'nothing lost while trying the other addresses');
  assert.ok(accepted >= 1, 'the silent address was tried');
  const connected = log.lines.find((l) => l.msg === 'connected to collector')!;
  assert.equal(connected.address, c.address);
});

test('a report larger than maxMessageBytes is dropped (counted, logged once), never buffered; seqs stay gapless', async (t) => {
  const c = await collector(t);
  const log = memoryLogger();
  const link = new CollectorLink({
    addresses: [{ host: '127.0.0.1', port: c.port, address: c.address }],
    token: TEST_TOKEN,
    maxMessageBytes: 4096,
    buffer: { maxReports: 100, maxBytes: 1 << 20 },
    hello: { hostId: 'h', labels: {}, roles: ['redis'], agentVersion: '0.0.0', intervalMs: 1000, sessionId: 'sess-1', protocolVersion: 1 },
    logger: log.logger,
    backoff: { baseMs: 50, maxMs: 200 },
  });
  t.after(() => link.stop());
  link.start();
  const small = (ts: number) => ({ timestampMs: ts, redis: [], proxies: [], events: [] });
  const big = (ts: number) => ({
    ...small(ts),
    events: [{ timestampMs: ts, kind: 'x', instance: '', message: 'x'.repeat(5000), attrs: {} }],
  });
  assert.equal(link.submit(small(1)), 1);
  assert.equal(link.submit(big(2)), undefined);
  assert.equal(link.submit(big(3)), undefined);
  assert.equal(link.submit(small(4)), 2);
  await waitFor(() => c.reports.length === 2 && link.stats().bufferedReports === 0, { what: 'the two small reports acked' });
  assert.deepEqual(
    c.reports.map((r) => [r.seq, r.timestampMs]),
    [
      [1, 1],
      [2, 4],
    ],
  );
  assert.equal(link.stats().oversizeDropped, 2);
  assert.equal(link.stats().droppedReports, 2);
  assert.equal(log.count('report larger than maxMessageBytes dropped'), 1);
  assert.ok(await link.flush(100));
});
