// The CLI and the daemons' command lines (strict flags: --help, --version, unknown flag → 64),
// `redis-fleet token` against a file a real collector reads, and the capacity / placements /
// audit / whoami commands against a real collector, with the roles of the tokens they carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { harness, waitFor, REPO_ROOT } from './harness/index.js';
import { startHosts } from './placement-support.js';

const CLI = path.join(REPO_ROOT, 'dist/cli/main.js');
const AGENT = path.join(REPO_ROOT, 'dist/agent/main.js');
const COLLECTOR = path.join(REPO_ROOT, 'dist/collector/main.js');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

type Run = { code: number; stdout: string; stderr: string };
const node = async (script: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> => {
  try {
    const r = await promisify(execFile)(process.execPath, [script, ...args], { env: { ...process.env, ...env }, timeout: 60_000, cwd });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
};
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => node(CLI, args, env);

test('--help everywhere exits 0 and does nothing else; --version; an unknown flag is exit 64 with the usage', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('cli-help');
  const missing = path.join(dir, 'no-such-status.json');
  const before = fs.readdirSync(dir);

  const helps = [
    ['--help'],
    ['status', '--help'],
    ['check-config', '--help'],
    ['collector', '--help'],
    ['collector', 'hosts', '--help'],
    ['token', 'create', 'x', 'admin', '--help'],
  ];
  const env = {
    REDIS_FLEET_STATUS_FILE: missing,
    REDIS_FLEET_URL: 'http://127.0.0.1:1',
    REDIS_FLEET_TOKENS_FILE: path.join(dir, 'tokens'),
  };
  for (const [i, r] of (await Promise.all(helps.map((args) => cli(args, env)))).entries()) {
    const args = helps[i]!;
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^usage:/, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
  }
  assert.deepEqual(fs.readdirSync(dir), before, '--help created no file');
  assert.match((await cli(['collector', '--help'])).stdout, /placements place <request-id>/);

  assert.deepEqual(await cli(['--version']), { code: 0, stdout: `redis-fleet ${VERSION}\n`, stderr: '' });
  const bad = [
    ['--bogus'],
    ['status', '--bogus'],
    ['collector', '--bogus', 'hosts'],
    ['collector', 'hosts', '--count', '3'],
    ['frobnicate'],
    ['collector'],
  ];
  for (const [i, r] of (await Promise.all(bad.map((args) => cli(args, { REDIS_FLEET_URL: 'http://127.0.0.1:1' })))).entries()) {
    const args = bad[i]!;
    assert.equal(r.code, 64, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /usage:|redis-fleet collector \[--url/, args.join(' '));
  }
  assert.match((await cli(['status', '--bogus'])).stderr, /^redis-fleet: unknown option --bogus\nusage: redis-fleet status/);

  for (const [script, program] of [
    [AGENT, 'redis-fleet-agent'],
    [COLLECTOR, 'redis-fleet-collector'],
  ] as const) {
    const help = await node(script, ['--help'], {}, dir);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: ${program} --config <file.yaml>`));
    assert.deepEqual(await node(script, ['--version']), { code: 0, stdout: `${program} ${VERSION}\n`, stderr: '' });
    const wrong = [['--bogus'], [], ['--config']];
    for (const [i, r] of (await Promise.all(wrong.map((args) => node(script, args)))).entries()) {
      const args = wrong[i]!;
      assert.equal(r.code, 64, `${program} ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^${program}: .*\\nusage: ${program} --config <file.yaml>`));
      assert.equal(r.stdout, '', 'nothing started, nothing logged');
    }
  }
  assert.deepEqual(fs.readdirSync(dir), before);
});

test('token create prints the token once and stores its hash; the collector takes it, revoke stops it', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('cli-tokens');
  const file = path.join(dir, 'api-tokens');
  const created = await cli(['token', 'create', 'alice', 'operator', '--file', file]);
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^rfapi_[A-Za-z0-9_-]{40,}$/);
  assert.match(created.stderr, /alice \(operator\) added to .*api-tokens.*shown only now/);
  const stored = fs.readFileSync(file, 'utf8');
  assert.match(stored, /^alice operator sha256:[0-9a-f]{64}\n$/);
  assert.ok(!stored.includes(token));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);

  assert.equal((await cli(['token', 'create', 'alice', 'admin', '--file', file])).code, 65, 'a name is used once');
  assert.equal((await cli(['token', 'create', 'bob', 'root', '--file', file])).code, 64, 'unknown role');
  assert.equal((await cli(['token', 'create', 'bob', 'viewer'])).code, 64, 'no --file');
  const bob = (await cli(['token', 'create', 'bob', 'viewer'], { REDIS_FLEET_TOKENS_FILE: file })).stdout.trim();
  const list = await cli(['token', 'list', '--file', file]);
  assert.equal(list.stdout, 'NAME   ROLE\nalice  operator\nbob    viewer\n');
  assert.ok(!list.stdout.includes('sha256'));

  const collector = await h.collector({ http: { tokenFile: file } });
  const url = ['--url', collector.httpUrl];
  assert.deepEqual(await cli(['collector', ...url, 'whoami'], { REDIS_FLEET_TOKEN: token }), {
    code: 0,
    stdout: 'alice (operator)\n',
    stderr: '',
  });
  const tokenFile = path.join(dir, 'bob.token');
  fs.writeFileSync(tokenFile, `${bob}\n`, { mode: 0o600 });
  assert.equal((await cli(['collector', ...url, '--token-file', tokenFile, 'whoami'])).stdout, 'bob (viewer)\n');
  const none = await cli(['collector', ...url, 'hosts'], { REDIS_FLEET_TOKEN: '' });
  assert.equal(none.code, 77);
  assert.match(none.stderr, /HTTP 401: missing token.*\(give a token: --token-file FILE or \$REDIS_FLEET_TOKEN\)/);

  const revoked = await cli(['token', 'revoke', 'alice', '--file', file]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length, 1);
  await waitFor(async () => (await cli(['collector', ...url, 'whoami'], { REDIS_FLEET_TOKEN: token })).code === 77, {
    what: 'the revoked token refused',
    timeoutMs: 15_000,
  });
  assert.equal((await cli(['token', 'revoke', 'alice', '--file', file])).code, 1);
  const out = collector.stdout() + (await collector.stderr());
  assert.ok(!out.includes(token) && !out.includes(bob), 'no token in the collector output');
});

test('collector capacity, placements place/list/show/confirm/release, audit and whoami, each with the role it needs', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  await startHosts(h, collector, [
    { hostId: 'cap-a', labels: { idc: 'sz-a' } },
    { hostId: 'cap-b', labels: { idc: 'sz-b' } },
  ]);
  const dir = await h.tempDir('cli-roles');
  const as: Record<string, string[]> = {};
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    const f = path.join(dir, role);
    fs.writeFileSync(f, `${collector.apiTokens[role]}\n`, { mode: 0o600 });
    as[role] = ['collector', '--url', collector.httpUrl, '--token-file', f];
  }

  const capacity = await waitFor(
    async () => {
      const r = await cli([...as.viewer!, 'capacity']);
      return r.code === 0 && r.stdout.includes('cap-b') ? r.stdout : undefined;
    },
    { what: 'both hosts in collector capacity', timeoutMs: 60_000 },
  );
  assert.match(capacity.split('\n')[0]!, /^HOST\s+ROLES\s+FRESH\s+CPU/);
  assert.match(capacity, /^cap-a\s+redis\s+fresh\s+16 \(20%\)/m);
  const filtered = await cli([...as.viewer!, '--json', 'capacity', 'idc=sz-b']);
  assert.deepEqual(
    (JSON.parse(filtered.stdout) as { hosts: { id: string }[] }).hosts.map((x) => x.id),
    ['cap-b'],
  );

  const place = ['placements', 'place', 'cli-req-1', '--role', 'redis', '--count', '2', '--memory-mb', '1024', '--spread-by', 'idc'];
  const denied = await cli([...as.viewer!, ...place]);
  assert.equal(denied.code, 77);
  assert.match(denied.stderr, /HTTP 403: token "test-viewer" has role viewer; POST \/api\/v1\/placements needs operator/);
  const placed = await cli([...as.operator!, ...place]);
  assert.equal(placed.code, 0, placed.stderr);
  assert.match(placed.stdout, /^placement cli-req-1: reserved \(held until /);
  assert.match(placed.stdout, /member 1 group 0 → cap-[ab] \(new instance, 1024 MB\)/);
  assert.match((await cli([...as.viewer!, 'placements'])).stdout, /^cli-req-1\s+redis\s+2\s+1024\s+reserved\s+\S+\s+cap-[ab],cap-[ab]$/m);
  assert.match((await cli([...as.viewer!, 'placements', 'show', 'cli-req-1'])).stdout, /^placement cli-req-1: reserved/);
  assert.match((await cli([...as.operator!, 'placements', 'confirm', 'cli-req-1'])).stdout, /^placement cli-req-1: confirmed/);
  assert.match((await cli([...as.operator!, 'placements', 'release', 'cli-req-1'])).stdout, /^placement cli-req-1: released/);
  assert.equal((await cli([...as.operator!, 'placements', 'place', 'x', '--role', 'redis'])).code, 64, 'missing --count');

  assert.equal((await cli([...as.operator!, 'audit'])).code, 77, 'the audit log is for admins');
  const audit = await cli([...as.admin!, 'audit', '--limit', '10']);
  assert.equal(audit.code, 0, audit.stderr);
  const rows = audit.stdout.trim().split('\n');
  assert.match(rows[0]!, /^TIME\s+TOKEN\s+ROLE\s+METHOD\s+ROUTE\s+TARGET\s+STATUS\s+FROM/);
  assert.match(
    rows[1]!,
    /test-operator\s+operator\s+POST\s+\/api\/v1\/placements\/:requestId\/release\s+placement cli-req-1\s+200\s+127\.0\.0\.1/,
  );
  assert.match(rows[3]!, /test-operator\s+operator\s+POST\s+\/api\/v1\/placements\s+placement cli-req-1 \(2 redis, 1024 MB\)\s+200/);
  assert.match(rows[4]!, /test-viewer\s+viewer\s+POST\s+\/api\/v1\/placements\s+.*403/);
  const mine = JSON.parse((await cli([...as.admin!, '--json', 'audit', '--name', 'test-viewer'])).stdout) as {
    entries: { token: string }[];
  };
  assert.deepEqual(
    mine.entries.map((e) => e.token),
    ['test-viewer'],
  );
  assert.equal((await cli([...as.admin!, 'whoami'])).stdout, 'test-admin (admin)\n');
});
