// TLS on the agent → collector gRPC link and on the HTTP API, with real processes, a real
// Redis and certificates made by openssl: a good certificate; each failure (unknown CA,
// expired, name mismatch, plaintext on either side) named on both sides, logged once, the
// agent buffering; mutual TLS binding a certificate to its host id; rotation without a
// restart; and the refusal to listen beyond loopback without TLS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AgentStatus } from '../agent/index.js';
import { resolveCollectorConfig } from '../collector/index.js';
import {
  harness,
  makePki,
  REPO_ROOT,
  waitFor,
  waitWhileRunning,
  type AgentProcess,
  type CertPair,
  type CollectorProcess,
  type Harness,
  type LogLine,
  type LogMatcher,
  type RedisServer,
  type TestPki,
} from './harness/index.js';

let pki: TestPki;
let pkiDir: string;

before(() => {
  pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-pki-'));
  pki = makePki(pkiDir);
});
after(() => fs.rmSync(pkiDir, { recursive: true, force: true }));

const AGENT_TLS_FAILED = 'TLS to the collector failed; buffering reports and retrying';
const EARLY_CLOSE = 'agent closed the connection after the TLS handshake without a call';

function grpcTls(server: CertPair, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { tls: { certFile: server.cert, keyFile: server.key, ...extra } };
}

async function setup(t: Parameters<typeof harness>[0]): Promise<{ h: Harness; redis: RedisServer }> {
  const h = await harness(t);
  return { h, redis: await h.redis() };
}

function agentConfig(redis: RedisServer, hostId: string, tls?: Record<string, unknown>): Record<string, unknown> {
  return { hostId, interval: '200ms', redis: [{ address: redis.address }], collector: tls ? { tls } : {} };
}

function readStatus(agent: AgentProcess): AgentStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(agent.dir, 'agent-status.json'), 'utf8')) as AgentStatus;
  } catch {
    return undefined;
  }
}

async function hostUp(c: CollectorProcess, hostId: string): Promise<void> {
  await waitWhileRunning(
    c,
    async () => {
      const res = await c.request(`/api/v1/hosts/${hostId}`);
      return res.status === 200 && (res.body as { status?: string }).status === 'up';
    },
    { what: `host ${hostId} up`, timeoutMs: 30_000 },
  );
}

const count = (p: { logs(): LogLine[] }, msg: string) => p.logs().filter((l) => l.msg === msg).length;

/** The agent logs `tlsError` once, shows it as lastError, keeps buffering; the collector logs its side once. */
function matches(l: LogLine, m: LogMatcher): boolean {
  if (typeof m === 'function') return m(l);
  if (typeof m === 'string') return l.msg === m;
  return Object.entries(m).every(([k, v]) => l[k] === v);
}

async function expectFailure(
  c: CollectorProcess,
  a: AgentProcess,
  agentKind: string,
  agentText: RegExp,
  collectorLog: LogMatcher,
): Promise<void> {
  const line = await a.waitForLog({ msg: AGENT_TLS_FAILED, tlsError: agentKind }, 30_000);
  assert.match(String(line.reason), agentText);
  const side = await c.waitForLog(collectorLog, 30_000);
  assert.equal(side.level, 50, `collector logs an error: ${JSON.stringify(side)}`);
  // Several more attempts fail (reconnects keep going) while reports pile up in the buffer; each side said it once.
  const st = await waitFor(
    () => {
      const s = readStatus(a);
      return s && s.collector.bufferedReports >= 10 && s.collector.lastError ? s : undefined;
    },
    { what: 'agent buffering with a lastError', timeoutMs: 30_000 },
  );
  assert.equal(st.collector.connected, false);
  assert.match(st.collector.lastError, agentText);
  assert.equal(count(a, AGENT_TLS_FAILED), 1, 'the agent says it once');
  const again = c.logs().filter((l) => matches(l, collectorLog));
  assert.equal(again.length, 1, 'the collector says it once');
  assert.equal((await c.request(`/api/v1/hosts/${a.config.hostId as string}`)).status, 404, 'nothing reached the collector');
}

test('good certificate: the agent verifies the collector against caFile and reports flow', async (t) => {
  const { h, redis } = await setup(t);
  const c = await h.collector({ grpc: grpcTls(pki.server) });
  const a = await h.agent(agentConfig(redis, 'tls-good', { caFile: pki.ca.cert }), { collector: c });
  await hostUp(c, 'tls-good');
  assert.equal((await a.waitForLog('connected to collector')).tls, true);
  assert.equal((await c.waitForLog('listening')).grpcTls, 'on');
  assert.equal(count(a, AGENT_TLS_FAILED), 0);
  assert.equal(c.logs().filter((l) => (l.level as number) >= 50).length, 0, 'no error on the collector');
});

