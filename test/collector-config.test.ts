// Collector configuration: defaults, secrets from files/env, and the one-line exit 78
// of dist/collector/main.js for every kind of bad config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, configErrorLines } from '../common/index.js';
import { loadCollectorConfig, resolveCollectorConfig } from '../collector/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../proto/index.js';
import { harness, waitFor, type Harness } from './harness/index.js';
import { TestAgent, makeHello } from './collector-support.js';

async function tokenFile(h: Harness, content = 'tok-one\n'): Promise<string> {
  const file = path.join(await h.tempDir('collector-cfg'), 'tokens');
  await fs.writeFile(file, content);
  return file;
}

test('defaults are filled in and durations resolved', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('collector-cfg');
  const tokens = await tokenFile(h, '# rotation: old and new\nold-token\n\n  new-token  \n');
  const file = path.join(dir, 'c.yaml');
  await fs.writeFile(file, `grpc:\n  tokenFile: ${tokens}\n`);
  const c = loadCollectorConfig(file);
  assert.deepEqual(c.grpc, {
    listen: { host: '127.0.0.1', port: 7400 },
    tokenFile: tokens,
    tokens: ['old-token', 'new-token'],
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    reportForm2: true,
  });
  assert.deepEqual(c.http, {
    listen: { host: '127.0.0.1', port: 7401 },
    tokenFile: undefined,
    apiTokens: [],
    audit: { retentionMs: 90 * 86_400_000, maxEntries: 100_000 },
  });
  assert.deepEqual(c.store, {
    path: '/var/lib/redis-fleet/collector.db',
    historyRetentionMs: 7 * 86_400_000,
    historyRawRetentionMs: 3 * 3_600_000,
    maxHistoryPoints: 25_000_000,
    historyMaxBytes: 4 * 2 ** 30,
  });
  assert.equal(c.influx, undefined, 'no influx section: the embedded store holds the metrics');
  assert.equal(c.hostDownAfterIntervals, 3);
  assert.deepEqual(c.log, { level: 'info' });
  assert.deepEqual(c.spool, { path: '/var/lib/redis-fleet/collector.db.spool', maxBytes: 1024 ** 3, segmentBytes: 64 * 1024 ** 2 });
  assert.deepEqual(
    resolveCollectorConfig({ grpc: { tokenFile: tokens }, spool: { path: '/data/spool', maxBytes: '2gb', segmentBytes: '16mb' } }).spool,
    { path: '/data/spool', maxBytes: 2 * 1024 ** 3, segmentBytes: 16 * 1024 ** 2 },
  );
  assert.throws(
    () => resolveCollectorConfig({ grpc: { tokenFile: tokens }, spool: { maxBytes: 'lots' } }),
    /^ConfigError: spool\.maxBytes: must be a size/,
  );
  assert.throws(
    () => resolveCollectorConfig({ grpc: { tokenFile: tokens }, spool: { maxBytes: '1mb', segmentBytes: '4mb' } }),
    /^ConfigError: spool\.maxBytes: must be at least spool\.segmentBytes/,
  );

  process.env.RF_TEST_INFLUX_PW = 'pw-from-env';
  const withInflux = resolveCollectorConfig({
    grpc: { tokenFile: tokens, listen: '[::1]:0' },
    influx: { username: 'writer', passwordEnv: 'RF_TEST_INFLUX_PW' },
  });
  assert.deepEqual(withInflux.grpc.listen, { host: '::1', port: 0 });
  assert.deepEqual(withInflux.influx, {
    url: 'http://127.0.0.1:8086',
    flavor: 'influxdb',
    database: 'redisfleet',
    username: 'writer',
    password: 'pw-from-env',
    batchSize: 5000,
    flushIntervalMs: 200,
    maxQueuePoints: 500_000,
    gzip: true,
  });
  const pwFile = path.join(dir, 'influx.pass');
  await fs.writeFile(pwFile, 'pw-from-file\nignored second line\n');
  assert.equal(
    resolveCollectorConfig({ grpc: { tokenFile: tokens }, influx: { username: 'w', passwordFile: pwFile, flushInterval: 250 } }).influx
      ?.password,
    'pw-from-file',
  );
  assert.equal(
    resolveCollectorConfig({ grpc: { tokenFile: tokens }, influx: { url: 'http://vm:8428', flavor: 'victoriametrics' } }).influx?.flavor,
    'victoriametrics',
  );
});

