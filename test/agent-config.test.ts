// Agent config: defaults, validation naming the key, secrets from files/env, and the
// real binary's behaviour on a bad config (one stderr line, exit 78, nothing started).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/index.js';
import { resolveAgentConfig, loadAgentConfig, AGENT_DEFAULTS } from '../agent/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(root, 'dist', 'agent', 'main.js');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-config-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function tokenFile(dir: string, token = 'tok-123'): string {
  const f = path.join(dir, 'token');
  fs.writeFileSync(f, `${token}\nsecond line ignored\n`);
  return f;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('minimal config gets the documented defaults', (t) => {
  const dir = tempDir(t);
  const c = resolveAgentConfig({ collector: { addresses: ['127.0.0.1:7400'], tokenFile: tokenFile(dir) } });
  assert.equal(c.hostId, os.hostname());
  assert.deepEqual(c.labels, {});
  assert.deepEqual(c.roles, ['redis']);
  assert.equal(c.intervalMs, 10_000);
  assert.equal(c.dataPath, '/');
  assert.equal(c.instanceSlots, 0);
  assert.equal(c.collector.token, 'tok-123');
  assert.deepEqual(c.collector.addresses, [{ host: '127.0.0.1', port: 7400, address: '127.0.0.1:7400' }]);
  assert.equal(c.collector.maxMessageBytes, 4_194_304);
  assert.deepEqual(c.buffer, { maxReports: AGENT_DEFAULTS.bufferMaxReports, maxBytes: AGENT_DEFAULTS.bufferMaxBytes });
  assert.deepEqual(c.redis, []);
  assert.deepEqual(c.proxies, []);
  assert.deepEqual(c.discovery, { enabled: true, intervalMs: 300_000, credentials: [] });
  assert.equal(c.log.level, 'info');
});

test('full config from YAML: secrets from file, env and inline; slots default to the instance count', (t) => {
  const dir = tempDir(t);
  const pass = path.join(dir, '6379.pass');
  fs.writeFileSync(pass, 's3cret-file\n');
  process.env.AGENT_TEST_PASS = 's3cret-env';
  process.env.AGENT_TEST_TOKEN = 'tok-env';
  t.after(() => {
    delete process.env.AGENT_TEST_PASS;
    delete process.env.AGENT_TEST_TOKEN;
  });
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(
    file,
    `
hostId: storage-01
labels: { idc: sz-a, env: prod }
roles: [redis, proxy]
interval: 500ms
dataPath: ${dir}
collector:
  addresses: [127.0.0.1:7400, "[::1]:7401"]
  tokenEnv: AGENT_TEST_TOKEN
  maxMessageBytes: 65536
buffer: { maxReports: 10 }
redis:
  - address: 127.0.0.1:6379
    user: fleet-agent
    passwordFile: ${pass}
    cluster: c1
    group: g1
  - address: 127.0.0.1:6380
    passwordEnv: AGENT_TEST_PASS
  - address: 127.0.0.1:6381
    password: inline
log: { level: debug }
`,
  );
  const c = loadAgentConfig(file);
  assert.equal(c.hostId, 'storage-01');
  assert.deepEqual(c.labels, { idc: 'sz-a', env: 'prod' });
  assert.deepEqual(c.roles, ['redis', 'proxy']);
  assert.equal(c.intervalMs, 500);
  assert.equal(c.dataPath, dir);
  assert.equal(c.instanceSlots, 3);
  assert.equal(c.collector.token, 'tok-env');
  assert.deepEqual(c.collector.addresses[1], { host: '::1', port: 7401, address: '[::1]:7401' });
  assert.equal(c.collector.maxMessageBytes, 65536);
  assert.deepEqual(c.buffer, { maxReports: 10, maxBytes: AGENT_DEFAULTS.bufferMaxBytes });
  assert.deepEqual(c.redis[0], {
    host: '127.0.0.1',
    port: 6379,
    address: '127.0.0.1:6379',
    user: 'fleet-agent',
    password: 's3cret-file',
    cluster: 'c1',
    group: 'g1',
  });
  assert.equal(c.redis[1]!.password, 's3cret-env');
  assert.equal(c.redis[1]!.cluster, '');
  assert.equal(c.redis[2]!.password, 'inline');
  assert.equal(c.log.level, 'debug');
});