test('wrong CA: "unknown CA" on the agent, "does not trust this certificate" on the collector', async (t) => {
  const { h, redis } = await setup(t);
  const c = await h.collector({ grpc: grpcTls(pki.wrongCaServer) });
  const a = await h.agent(agentConfig(redis, 'tls-wrong-ca', { caFile: pki.ca.cert }), { collector: c });
  await expectFailure(c, a, 'unknown-ca', /^TLS: unknown CA/, { msg: EARLY_CLOSE, tlsError: 'unknown-ca' });
  // `redis-fleet status` on the host says why the collector is not connected.
  const cli = spawnSync(
    process.execPath,
    [path.join(REPO_ROOT, 'dist/cli/main.js'), 'status', '--status-file', path.join(a.dir, 'agent-status.json')],
    { encoding: 'utf8' },
  );
  assert.match(
    cli.stdout,
    /collector NOT CONNECTED .*\ncollector error: TLS: unknown CA: the collector's certificate is not signed by a CA in collector\.tls\.caFile\n/,
  );
});

test('expired collector certificate: "has expired" on both sides', async (t) => {
  const { h, redis } = await setup(t);
  const c = await h.collector({ grpc: grpcTls(pki.expiredServer) });
  await c.waitForLog((l) => /gRPC TLS certificate has expired/.test(String(l.msg)));
  const a = await h.agent(agentConfig(redis, 'tls-expired', { caFile: pki.ca.cert }), { collector: c });
  await expectFailure(c, a, 'expired', /certificate has expired/, { msg: EARLY_CLOSE, tlsError: 'expired' });
});

test('name mismatch: the agent asks for a name the certificate does not cover', async (t) => {
  const { h, redis } = await setup(t);
  const c = await h.collector({ grpc: grpcTls(pki.server) });
  const a = await h.agent(agentConfig(redis, 'tls-name', { caFile: pki.ca.cert, serverName: 'collector.example.net' }), { collector: c });
  await expectFailure(c, a, 'name-mismatch', /name mismatch.*collector\.example\.net/, { msg: EARLY_CLOSE, tlsError: 'name-mismatch' });
  const side = c.logs().find((l) => l.msg === EARLY_CLOSE)!;
  assert.match(String(side.reason), /asked for collector\.example\.net.*DNS:localhost/);
});

test('plaintext agent against a TLS collector: refused with "requires TLS" on both sides', async (t) => {
  const { h, redis } = await setup(t);
  const c = await h.collector({ grpc: grpcTls(pki.server) });
  const a = await h.agent(agentConfig(redis, 'tls-plain-agent'), { collector: c });
  await expectFailure(
    c,
    a,
    'collector-refused',
    /requires TLS/,
    'plaintext client on the TLS gRPC port: the agent needs collector.tls (caFile) to reach this collector',
  );
});

test('TLS agent against a plaintext collector: "does not speak TLS" on the agent, "TLS client" on the collector', async (t) => {
  const { h, redis } = await setup(t);
  const c = await h.collector();
  const a = await h.agent(agentConfig(redis, 'tls-plain-collector', { caFile: pki.ca.cert }), { collector: c });
  await expectFailure(
    c,
    a,
    'not-tls',
    /does not speak TLS/,
    'TLS client on the plaintext gRPC port: set grpc.tls on the collector, or remove collector.tls from the agent',
  );
});

test('mutual TLS: a certificate reports only as its own host id (or its hostIdMap entry)', async (t) => {
  const { h, redis } = await setup(t);
  const c = await h.collector({ grpc: grpcTls(pki.server, { clientCaFile: pki.ca.cert, hostIdMap: { 'spiffe://fleet/h3': 'db-3' } }) });
  const h1 = pki.client('h1');
  const h3 = pki.client('h3');
  const good = await h.agent(agentConfig(redis, 'h1', { caFile: pki.ca.cert, certFile: h1.cert, keyFile: h1.key }), { collector: c });
  const mapped = await h.agent(agentConfig(redis, 'db-3', { caFile: pki.ca.cert, certFile: h3.cert, keyFile: h3.key }), { collector: c });
  await hostUp(c, 'h1');
  await hostUp(c, 'db-3');
  assert.ok(good.running && mapped.running);
  // h1's certificate used to report as h2: refused at hello, nothing stored for h2.
  const liar = await h.agent(agentConfig(redis, 'h2', { caFile: pki.ca.cert, certFile: h1.cert, keyFile: h1.key }), { collector: c });
  const line = await liar.waitForLog({ msg: AGENT_TLS_FAILED, tlsError: 'collector-refused' }, 30_000);
  assert.match(String(line.reason), /client certificate \(h1, spiffe:\/\/fleet\/h1\) may report as host h1, spiffe:\/\/fleet\/h1, not h2/);
  const refused = await c.waitForLog('agent hello refused: client certificate bound to another host id');
  assert.equal(refused.host, 'h2');
  assert.equal((await c.request('/api/v1/hosts/h2')).status, 404);
});

