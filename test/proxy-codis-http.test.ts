// The codis poller against a real HTTP server on loopback that answers like codis-proxy's
// admin API with the captured documents (gzip when asked, HTTP 800 error bodies).
// No codis-proxy binary exists on this machine; the documents are the real captures.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CodisProxyPoller, pollCodisProxy } from '../proxy/index.js';
import { valueOf, type ProxySample } from '../proto/index.js';
import { waitFor } from './harness/index.js';
import { fixturePath } from './fixtures.js';

const DIR = fixturePath('codis');
const read = (f: string): string => fs.readFileSync(path.join(DIR, f), 'utf8');
const field = (s: ProxySample, k: string) => valueOf(s.fields[k]);

/** Scenario A's proxy xauth (fixtures README): product codis-fixture-a, empty product_auth. */
const XAUTH_A = 'e484b0ed8693813c098cf3b4136a7848';

type Reply = { status: number; body: string } | 'hang';

interface FakeAdmin {
  address: string;
  paths: string[];
  /** Requests whose connection closed before an answer (aborted by the client). */
  aborted: string[];
  routes: Map<string, () => Reply>;
  /** Answers paths without a route (default: 404). */
  fallback: (path: string) => Reply | undefined;
}

/** An HTTP server answering `routes` by exact path; anything else gets codis's (martini's) 404. */
async function codisAdmin(t: TestContext, routes: Record<string, () => Reply>): Promise<FakeAdmin> {
  const admin: FakeAdmin = { address: '', paths: [], aborted: [], routes: new Map(Object.entries(routes)), fallback: () => undefined };
  const server = http.createServer((req, res) => {
    const p = req.url ?? '';
    admin.paths.push(p);
    const route = admin.routes.get(p);
    const reply: Reply = route ? route() : (admin.fallback(p) ?? { status: 404, body: '404 page not found\n' });
    if (reply === 'hang') {
      res.on('close', () => {
        if (!res.writableEnded) admin.aborted.push(p);
      });
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? gzipSync(reply.body) : Buffer.from(reply.body);
    res.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      'content-length': body.length,
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  admin.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return admin;
}

const ok = (file: string) => (): Reply => ({ status: 200, body: read(file) });
const badXAuth = (): Reply => ({ status: 800, body: read('proxy-error-bad-xauth.json') });

/** Scenario A's overview with `stats` / `model` swapped in (so a test can change them between polls). */
function overview(stats: string = read('proxy-stats.json'), model: string = read('proxy-model.json')): string {
  const ov = JSON.parse(read('proxy-overview.json')) as Record<string, unknown>;
  ov.stats = JSON.parse(stats);
  ov.model = JSON.parse(model);
  return JSON.stringify(ov);
}

/** Scenario A's proxy: GET /proxy answers without auth; xping with the right xauth gets "OK", any other HTTP 800. */
function xauthRoutes(proxy: () => Reply = () => ({ status: 200, body: overview() })): Record<string, () => Reply> {
  return {
    '/proxy': proxy,
    [`/api/proxy/xping/${XAUTH_A}`]: () => ({ status: 200, body: '"OK"' }),
  };
}

test('open mode: one GET /proxy gives stats, model, config and the slot table', async (t) => {
  const admin = await codisAdmin(t, { '/proxy': ok('proxy-overview.json') });
  const s = await pollCodisProxy({ adminAddress: admin.address, timeoutMs: 5000 });
  assert.equal(s.error, '');
  assert.equal(s.up, true);
  assert.deepEqual(admin.paths, ['/proxy']);
  assert.deepEqual([s.kind, s.address, s.name], ['codis', admin.address, 'codis-fixture-a']);
  assert.equal(field(s, 'ops_total'), 17920);
  assert.equal(field(s, 'proxy_max_clients'), 8);
  assert.equal(field(s, 'sessions_ratio'), 1);
  assert.equal(field(s, 'slots_unassigned'), 24);
  assert.equal(s.items.filter((i) => i.kind === 'command').length, 18);
  assert.deepEqual(
    s.items.filter((i) => i.kind === 'group').map((g) => [g.tags.group, valueOf(g.fields.master)]),
    [['1', '127.0.0.1:16379']],
  );
});

test('xauth mode: GET /proxy (no auth: config, version, max clients) then xping with the computed xauth', async (t) => {
  const admin = await codisAdmin(t, xauthRoutes());
  const s = await pollCodisProxy({ adminAddress: admin.address, productName: 'codis-fixture-a', productAuth: '', timeoutMs: 5000 });
  assert.equal(s.error, '');
  assert.deepEqual(admin.paths, ['/proxy', `/api/proxy/xping/${XAUTH_A}`]);
  assert.equal(field(s, 'ops_total'), 17845);
  assert.equal(field(s, 'misconfigured'), 0);
  assert.equal(field(s, 'misconfigured_reason'), undefined);
  assert.equal(s.items.filter((i) => i.kind === 'command').length, 18);
  assert.equal(field(s, 'slots_unassigned'), 24);
  assert.equal(field(s, 'proxy_max_clients'), 8, 'from the config, read without auth');
  assert.equal(field(s, 'sessions_ratio'), 1);
  assert.match(String(field(s, 'version')), /@3\.2\.2-/);
  assert.equal(field(s, 'state'), 'online');
  assert.equal(field(s, 'token'), 'eb9f3d61799cbde5d498c361aec518d3');
});

test("a wrong product_auth: the proxy answers, so it is up and misconfigured with codis's cause; xauth not shown", async (t) => {
  const admin = await codisAdmin(t, xauthRoutes());
  // Like codis: any other xauth is refused with HTTP 800 and {"Cause": ..., "Stack": null}.
  admin.fallback = (p) => (p.startsWith('/api/proxy/xping/') ? badXAuth() : undefined);
  const s = await pollCodisProxy({ adminAddress: admin.address, productAuth: 'not-the-password', timeoutMs: 5000 });
  assert.equal(s.up, true);
  assert.equal(s.error, '');
  assert.equal(field(s, 'misconfigured'), 1);
  assert.equal(field(s, 'misconfigured_reason'), 'product auth rejected: invalid xauth, please check product name & auth');
  const sent = admin.paths.find((p) => p.startsWith('/api/proxy/xping/'));
  assert.ok(sent);
  const xauth = sent.split('/')[4]!;
  assert.match(xauth, /^[0-9a-f]{32}$/);
  assert.notEqual(xauth, XAUTH_A);
  assert.ok(!JSON.stringify(s).includes(xauth), 'the xauth never appears in the sample');
  assert.equal(field(s, 'proxy_max_clients'), 8, 'every field is still there');
});

test('a proxy of another product is misconfigured, naming both products (no xping is sent)', async (t) => {
  const admin = await codisAdmin(t, { '/proxy': ok('proxy-overview.json') });
  const s = await pollCodisProxy({ adminAddress: admin.address, productName: 'codis-prod', productAuth: 'x', timeoutMs: 5000 });
  assert.equal(s.up, true);
  assert.equal(field(s, 'misconfigured'), 1);
  assert.equal(field(s, 'misconfigured_reason'), 'proxy serves product "codis-fixture-a", expected "codis-prod"');
  assert.equal(s.name, 'codis-prod');
  assert.deepEqual(admin.paths, ['/proxy']);
});

test('the deadline covers the whole poll: a hanging admin API times out and the request is aborted', async (t) => {
  const admin = await codisAdmin(t, { '/proxy': () => 'hang' });
  const s = await pollCodisProxy({ adminAddress: admin.address, timeoutMs: 300 });
  assert.equal(s.up, false);
  assert.equal(s.error, 'GET /proxy: timed out after 300 ms');
  await waitFor(() => admin.aborted.includes('/proxy'), { what: 'the server to see the request aborted' });
});

test('a hang in the second request of xauth mode is cut by the same deadline (a proxy that stops answering is down)', async (t) => {
  const admin = await codisAdmin(t, { ...xauthRoutes(), [`/api/proxy/xping/${XAUTH_A}`]: () => 'hang' });
  const s = await pollCodisProxy({ adminAddress: admin.address, productAuth: '', timeoutMs: 400 });
  assert.equal(s.up, false);
  assert.equal(s.error, 'GET /api/proxy/xping/<xauth>: timed out after 400 ms');
  await waitFor(() => admin.aborted.includes(`/api/proxy/xping/${XAUTH_A}`), { what: 'the hanging xping to be aborted' });
});

test('transport and document errors: refused, not codis (404), malformed JSON, oversize, bad address', async (t) => {
  const admin = await codisAdmin(t, {
    '/proxy': () => ({ status: 200, body: '{"version": "x", "stats": ' }),
  });
  const malformed = await pollCodisProxy({ adminAddress: admin.address, timeoutMs: 5000 });
  assert.match(malformed.error, /^codis overview: malformed JSON \(.+\); 26 bytes starting "\{\\"version\\": \\"x\\", \\"stats\\": "$/);

  admin.routes.delete('/proxy');
  const notCodis = await pollCodisProxy({ adminAddress: admin.address, productAuth: '', timeoutMs: 5000 });
  assert.equal(notCodis.error, 'codis /proxy: HTTP 404: 404 page not found');

  admin.routes.set('/proxy', ok('proxy-overview.json'));
  const big = await pollCodisProxy({ adminAddress: admin.address, timeoutMs: 5000, maxBodyBytes: 50_000 });
  assert.equal(big.error, 'GET /proxy: response larger than 50000 bytes');

  // A port nobody listens on: take a free one from a server we close again.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const refused = await pollCodisProxy({ adminAddress: `127.0.0.1:${port}`, timeoutMs: 5000 });
  assert.equal(refused.up, false);
  assert.equal(refused.error, `GET /proxy: connect ECONNREFUSED 127.0.0.1:${port}`);

  const bad = await pollCodisProxy({ adminAddress: 'localhost', timeoutMs: 5000 });
  assert.equal(bad.error, 'bad admin address "localhost" (want host:port)');
});

test('CodisProxyPoller: rates between polls, a restart of the proxy resets them', async (t) => {
  let statsFile = 'proxy-stats-idle.json';
  let model = read('proxy-model.json');
  const admin = await codisAdmin(
    t,
    xauthRoutes(() => ({ status: 200, body: overview(read(statsFile), model) })),
  );
  const poller = new CodisProxyPoller({ adminAddress: admin.address, productAuth: '', timeoutMs: 5000 });
  const first = await poller.poll();
  assert.equal(first.error, '');
  assert.deepEqual([field(first, 'rates_valid'), field(first, 'counters_reset')], [0, 0]);

  statsFile = 'proxy-stats.json';
  const second = await poller.poll();
  assert.deepEqual([field(second, 'rates_valid'), field(second, 'counters_reset')], [1, 0]);
  const opsPerSec = field(second, 'ops_per_sec');
  assert.ok(typeof opsPerSec === 'number' && opsPerSec > 0, `ops_per_sec ${opsPerSec}`);
  const get = second.items.find((i) => i.kind === 'command' && i.tags.command === 'GET')!;
  assert.equal(valueOf(get.fields.interval_usec_per_call), 923107 / 8830, 'all GETs happened in this interval');
  // Every command's calls/s over the same interval: their ratio is the ratio of the call counts.
  const incr = second.items.find((i) => i.kind === 'command' && i.tags.command === 'INCR')!;
  // Two divisions by the same interval: equal up to rounding, not bit for bit.
  const ratio = Number(valueOf(get.fields.calls_per_sec)) / Number(valueOf(incr.fields.calls_per_sec));
  assert.ok(Math.abs(ratio - 8830 / 8778) < 1e-12, `GET/INCR calls_per_sec ratio ${ratio}, want ${8830 / 8778}`);

  const m = JSON.parse(model) as Record<string, unknown>;
  m.start_time = '2026-11-22 12:00:00.000000001 +0000 UTC m=+0.008';
  m.pid = 12000;
  model = JSON.stringify(m);
  const third = await poller.poll();
  assert.deepEqual([field(third, 'rates_valid'), field(third, 'counters_reset')], [0, 1]);
  assert.equal(field(third, 'ops_per_sec'), undefined);
});
