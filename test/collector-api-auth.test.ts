// The HTTP API's tokens and roles on a real collector: 401 without a valid token (loopback
// included), 403 for a role too weak, operators silence, admins read the audit log (token
// names, never tokens), the token file is re-read when it changes, and no token reaches a log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { harness, waitFor } from './harness/index.js';

type Json = Record<string, any>;

const silenceBody = (comment: string) =>
  JSON.stringify({
    matchers: [{ name: 'alertname', value: 'RedisInstanceDown', isRegex: false }],
    startsAt: new Date().toISOString(),
    endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    createdBy: 'ops',
    comment,
  });
const post = (body?: string): RequestInit => ({ method: 'POST', headers: body ? { 'content-type': 'application/json' } : {}, body });

test('every /api route needs a token; roles decide what it may do; mutating calls are audited', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();

  // Open: health and the console's static files.
  assert.equal((await collector.request('/healthz', { as: 'anonymous' })).status, 200);
  assert.equal((await collector.request('/console', { as: 'anonymous' })).status, 200);
  assert.equal((await collector.request('/console/console.js', { as: 'anonymous' })).status, 200);

  // No token: 401 with one line saying what to send, on reads and writes, known routes or not.
  for (const [path, init] of [
    ['/api/v1/hosts', {}],
    ['/api/v1/silences', post(silenceBody('x'))],
    ['/api/v1/nothing-here', {}],
  ] as const) {
    const r = await collector.request(path, { ...init, as: 'anonymous' });
    assert.equal(r.status, 401, `${path}: ${r.text}`);
    assert.equal((r.body as Json).error, 'unauthorized');
    assert.match((r.body as Json).message, /^missing token: send "Authorization: Bearer <token>"$/);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
  }
  const wrong = await collector.request('/api/v1/hosts', { token: 'rfapi_not-a-real-token' });
  assert.equal(wrong.status, 401);
  assert.equal((wrong.body as Json).message, 'unknown or revoked token');
  const malformed = await collector.request('/api/v1/hosts', { as: 'anonymous', headers: { authorization: 'Basic dXNlcjpwdw==' } });
  assert.equal(malformed.status, 401);
  assert.match((malformed.body as Json).message, /malformed Authorization header/);

  // Viewer: reads, but a POST is 403 naming the token, its role and what the route needs.
  assert.equal((await collector.request('/api/v1/hosts', { as: 'viewer' })).status, 200);
  const denied = await collector.request('/api/v1/silences', { ...post(silenceBody('viewer try')), as: 'viewer' });
  assert.equal(denied.status, 403, denied.text);
  assert.deepEqual(denied.body, {
    error: 'forbidden',
    message: 'token "test-viewer" has role viewer; POST /api/v1/silences needs operator',
  });
  assert.equal((await collector.api('/api/v1/silences', { as: 'viewer' })).length, 0, 'the refused silence was not created');

  // whoami
  assert.deepEqual(await collector.api('/api/v1/whoami', { as: 'operator' }), { name: 'test-operator', role: 'operator' });

  // Operator: silences and expires; may not reload rules or read the audit log (admin).
  const created = await collector.request('/api/v1/silences', { ...post(silenceBody('maintenance')), as: 'operator' });
  assert.equal(created.status, 200, created.text);
  const silenceId = (created.body as Json).silenceID as string;
  const expired = await collector.request(`/api/v1/silences/${silenceId}`, { method: 'DELETE', as: 'operator' });
  assert.equal(expired.status, 200, expired.text);
  const reload = await collector.request('/api/v1/rules/reload', { ...post(), as: 'operator' });
  assert.equal(reload.status, 403);
  assert.match((reload.body as Json).message, /needs admin$/);
  assert.equal((await collector.request('/api/v1/audit', { as: 'operator' })).status, 403);
  assert.equal((await collector.request('/api/v1/rules/reload', post())).status, 200, 'admin reloads rules');

  // The audit log, newest first: token names and roles, route, target, status, address.
  const { entries } = await collector.api<{ entries: Json[] }>('/api/v1/audit');
  const rows = entries.map((e) => [e.token, e.role, e.method, e.route, e.status]);
  assert.deepEqual(rows, [
    ['test-admin', 'admin', 'POST', '/api/v1/rules/reload', 200],
    ['test-operator', 'operator', 'POST', '/api/v1/rules/reload', 403],
    ['test-operator', 'operator', 'DELETE', '/api/v1/silences/:id', 200],
    ['test-operator', 'operator', 'POST', '/api/v1/silences', 200],
    ['test-viewer', 'viewer', 'POST', '/api/v1/silences', 403],
  ]);
  assert.equal(entries[2].target, `silence ${silenceId}`);
  assert.match(entries[3].target, /^silence alertname=RedisInstanceDown until /);
  for (const e of entries) {
    assert.equal(e.remote, '127.0.0.1');
    assert.ok(Math.abs(Date.parse(e.at) - Date.now()) < 120_000, `time ${e.at}`);
  }
  const onlyOperator = await collector.api<{ entries: Json[] }>('/api/v1/audit?token=test-operator&limit=1');
  assert.deepEqual(
    onlyOperator.entries.map((e) => e.route),
    ['/api/v1/rules/reload'],
  );

  // No token, no hash in any output of the collector.
  const out = collector.stdout() + (await collector.stderr()) + (await fs.readFile(collector.logFile, 'utf8'));
  for (const token of Object.values(collector.apiTokens)) {
    assert.ok(!out.includes(token!), 'a token appears in the collector output');
    assert.ok(!out.includes(createHash('sha256').update(token!).digest('hex')), 'a token hash appears in the collector output');
  }
  assert.ok(!out.includes('rfapi_not-a-real-token'), 'a refused token appears in the collector output');
});