test('mutual TLS: no client certificate, or one from another CA, is refused with the reason', async (t) => {
  const { h, redis } = await setup(t);
  const c = await h.collector({ grpc: grpcTls(pki.server, { clientCaFile: pki.ca.cert }) });
  const noCert = await h.agent(agentConfig(redis, 'm-none', { caFile: pki.ca.cert }), { collector: c });
  await expectFailure(
    c,
    noCert,
    'collector-refused',
    /no client certificate/,
    (l: LogLine) => l.msg === 'agent refused: client certificate' && /no client certificate/.test(String(l.reason)),
  );
  const foreign = pki.otherCa.issue({ cn: 'm-foreign', usage: 'client', name: 'client-foreign' });
  const other = await h.agent(agentConfig(redis, 'm-foreign', { caFile: pki.ca.cert, certFile: foreign.cert, keyFile: foreign.key }), {
    collector: c,
  });
  const line = await other.waitForLog({ msg: AGENT_TLS_FAILED, tlsError: 'collector-refused' }, 30_000);
  assert.match(String(line.reason), /not signed by the CA in grpc\.tls\.clientCaFile \(unknown CA/);
  await c.waitForLog((l) => l.msg === 'agent refused: client certificate' && /unknown CA/.test(String(l.reason)));
});

test('rotation: an expired certificate replaced on disk is used for new connections, no restart', async (t) => {
  const { h, redis } = await setup(t);
  const dir = fs.mkdtempSync(path.join(pkiDir, 'rotate-'));
  const live = { cert: path.join(dir, 'collector.crt'), key: path.join(dir, 'collector.key') };
  fs.copyFileSync(pki.expiredServer.cert, live.cert);
  fs.copyFileSync(pki.expiredServer.key, live.key);
  const c = await h.collector({ grpc: grpcTls(live) });
  const pid = c.pid;
  const a = await h.agent(agentConfig(redis, 'tls-rotate', { caFile: pki.ca.cert }), { collector: c });
  await a.waitForLog({ msg: AGENT_TLS_FAILED, tlsError: 'expired' }, 30_000);
  // Certificate first, key a moment later (as a copy would): the half-written pair is refused and the old one kept.
  fs.copyFileSync(pki.server.cert, live.cert);
  await c.waitForLog('gRPC TLS files changed but do not load; keeping the previous certificate', 30_000);
  fs.copyFileSync(pki.server.key, live.key);
  await c.waitForLog('gRPC TLS certificate re-read; new connections use it', 30_000);
  await hostUp(c, 'tls-rotate');
  await a.waitForLog('TLS to the collector works again');
  assert.equal(c.pid, pid, 'same collector process');
  // Everything buffered while the certificate was expired arrives (seq 1 onwards, nothing dropped).
  const st = await waitFor(
    () => {
      const s = readStatus(a);
      return s?.collector.connected && s.collector.bufferedReports < 5 ? s : undefined;
    },
    { what: 'buffer drained', timeoutMs: 30_000 },
  );
  assert.equal(st.collector.droppedReports, 0);
  assert.equal(st.collector.lastError, '');
});

/** GET over HTTPS trusting `ca`; returns the status and the serial number of the certificate the server showed. */
function httpsGet(url: string, ca: string): Promise<{ status: number; serial: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: fs.readFileSync(ca), agent: false, timeout: 10_000 }, (res) => {
      const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

test('HTTPS API (http.tls): served with the certificate, re-read on rotation without a restart', async (t) => {
  const h = await harness(t);
  const dir = fs.mkdtempSync(path.join(pkiDir, 'https-'));
  const live = { cert: path.join(dir, 'api.crt'), key: path.join(dir, 'api.key') };
  fs.copyFileSync(pki.server.cert, live.cert);
  fs.copyFileSync(pki.server.key, live.key);
  const c = await h.collector({ http: { tls: { certFile: live.cert, keyFile: live.key } } });
  assert.match(c.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  const first = await httpsGet(`${c.httpUrl}/healthz`, pki.ca.cert);
  assert.equal(first.status, 200);
  // Plain HTTP on the HTTPS port gets no API answer.
  const plain = await fetch(c.httpUrl.replace('https:', 'http:') + '/healthz', { signal: AbortSignal.timeout(10_000) }).then(
    (r) => r.status,
    (e: Error) => e.message,
  );
  assert.notEqual(plain, 200);
  // An untrusting client is refused by its own TLS check.
  await assert.rejects(httpsGet(`${c.httpUrl}/healthz`, pki.otherCa.cert), /self[- ]signed|unable to (verify|get)/);

  const next = pki.ca.issue({ cn: 'collector-next', san: ['DNS:localhost', 'IP:127.0.0.1'], name: 'server-next' });
  fs.copyFileSync(next.key, live.key);
  fs.copyFileSync(next.cert, live.cert);
  await c.waitForLog('HTTPS certificate re-read; new connections use it', 30_000);
  const after = await waitFor(
    async () => {
      const r = await httpsGet(`${c.httpUrl}/healthz`, pki.ca.cert);
      return r.serial !== first.serial ? r : undefined;
    },
    { what: 'the new certificate served', timeoutMs: 30_000 },
  );
  assert.equal(after.status, 200);
  assert.equal(after.serial, new (await import('node:crypto')).X509Certificate(fs.readFileSync(next.cert)).serialNumber);
});

test('listening beyond loopback without TLS: exit 78 with one line naming the key, unless insecure: true', async (t) => {
  const h = await harness(t);
  const tokenFile = path.join(pkiDir, 'tokens');
  fs.writeFileSync(tokenFile, 'rf-tls-test-token\n');
  const grpcOpen = await h.runToExit('collector', { grpc: { listen: '0.0.0.0:0', tokenFile } });
  assert.equal(grpcOpen.code, 78);
  assert.match(
    grpcOpen.stderr,
    /^redis-fleet-collector: config error: grpc\.tls: is required to listen on 0\.0\.0\.0:0 \(not loopback\).*grpc\.insecure: true.*\n$/,
  );
  const httpOpen = await h.runToExit('collector', { grpc: { listen: '127.0.0.1:0', tokenFile }, http: { listen: '0.0.0.0:0' } });
  assert.equal(httpOpen.code, 78);
  assert.match(
    httpOpen.stderr,
    /^redis-fleet-collector: config error: http\.tls: is required to listen on 0\.0\.0\.0:0 \(not loopback\).*http\.insecure: true.*\n$/,
  );
  // Explicitly insecure, or with TLS, the same addresses are accepted.
  assert.equal(
    resolveCollectorConfig({ grpc: { listen: '0.0.0.0:7400', tokenFile, insecure: true }, http: { listen: '[::]:7401', insecure: true } })
      .grpc.tls,
    undefined,
  );
  const withTls = resolveCollectorConfig({
    grpc: { listen: '0.0.0.0:7400', tokenFile, tls: { certFile: pki.server.cert, keyFile: pki.server.key, clientCaFile: pki.ca.cert } },
    http: { listen: '0.0.0.0:7401', tls: { certFile: pki.server.cert, keyFile: pki.server.key } },
  });
  assert.equal(withTls.grpc.tls?.mutual, true);
  // A key that does not belong to the certificate is named.
  const mismatched = await h.runToExit('collector', {
    grpc: { listen: '127.0.0.1:0', tokenFile, tls: { certFile: pki.server.cert, keyFile: pki.wrongCaServer.key } },
  });
  assert.equal(mismatched.code, 78);
  assert.match(
    mismatched.stderr,
    /config error: grpc\.tls\.keyFile: .* does not match the certificate in .*server\.crt \(grpc\.tls\.certFile\)\n$/,
  );
});

test('malformed bytes on the gRPC port (TLS and plaintext): the connection is dropped, the collector serves on', async (t) => {
  const { h, redis } = await setup(t);
  const tlsCollector = await h.collector({ grpc: grpcTls(pki.server) });
  const plainCollector = await h.collector();
  const net = await import('node:net');
  const garbage = [
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0xff, 0xff, 0xff, 0xff]), // a truncated, nonsensical ClientHello
    Buffer.from([0x16, 0x03, 0x03, 0xff, 0xff, ...Buffer.alloc(64, 0x41)]),
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    Buffer.alloc(256, 0x00),
  ];
  for (const c of [tlsCollector, plainCollector]) {
    const [host, port] = [c.grpcAddress.replace(/:\d+$/, ''), Number(c.grpcAddress.split(':').pop())];
    for (const bytes of garbage) {
      await new Promise<void>((resolve) => {
        const s = net.connect({ host, port }, () => s.end(bytes));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    }
  }
  await h.agent(agentConfig(redis, 'after-garbage-tls', { caFile: pki.ca.cert }), { collector: tlsCollector });
  await h.agent(agentConfig(redis, 'after-garbage-plain'), { collector: plainCollector });
  await hostUp(tlsCollector, 'after-garbage-tls');
  await hostUp(plainCollector, 'after-garbage-plain');
  assert.ok(tlsCollector.running && plainCollector.running);
});