test('every bad value names its key', (t) => {
  const dir = tempDir(t);
  const tok = tokenFile(dir);
  const base = (): Record<string, unknown> => ({ collector: { addresses: ['127.0.0.1:7400'], tokenFile: tok } });
  const cases: [string, (c: Record<string, unknown>) => void, string, RegExp][] = [
    [
      'unknown top-level key',
      (c) => {
        c.intervals = '10s';
      },
      'intervals',
      /unknown key/,
    ],
    [
      'unknown nested key',
      (c) => {
        (c.collector as Record<string, unknown>).adresses = [];
      },
      'collector.adresses',
      /unknown key/,
    ],
    [
      'unknown instance key',
      (c) => {
        c.redis = [{ address: '127.0.0.1:1', pasword: 'x' }];
      },
      'redis[0].pasword',
      /unknown key/,
    ],
    [
      'missing collector',
      (c) => {
        delete c.collector;
      },
      'collector',
      /required/,
    ],
    [
      'no token',
      (c) => {
        delete (c.collector as Record<string, unknown>).tokenFile;
      },
      'collector.tokenFile',
      /required/,
    ],
    [
      'unreadable token file',
      (c) => {
        (c.collector as Record<string, unknown>).tokenFile = path.join(dir, 'nope');
      },
      'collector.tokenFile',
      /ENOENT/,
    ],
    [
      'unset token env',
      (c) => {
        c.collector = { addresses: ['127.0.0.1:1'], tokenEnv: 'AGENT_TEST_UNSET_VAR' };
      },
      'collector.tokenEnv',
      /not set/,
    ],
    [
      'bad collector address',
      (c) => {
        (c.collector as Record<string, unknown>).addresses = ['127.0.0.1:7400', 'nohostport'];
      },
      'collector.addresses[1]',
      /host:port/,
    ],
    [
      'empty addresses',
      (c) => {
        (c.collector as Record<string, unknown>).addresses = [];
      },
      'collector.addresses',
      /fewer than 1/,
    ],
    [
      'bad interval',
      (c) => {
        c.interval = 'often';
      },
      'interval',
      /duration/,
    ],
    [
      'bad sentinel address',
      (c) => {
        c.sentinels = [{ address: 'nohostport' }];
      },
      'sentinels[0].address',
      /host:port/,
    ],
    [
      'duplicate sentinel',
      (c) => {
        c.sentinels = [{ address: '127.0.0.1:26379' }, { address: '127.0.0.1:26379' }];
      },
      'sentinels[1].address',
      /duplicate of sentinels\[0\]/,
    ],
    [
      'sentinel password twice',
      (c) => {
        c.sentinels = [{ address: '127.0.0.1:26379', password: 'x', passwordEnv: 'X' }];
      },
      'sentinels[0]',
      /only one of/,
    ],
    [
      'unset sentinel password env',
      (c) => {
        c.sentinels = [{ address: '127.0.0.1:26379', passwordEnv: 'AGENT_TEST_UNSET_VAR' }];
      },
      'sentinels[0].passwordEnv',
      /not set/,
    ],
    [
      'interval too short',
      (c) => {
        c.interval = '50ms';
      },
      'interval',
      /at least 100ms/,
    ],
    [
      'bad role',
      (c) => {
        c.roles = ['redis', 'cache'];
      },
      'roles[1]',
      /one of redis, proxy, dashboard/,
    ],
    [
      'bad label value',
      (c) => {
        c.labels = { idc: 5 };
      },
      'labels.idc',
      /string/,
    ],
    [
      'negative slots',
      (c) => {
        c.instanceSlots = -1;
      },
      'instanceSlots',
      />= 0/,
    ],
    [
      'bad buffer',
      (c) => {
        c.buffer = { maxReports: 0 };
      },
      'buffer.maxReports',
      />= 1/,
    ],
    [
      'missing dataPath',
      (c) => {
        c.dataPath = path.join(dir, 'missing');
      },
      'dataPath',
      /ENOENT/,
    ],
    [
      'bad instance address',
      (c) => {
        c.redis = [{ address: '127.0.0.1:6379' }, { address: '127.0.0.1:99999' }];
      },
      'redis[1].address',
      /host:port/,
    ],
    [
      'duplicate instance',
      (c) => {
        c.redis = [
          { address: '127.0.0.1:6379' },
          { address: '127.0.0.1:6380' },
          { address: 'LOCALHOST:6380' },
          { address: 'localhost:6380' },
        ];
      },
      'redis[3].address',
      /duplicate of redis\[2\]/,
    ],
    [
      'two password forms',
      (c) => {
        c.redis = [{ address: '127.0.0.1:6379', password: 'a', passwordEnv: 'B' }];
      },
      'redis[0]',
      /only one/,
    ],
    [
      'missing password file',
      (c) => {
        c.redis = [{ address: '127.0.0.1:6379', passwordFile: path.join(dir, 'nope') }];
      },
      'redis[0].passwordFile',
      /cannot read/,
    ],
    [
      'bad log level',
      (c) => {
        c.log = { level: 'loud' };
      },
      'log.level',
      /one of/,
    ],
    [
      'unknown proxy kind',
      (c) => {
        c.roles = ['proxy'];
        c.proxies = [{ kind: 'envoy' }];
      },
      'proxies[0].kind',
      /one of codis, twemproxy/,
    ],
    [
      'duplicate proxy',
      (c) => {
        c.roles = ['proxy'];
        c.proxies = [
          { kind: 'twemproxy', statsAddress: '127.0.0.1:22222' },
          { kind: 'twemproxy', statsAddress: '127.0.0.1:22222' },
        ];
      },
      'proxies[1]',
      /same address as proxies\[0\]/,
    ],
    [
      'bad proxy timeout',
      (c) => {
        c.roles = ['proxy'];
        c.proxies = [{ kind: 'codis', adminAddress: '127.0.0.1:11080', timeout: 'soon' }];
      },
      'proxies[0].timeout',
      /duration/,
    ],
    [
      'missing product auth file',
      (c) => {
        c.roles = ['proxy'];
        c.proxies = [{ kind: 'codis', adminAddress: '127.0.0.1:11080', productAuthFile: path.join(dir, 'nope') }];
      },
      'proxies[0].productAuthFile',
      /cannot read/,
    ],
    [
      'dashboard without the role',
      (c) => {
        c.dashboards = [{ adminAddress: '127.0.0.1:18080' }];
      },
      'dashboards',
      /needs the dashboard role/,
    ],
    [
      'bad dashboard address',
      (c) => {
        c.roles = ['dashboard'];
        c.dashboards = [{ adminAddress: '127.0.0.1' }];
      },
      'dashboards[0].adminAddress',
      /host:port/,
    ],
    [
      'duplicate dashboard',
      (c) => {
        c.roles = ['dashboard'];
        c.dashboards = [{ adminAddress: '127.0.0.1:18080' }, { adminAddress: '127.0.0.1:18080' }];
      },
      'dashboards[1].adminAddress',
      /same address as dashboards\[0\]/,
    ],
    [
      'bad dashboard timeout',
      (c) => {
        c.roles = ['dashboard'];
        c.dashboards = [{ adminAddress: '127.0.0.1:18080', timeout: 'soon' }];
      },
      'dashboards[0].timeout',
      /duration/,
    ],
    [
      'unknown dashboard key',
      (c) => {
        c.roles = ['dashboard'];
        c.dashboards = [{ adminAddress: '127.0.0.1:18080', productAuth: 'x' }];
      },
      'dashboards[0].productAuth',
      /unknown key/,
    ],
    [
      'discovery too often',
      (c) => {
        c.discovery = { interval: '1s' };
      },
      'discovery.interval',
      /at least 10s/,
    ],
    [
      'bad discovery ports',
      (c) => {
        c.discovery = { credentials: [{ ports: '6379-', password: 'x' }] };
      },
      'discovery.credentials[0].ports',
      /ranges like/,
    ],
    [
      'unknown discovery key',
      (c) => {
        c.discovery = { credentials: [{ port: '6379' }] };
      },
      'discovery.credentials[0].port',
      /unknown key/,
    ],
  ];
  for (const [name, mutate, key, problem] of cases) {
    const c = base();
    mutate(c);
    const err = configError(() => resolveAgentConfig(c));
    assert.equal(err.key, key, name);
    assert.match(err.problem, problem, name);
  }
});