test('bad configs exit 78 with one line naming the key', async (t) => {
  const h = await harness(t);
  const tokens = await tokenFile(h);
  const empty = await tokenFile(h, '\n# nothing here\n');
  const dir = await h.tempDir('collector-cfg');
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  h.onClose(() => busy.close());
  const busyPort = (busy.address() as net.AddressInfo).port;
  const base = (extra: Record<string, unknown> = {}, grpcExtra: Record<string, unknown> = {}) => ({
    grpc: { tokenFile: tokens, listen: '127.0.0.1:0', ...grpcExtra },
    http: { listen: '127.0.0.1:0' },
    store: { path: path.join(dir, 'c.db') },
    ...extra,
  });
  const cases: Array<[string, Record<string, unknown> | string, RegExp]> = [
    ['unknown top-level key', { ...base(), grpcc: {} }, /^grpcc: unknown key$/],
    ['unknown nested key', base({ store: { pth: '/tmp/x.db' } }), /^store\.pth: unknown key$/],
    ['unknown influx key', base({ influx: { batchsize: 10 } }), /^influx\.batchsize: unknown key$/],
    ['missing token file key', { grpc: { listen: '127.0.0.1:0' } }, /^grpc\.tokenFile: is required$/],
    ['token file missing', base({}, { tokenFile: path.join(dir, 'nope') }), /^grpc\.tokenFile: cannot read .*nope: ENOENT$/],
    ['token file empty', base({}, { tokenFile: empty }), /^grpc\.tokenFile: file .* holds no token/],
    [
      'bad duration',
      base({ store: { path: path.join(dir, 'c.db'), historyRetention: 'soon' } }),
      /^store\.historyRetention: must be a duration/,
    ],
    ['bad listen', base({ http: { listen: 'nowhere' } }), /^http\.listen: must be host:port/],
    [
      'history bound too small',
      base({ store: { historyMaxBytes: '1mb' } }),
      /^store\.historyMaxBytes: must be 0 \(no bound\) or at least 16mb$/,
    ],
    ['raw retention too short', base({ store: { historyRawRetention: '30s' } }), /^store\.historyRawRetention: must be at least 1m$/],
    [
      'API token file missing',
      base({ http: { tokenFile: path.join(dir, 'no-api-tokens') } }),
      /^http\.tokenFile: cannot read .*no-api-tokens: ENOENT$/,
    ],
    ['bad audit retention', base({ http: { audit: { retention: 'forever' } } }), /^http\.audit\.retention: must be a duration/],
    ['audit too small', base({ http: { audit: { maxEntries: 5 } } }), /^http\.audit\.maxEntries: must be >= 100$/],
    ['bad number', base({ hostDownAfterIntervals: 0 }), /^hostDownAfterIntervals: must be >= 1$/],
    ['bad log level', base({ log: { level: 'loud' } }), /^log\.level: must be one of/],
    ['bad influx url', base({ influx: { url: 'ftp://db:21' } }), /^influx\.url: must use http or https/],
    ['bad influx flavor', base({ influx: { flavor: 'prometheus' } }), /^influx\.flavor: must be one of/],
    ['password without user', base({ influx: { password: 'x' } }), /^influx\.username: is required when a password is given$/],
    ['store dir missing', base({ store: { path: path.join(dir, 'no/such/dir/c.db') } }), /^store\.path: directory .* does not exist$/],
    ['grpc port in use', base({}, { listen: `127.0.0.1:${busyPort}` }), /^grpc\.listen: cannot listen on 127\.0\.0\.1:\d+: /],
    ['not YAML', 'grpc: [unclosed', /^\(yaml\): not valid YAML/],
  ];
  for (const [name, config, expected] of cases) {
    const r = await h.runToExit('collector', config);
    assert.equal(r.code, 78, `${name}: exit code (stderr: ${r.stderr})`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${name}: exactly one stderr line, got ${JSON.stringify(r.stderr)}`);
    const prefix = 'redis-fleet-collector: config error: ';
    assert.ok(lines[0]!.startsWith(prefix), `${name}: ${lines[0]}`);
    assert.match(lines[0]!.slice(prefix.length), expected, name);
  }
  const noArgs = await h.runToExit('collector', base(), { args: [] });
  assert.equal(noArgs.code, 64, 'no --config is a usage error');
  assert.match(noArgs.stderr, /^redis-fleet-collector: --config is required\nusage: redis-fleet-collector --config <file.yaml>/);
});

test('the token file is re-read when it changes (rotation without restart)', async (t) => {
  const h = await harness(t);
  const c = await h.collector({}, { tokens: ['rotate-old-token'] });
  const tryToken = async (token: string): Promise<boolean> => {
    const a = new TestAgent(c.grpcAddress, token);
    let timer: NodeJS.Timeout | undefined;
    try {
      a.send({ hello: makeHello('rotating') });
      return await Promise.race([
        a.ended().then((s) => s.code !== grpc.status.UNAUTHENTICATED),
        new Promise<boolean>((resolve) => {
          timer = setInterval(() => {
            if (a.received.some((m) => m.body === 'welcome')) resolve(true);
          }, 20);
        }),
      ]);
    } finally {
      clearInterval(timer); // the losing side of the race must not keep the process alive
      a.close();
    }
  };
  assert.equal(await tryToken('rotate-new-token'), false);
  assert.equal(await tryToken('rotate-old-token'), true);
  await fs.writeFile(c.tokenFile!, 'rotate-new-token\n');
  await waitFor(() => tryToken('rotate-new-token'), { what: 'the new token accepted', timeoutMs: 15_000, intervalMs: 500 });
  assert.equal(await tryToken('rotate-old-token'), false, 'the removed token no longer works');
  await c.waitForLog('token file reloaded');
});

test('value problems in several sections are reported together, one line each', async (t) => {
  const h = await harness(t);
  const tokens = await tokenFile(h);
  const err = (() => {
    try {
      resolveCollectorConfig({
        grpc: { tokenFile: tokens, listen: 'nowhere' },
        store: { historyRetention: '10s' },
        spool: { maxBytes: 'lots' },
        influx: { url: 'ftp://influx:8086' },
      });
    } catch (e) {
      return e;
    }
    assert.fail('a config with four mistakes was accepted');
  })();
  assert.ok(err instanceof ConfigError, String(err));
  assert.deepEqual(
    configErrorLines(err)
      .map((l) => l.split(':')[0])
      .sort(),
    ['grpc.listen', 'influx.url', 'spool.maxBytes', 'store.historyRetention'],
  );
});
