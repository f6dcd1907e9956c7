// The redis-fleet CLI as an operator runs it (node dist/cli/main.js), against a real agent,
// a real collector and real redis-servers: status from the agent's status file, check-config,
// collector views; exit codes 0 / 64 / 69 / 78.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { harness, waitFor, REPO_ROOT } from './harness/index.js';

const CLI = path.join(REPO_ROOT, 'dist/cli/main.js');
const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
};

test('status shows this host from the agent status file; collector views list the same instances', async (t) => {
  const h = await harness(t);
  const up = await h.redis({ args: ['--maxmemory', '64mb'] });
  const down = await h.redis();
  const collector = await h.collector();
  const agent = await h.agent(
    { hostId: 'cli-host', interval: '300ms', redis: [{ address: up.address, cluster: 'c1' }, { address: down.address }] },
    { collector },
  );
  const statusFile = path.join(agent.dir, 'agent-status.json');
  await down.kill();

  const status = await waitFor(
    async () => {
      const r = await run(['status', '--status-file', statusFile, '--json']);
      if (r.code !== 0) return undefined;
      const s = JSON.parse(r.stdout) as {
        hostId: string;
        collector: { connected: boolean; lastSeq: number };
        instances: { address: string; up: boolean; maxmemoryBytes: number; cluster: string; error: string }[];
      };
      return s.collector.connected && s.instances.some((i) => i.address === down.address && !i.up) ? s : undefined;
    },
    { what: 'status --json with the killed instance down', timeoutMs: 20_000 },
  );
  assert.equal(status.hostId, 'cli-host');
  assert.ok(status.collector.lastSeq >= 1);
  const u = status.instances.find((i) => i.address === up.address)!;
  assert.deepEqual([u.up, u.maxmemoryBytes, u.cluster], [true, 64 * 1024 * 1024, 'c1']);
  assert.match(status.instances.find((i) => i.address === down.address)!.error, /connection (closed|refused|reset)/);

  const human = await run(['status', '--status-file', statusFile]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /host cli-host/);
  assert.match(human.stdout, /collector connected/);
  assert.match(human.stdout, new RegExp(`${up.address.replace(/\./g, '\\.')}\\s+up\\s+master\\s+.*64\\.0 MiB\\s+c1`));
  assert.match(human.stdout, new RegExp(`${down.address.replace(/\./g, '\\.')}\\s+DOWN.*connection (closed|refused|reset)`));

  const missing = await run(['status', '--status-file', path.join(agent.dir, 'nope.json')]);
  assert.equal(missing.code, 69);
  assert.match(missing.stderr, /cannot read the agent status file .*is the agent running/);

  const instances = await waitFor(
    async () => {
      const r = await run(['collector', '--url', collector.httpUrl, 'instances'], { REDIS_FLEET_TOKEN: collector.apiTokens.viewer });
      return r.code === 0 && r.stdout.includes(up.address) && r.stdout.includes(down.address) ? r.stdout : undefined;
    },
    { what: 'collector instances listing both', timeoutMs: 60_000 },
  );
  assert.match(instances.split('\n')[0]!, /^HOST\s+INSTANCE\s+STATUS/);
  const hosts = await run(['collector', '--url', collector.httpUrl, '--json', 'hosts'], { REDIS_FLEET_TOKEN: collector.apiTokens.viewer });
  assert.equal(hosts.code, 0, hosts.stderr);
  assert.deepEqual(
    (JSON.parse(hosts.stdout) as { hosts: { id: string }[] }).hosts.map((x) => x.id),
    ['cli-host'],
  );

  await collector.stop();
  const gone = await run(['collector', '--url', collector.httpUrl, 'hosts']);
  assert.equal(gone.code, 69);
  assert.match(gone.stderr, /cannot reach the collector/);
  const bad = await run(['collector', 'frobnicate']);
  assert.equal(bad.code, 64);
});

test('check-config: ok with a summary, or exit 78 naming the key; secrets never printed', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('cli-config');
  const token = path.join(dir, 'token');
  fs.writeFileSync(token, 'very-secret-token-value\n', { mode: 0o600 });
  const good = path.join(dir, 'agent.yaml');
  fs.writeFileSync(
    good,
    stringify({
      hostId: 'h1',
      collector: { addresses: ['127.0.0.1:7400'], tokenFile: token },
      redis: [{ address: '127.0.0.1:6379', password: 'inline-secret-pw' }],
    }),
  );
  const ok = await run(['check-config', 'agent', good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok \(agent h1: 1 redis, 0 proxies/);
  assert.ok(!ok.stdout.includes('very-secret-token-value') && !ok.stdout.includes('inline-secret-pw'));

  const badFile = path.join(dir, 'bad.yaml');
  fs.writeFileSync(badFile, stringify({ collector: { addresses: ['127.0.0.1:7400'], tokenFile: token }, interval: 'often' }));
  const bad = await run(['check-config', 'agent', badFile]);
  assert.equal(bad.code, 78);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.ok(bad.stderr.startsWith(`${badFile}: config error: interval: `), bad.stderr);
  const badJson = await run(['check-config', 'agent', badFile, '--json']);
  assert.equal(badJson.code, 78);
  assert.equal((JSON.parse(badJson.stderr) as { key: string }).key, 'interval');

  const collectorCfg = path.join(dir, 'collector.yaml');
  fs.writeFileSync(collectorCfg, stringify({ grpc: { tokenFile: token }, store: { path: path.join(dir, 'c.db') } }));
  const c = await run(['check-config', 'collector', collectorCfg]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /ok \(collector: gRPC 127\.0\.0\.1:7400, HTTP 127\.0\.0\.1:7401, metrics in the embedded store\)/);
  const unknownKind = await run(['check-config', 'proxy', collectorCfg]);
  assert.equal(unknownKind.code, 64);
});