test('the binary: bad config → one stderr line naming the key, exit 78, no agent started', (t) => {
  const dir = tempDir(t);
  const tok = tokenFile(dir, 'never-printed-token');
  const write = (name: string, text: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const cases: [string, string][] = [
    [
      write(
        'a.yaml',
        `collector: { addresses: [127.0.0.1:7400], tokenFile: ${tok} }\nredis:\n  - address: 127.0.0.1:6379\n  - address: 127.0.0.1:nope\n`,
      ),
      'redis[1].address',
    ],
    [write('b.yaml', `collector: { addresses: [127.0.0.1:7400], tokenFile: ${tok} }\nbogus: 1\n`), 'bogus'],
    [write('c.yaml', 'collector: [unclosed\n'), '(yaml)'],
    [path.join(dir, 'missing.yaml'), '(file)'],
  ];
  for (const [file, key] of cases) {
    const r = spawnSync(process.execPath, [MAIN, '--config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 78, `${key}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(`redis-fleet-agent: config error: ${key}: `), lines[0]);
    assert.equal(r.stdout, '', 'nothing logged: the agent never started');
    assert.ok(!r.stderr.includes('never-printed-token'));
  }
  const noArg = spawnSync(process.execPath, [MAIN], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(noArg.status, 64, 'no --config is a usage error');
  assert.match(noArg.stderr, /^redis-fleet-agent: --config is required\nusage: redis-fleet-agent --config <file.yaml>/);
});

/** Runs the agent binary on a config that must fail: exit 78, and the keys its stderr lines name. */
function configErrorKeys(file: string): { r: SpawnSyncReturns<string>; keys: string[] } {
  const r = spawnSync(process.execPath, [MAIN, '--config', file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 78, r.stderr);
  const keys = r.stderr
    .trim()
    .split('\n')
    .map((l) => /^redis-fleet-agent: config error: (\S+): /.exec(l)?.[1] ?? `unparsed: ${l}`);
  return { r, keys };
}

test('the binary: every schema problem of a file at once, one stderr line each, exit 78', (t) => {
  const dir = tempDir(t);
  const tok = tokenFile(dir, 'never-printed-token');
  const file = path.join(dir, 'three.yaml');
  fs.writeFileSync(
    file,
    [
      `collector: { addresses: [127.0.0.1:7400], tokenFile: ${tok}, bogusCollectorKey: 1 }`,
      'redis:',
      '  - address: 127.0.0.1:6379',
      '    weight: 3',
      'bogusTopKey: true',
      '',
    ].join('\n'),
  );
  const { r, keys } = configErrorKeys(file);
  assert.deepEqual(keys.sort(), ['bogusTopKey', 'collector.bogusCollectorKey', 'redis[0].weight']);
  assert.equal(r.stdout, '', 'nothing logged: the agent never started');
});

test('the binary: mistakes found after the schema (values, files, cross-checks) are all reported at once too', (t) => {
  const dir = tempDir(t);
  const tok = tokenFile(dir, 'never-printed-token');
  const file = path.join(dir, 'values.yaml');
  fs.writeFileSync(
    file,
    [
      'interval: 10 parsecs',
      `dataPath: ${path.join(dir, 'no-such-dir')}`,
      `collector: { addresses: [127.0.0.1:7400], tokenFile: ${tok} }`,
      'redis:',
      '  - address: 127.0.0.1:6379',
      '  - address: 127.0.0.1:6379',
      'discovery: { interval: 1s }',
      '',
    ].join('\n'),
  );
  const { r, keys } = configErrorKeys(file);
  assert.deepEqual(keys.sort(), ['dataPath', 'discovery.interval', 'interval', 'redis[1].address']);
  assert.ok(!r.stderr.includes('never-printed-token'));
});