test('the token file is re-read when it changes: a new token works, a revoked one stops, a bad file is refused', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  const file = collector.apiTokenFile!;
  const original = await fs.readFile(file, 'utf8');
  const fresh = 'rfapi_fresh-token-for-reload';
  const line = `ci-bot operator sha256:${createHash('sha256').update(fresh).digest('hex')}\n`;

  assert.equal((await collector.request('/api/v1/whoami', { token: fresh })).status, 401);
  await fs.writeFile(file, original + line);
  await waitFor(async () => (await collector.request('/api/v1/whoami', { token: fresh })).status === 200, {
    what: 'the new token accepted',
    timeoutMs: 15_000,
  });
  assert.deepEqual(await collector.api('/api/v1/whoami', { token: fresh }), { name: 'ci-bot', role: 'operator' });
  await collector.waitForLog({ msg: 'API token file reloaded', tokens: 4 });

  // A broken file is refused: the loaded set keeps working and the log names the line.
  await fs.writeFile(file, original + line + 'oops admin not-a-hash\n');
  const bad = await collector.waitForLog('API token file invalid; keeping the tokens loaded before', 15_000);
  assert.match(String(bad.problem), /line 5: the token must be stored as sha256:/);
  assert.equal((await collector.request('/api/v1/whoami', { token: fresh })).status, 200);

  // Revoked: the line is gone, the token is refused.
  await fs.writeFile(file, original);
  await waitFor(async () => (await collector.request('/api/v1/whoami', { token: fresh })).status === 401, {
    what: 'the revoked token refused',
    timeoutMs: 15_000,
  });
  assert.equal((await collector.request('/api/v1/whoami', { as: 'viewer' })).status, 200);
  assert.ok(!(collector.stdout() + (await collector.stderr())).includes(fresh));
});

test('an empty token file refuses every /api call; a bad one is exit 78 naming the key and the line', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('api-tokens');
  const grpcTokens = `${dir}/grpc-tokens`;
  const apiTokens = `${dir}/api-tokens`;
  await fs.writeFile(grpcTokens, 'agent-token\n');
  await fs.writeFile(apiTokens, `alice superuser sha256:${'0'.repeat(64)}\n`);
  const r = await h.runToExit('collector', { grpc: { tokenFile: grpcTokens }, http: { tokenFile: apiTokens } });
  assert.equal(r.code, 78, r.stderr);
  assert.match(r.stderr, /config error: http\.tokenFile: .*line 1: role must be viewer, operator or admin \(got "superuser"\)/);
  assert.equal(r.stderr.trim().split('\n').length, 1);

  await fs.writeFile(apiTokens, '# nobody yet\n');
  const collector = await h.collector({ http: { tokenFile: apiTokens } });
  const refused = await collector.request('/api/v1/hosts', { token: 'rfapi_anything' });
  assert.equal(refused.status, 401);
  assert.equal((refused.body as Json).message, 'no API tokens are configured (http.tokenFile): every /api call is refused');
  assert.equal((await collector.request('/healthz')).status, 200);
});
