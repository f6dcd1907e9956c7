// twemproxy parser, sample builder, rates and config on every capture in
// test/fixtures/twemproxy, plus the stats-port reader's limits on loopback sockets.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  ProxyParseError,
  isTwemproxyGauge,
  parseNutcrackerConfig,
  parseTwemproxyStats,
  poolTotals,
  pollTwemproxy,
  readTwemproxyStats,
  twemproxyRates,
  twemproxySample,
  type TwemproxyStats,
} from '../proxy/index.js';
import { valueOf, type ProxyItem, type ProxySample } from '../proto/index.js';
import { fixturePath } from './fixtures.js';

const DIR = fixturePath('twemproxy');
const read = (f: string): string => fs.readFileSync(path.join(DIR, f), 'utf8');
const field = (s: ProxySample | ProxyItem, k: string) => valueOf(s.fields[k]);
const item = (s: ProxySample, kind: string, tags: Record<string, string>): ProxyItem => {
  const it = s.items.find((i) => i.kind === kind && Object.entries(tags).every(([k, v]) => i.tags[k] === v));
  assert.ok(it, `${kind} ${JSON.stringify(tags)} present`);
  return it;
};

/** `nutcracker -D`: field → description, by section. */
function describedFields(): { pool: Record<string, string>; server: Record<string, string> } {
  const out = { pool: {} as Record<string, string>, server: {} as Record<string, string> };
  let section: 'pool' | 'server' | undefined;
  for (const line of read('describe-stats.txt').split('\n')) {
    if (/^pool stats:/.test(line)) section = 'pool';
    else if (/^server stats:/.test(line)) section = 'server';
    const m = /^\s+(\w+)\s+"(.*)"$/.exec(line);
    if (m && section) out[section][m[1]!] = m[2]!;
  }
  return out;
}

const CHECKS: Record<string, () => void> = {
  'stats.json': () => {
    const st = parseTwemproxyStats(fs.readFileSync(path.join(DIR, 'stats.json')));
    assert.deepEqual(
      [st.service, st.source, st.version, st.uptime, st.timestamp, st.totalConnections, st.currConnections],
      ['nutcracker', 'vm', '0.5.0', 13, 1795345335, 23, 2],
    );
    assert.deepEqual(st.extra, {});
    assert.deepEqual(
      st.pools.map((p) => [p.name, p.servers.map((s) => s.name)]),
      [['redis_main', ['redis17379']]],
    );
    const s = twemproxySample(st, { address: '127.0.0.1:22222' });
    assert.deepEqual([s.kind, s.name, s.up], ['twemproxy', 'vm', true]);
    assert.equal(field(s, 'servers_ejected'), 0);
    const srv = item(s, 'server', { pool: 'redis_main', server: 'redis17379' });
    assert.equal(field(srv, 'requests'), 4106);
    assert.equal(field(srv, 'responses'), 4106);
    assert.deepEqual([field(srv, 'ejected'), field(srv, 'ejected_at_ms')], [0, 0]);
    const pool = item(s, 'pool', { pool: 'redis_main' });
    assert.deepEqual(
      [field(pool, 'client_err'), field(pool, 'client_eof'), field(pool, 'requests'), field(pool, 'servers')],
      [4, 17, 4106, 1],
    );
    assert.equal(field(s, 'rates_valid'), undefined, 'no rates asked for');
  },
  'stats-two-pools-with-errors.json': () => {
    const st = parseTwemproxyStats(read('stats-two-pools-with-errors.json'));
    assert.deepEqual(
      st.pools.map((p) => p.name),
      ['redis_main', 'redis_flaky'],
    );
    const s = twemproxySample(st, { address: '127.0.0.1:22222' });
    assert.deepEqual([field(s, 'pools'), field(s, 'servers'), field(s, 'servers_ejected')], [2, 3, 1]);
    const down = item(s, 'server', { pool: 'redis_flaky', server: 'down17399' });
    assert.equal(field(down, 'ejected'), 1);
    assert.equal(field(down, 'ejected_at_ms'), 1795345344496, 'server_ejected_at µs → ms');
    assert.equal(field(down, 'server_err'), 2);
    assert.equal(field(down, 'server_ejected_at'), undefined, 'reported as ejected_at_ms only');
    assert.equal(field(item(s, 'server', { pool: 'redis_flaky', server: 'up17379' }), 'ejected'), 0);
    const flaky = item(s, 'pool', { pool: 'redis_flaky' });
    assert.deepEqual([field(flaky, 'server_ejects'), field(flaky, 'forward_error'), field(flaky, 'servers_ejected')], [1, 2, 1]);
    assert.equal(field(flaky, 'requests'), 20 + 2, 'pool requests sum its servers');
    assert.equal(field(flaky, 'responses'), 20, 'the two requests hashed to the dead server got no response');
    assert.equal(field(item(s, 'pool', { pool: 'redis_main' }), 'servers_ejected'), 0);
  },
  'describe-stats.txt': () => {
    const d = describedFields();
    assert.equal(Object.keys(d.pool).length, 6);
    assert.equal(Object.keys(d.server).length, 13);
    // Our counter/gauge split agrees with nutcracker's own descriptions.
    for (const [k, desc] of [...Object.entries(d.pool), ...Object.entries(d.server)]) {
      assert.equal(isTwemproxyGauge(k), /^# active|^current|queue"?$|^# requests in|timestamp/.test(desc), `${k}: ${desc}`);
    }
    // Every described field is found by value type in the captures, nothing more, nothing less.
    for (const f of ['stats.json', 'stats-two-pools-with-errors.json']) {
      for (const p of parseTwemproxyStats(read(f)).pools) {
        assert.deepEqual(Object.keys(p.counters).sort(), Object.keys(d.pool).sort(), `${f} ${p.name}`);
        for (const s of p.servers)
          assert.deepEqual(Object.keys(s.counters).sort(), Object.keys(d.server).sort(), `${f} ${p.name}.${s.name}`);
      }
    }
  },
  'nutcracker.yml': () => {
    const [pool, ...rest] = parseNutcrackerConfig(read('nutcracker.yml'));
    assert.deepEqual(rest, []);
    assert.deepEqual(pool, {
      name: 'redis_main',
      listen: '127.0.0.1:22121',
      autoEjectHosts: true,
      serverRetryTimeoutMs: 2000,
      serverFailureLimit: 1,
      servers: [{ key: 'redis17379', address: '127.0.0.1:17379', weight: 1 }],
    });
    // The config's server keys are the stats document's server names.
    const st = parseTwemproxyStats(read('stats.json'));
    const s = twemproxySample(st, { address: 'x', pools: [pool!] });
    assert.equal(field(item(s, 'server', { server: 'redis17379' }), 'address'), '127.0.0.1:17379');
  },
  'nutcracker-two-pools.yml': () => {
    const pools = parseNutcrackerConfig(read('nutcracker-two-pools.yml'));
    assert.deepEqual(
      pools.map((p) => [p.name, p.serverRetryTimeoutMs, p.serverFailureLimit, p.servers.map((s) => `${s.key}=${s.address}`)]),
      [
        ['redis_main', 2000, 1, ['redis17379=127.0.0.1:17379']],
        ['redis_flaky', 30000, 2, ['up17379=127.0.0.1:17379', 'down17399=127.0.0.1:17399']],
      ],
    );
    const st = parseTwemproxyStats(read('stats-two-pools-with-errors.json'));
    // Ejected 2.5 s before the document, retry timeout 30 s: still out of the ring.
    const now = twemproxySample(st, { address: 'x', pools });
    const down = item(now, 'server', { server: 'down17399' });
    assert.deepEqual([field(down, 'ejected'), field(down, 'address')], [1, '127.0.0.1:17399']);
    // Had the pool a 2 s retry timeout, the server would be back in the ring at that time
    // although nutcracker 0.5.0 still shows the old stamp.
    const shortRetry = pools.map((p) => ({ ...p, serverRetryTimeoutMs: 2000 }));
    const later = twemproxySample(st, { address: 'x', pools: shortRetry });
    const d2 = item(later, 'server', { server: 'down17399' });
    assert.deepEqual([field(d2, 'ejected'), field(d2, 'ejected_at_ms')], [0, 1795345344496]);
    assert.equal(field(later, 'servers_ejected'), 0);
  },
};

test('every twemproxy capture has a parser check, and every check passes', async (t) => {
  const files = fs
    .readdirSync(DIR)
    .filter((f) => f !== 'README.md')
    .sort();
  assert.deepEqual(
    files.filter((f) => !(f in CHECKS)),
    [],
    'captures without a check',
  );
  assert.deepEqual(
    Object.keys(CHECKS)
      .filter((f) => !files.includes(f))
      .sort(),
    [],
    'checks for missing captures',
  );
  for (const f of files) await t.test(f, () => CHECKS[f]!());
});

/** A copy of `st` `seconds` later with every counter of every server grown by `by`. */
function grown(st: TwemproxyStats, seconds: number, by: Record<string, number>): TwemproxyStats {
  const copy = structuredClone(st);
  copy.uptime += seconds;
  copy.timestamp += seconds;
  for (const p of copy.pools) for (const s of p.servers) for (const [k, v] of Object.entries(by)) s.counters[k] = (s.counters[k] ?? 0) + v;
  return copy;
}

test('rates: per-second for every counter, pool sums, error sum; gauges get none', () => {
  const a = parseTwemproxyStats(read('stats-two-pools-with-errors.json'));
  const b = grown(a, 10, { requests: 50, request_bytes: 5000, server_err: 3, server_connections: 7 });
  b.pools[1]!.counters.client_err! += 20;
  b.pools[1]!.counters.server_ejects! += 2;
  b.totalConnections += 40;
  const r = twemproxyRates(a, 1_000, b, 11_000);
  assert.deepEqual([r.valid, r.reset, r.seconds], [true, false, 10]);
  assert.equal(r.connectionsPerSec, 4);
  assert.equal(r.pools.redis_flaky!.requests, (2 * 50) / 10, 'pool requests: both servers');
  assert.equal(r.pools.redis_flaky!.server_ejects, 0.2);
  assert.equal(r.pools.redis_flaky!.errors, (20 + 2 * 3) / 10, 'client_err + server_err (forward_error, timeouts unchanged)');
  assert.equal(r.servers.redis_flaky!.down17399!.rates.requests, 5);
  assert.equal(r.servers.redis_flaky!.down17399!.rates.errors, 0.3);
  assert.equal(r.pools.redis_flaky!.server_connections, undefined, 'gauge');
  assert.equal(r.servers.redis_main!.redis17379!.rates.server_connections, undefined, 'gauge');

  const s = twemproxySample(b, { address: 'x', rates: r });
  assert.deepEqual([field(s, 'rates_valid'), field(s, 'counters_reset')], [1, 0]);
  assert.equal(field(s, 'requests_per_sec'), (3 * 50) / 10, 'proxy-wide: every server of every pool');
  assert.equal(field(s, 'errors_per_sec'), (20 + 3 * 3) / 10);
  assert.equal(field(item(s, 'pool', { pool: 'redis_flaky' }), 'request_bytes_per_sec'), (2 * 5000) / 10);
  assert.equal(field(item(s, 'server', { server: 'down17399' }), 'newly_ejected'), 0, 'same stamp as before');
});

test('rates: a new ejection stamp marks the server newly ejected', () => {
  const a = parseTwemproxyStats(read('stats-two-pools-with-errors.json'));
  const b = grown(a, 30, {});
  const down = b.pools[1]!.servers.find((s) => s.name === 'down17399')!;
  down.ejectedAtMs += 29_000;
  down.counters.server_ejected_at! += 29_000_000;
  const r = twemproxyRates(a, 0, b, 30_000);
  assert.equal(r.servers.redis_flaky!.down17399!.newlyEjected, true);
  assert.equal(r.servers.redis_flaky!.up17379!.newlyEjected, false);
});

test('rates: a restart (uptime down) resets; the first sample and a zero interval are invalid', () => {
  const later = parseTwemproxyStats(read('stats.json')); // uptime 13
  const restarted = parseTwemproxyStats(read('stats-two-pools-with-errors.json')); // uptime 7, later timestamp
  const r = twemproxyRates(later, 0, restarted, 12_000);
  assert.deepEqual([r.valid, r.reset], [false, true]);
  assert.match(r.reason, /restarted/);
  const s = twemproxySample(restarted, { address: 'x', rates: r });
  assert.deepEqual([field(s, 'rates_valid'), field(s, 'counters_reset'), field(s, 'requests_per_sec')], [0, 1, undefined]);
  assert.deepEqual([twemproxyRates(undefined, 0, later, 1).valid, twemproxyRates(later, 5, later, 5).valid], [false, false]);
});

test("pool totals keep the pool's own fields and sum server counters", () => {
  const [, flaky] = parseTwemproxyStats(read('stats-two-pools-with-errors.json')).pools;
  const t = poolTotals(flaky!);
  assert.deepEqual([t.requests, t.response_bytes, t.server_err, t.client_err, t.server_ejected_at], [22, 141, 2, 1, undefined]);
});

test('malformed stats documents are rejected with a specific error', () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(
      () => parseTwemproxyStats(text),
      (e: unknown) => e instanceof ProxyParseError && re.test(e.message),
    );
  bad('', /^twemproxy stats: empty response/);
  bad('{"service":"nutcracker", "source":"vm"', /^twemproxy stats: malformed JSON \(.+\); 38 bytes starting/);
  bad('[1,2]', /^twemproxy stats: expected a JSON object$/);
  bad('{"hello": "world"}', /^twemproxy stats: service: missing/);
  const doc = JSON.parse(read('stats.json')) as Record<string, Record<string, unknown>>;
  doc.redis_main!.redis17379 = { requests: [1] };
  bad(JSON.stringify(doc), /^twemproxy stats: redis_main\.redis17379\.requests: unexpected array$/);
  // A fork's extra fields are discovered by type, not by name.
  const fork = JSON.parse(read('stats.json')) as Record<string, Record<string, Record<string, number>>>;
  (fork as Record<string, unknown>).datacenter = 'dc1';
  fork.redis_main!.redis17379!.latency_max = 42;
  const st = parseTwemproxyStats(JSON.stringify(fork));
  assert.deepEqual(st.extra, { datacenter: 'dc1' });
  assert.equal(st.pools[0]!.servers[0]!.counters.latency_max, 42);
});

test('nutcracker config errors name the pool and key', () => {
  assert.throws(
    () => parseNutcrackerConfig('p:\n  servers:\n   - 127.0.0.1\n'),
    /^ProxyParseError: nutcracker config: p\.servers\[0\]: expected "host:port:weight \[name\]", got "127\.0\.0\.1"$/,
  );
  assert.throws(
    () => parseNutcrackerConfig('p:\n  server_retry_timeout: soon\n'),
    /nutcracker config: p\.server_retry_timeout: expected a number/,
  );
  assert.throws(() => parseNutcrackerConfig('p: [\n'), /nutcracker config: malformed YAML/);
  const [p] = parseNutcrackerConfig('p:\n  servers:\n   - 10.0.0.1:11211:1\n');
  assert.deepEqual(
    [p!.autoEjectHosts, p!.serverRetryTimeoutMs, p!.serverFailureLimit, p!.servers[0]!.key],
    [false, 30000, 2, '10.0.0.1'],
    'nutcracker defaults; port 11211 keys by host',
  );
});

/** A loopback TCP server that runs `onConnection` for each client. */
async function tcpServer(t: TestContext, onConnection: (s: net.Socket) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('stats-port reader: reads to EOF in pieces, enforces the deadline and the size cap', async (t) => {
  const doc = read('stats-two-pools-with-errors.json');
  const chunked = await tcpServer(t, (s) => {
    // Several writes: the reader must not stop at the first chunk.
    const third = Math.ceil(doc.length / 3);
    s.write(doc.slice(0, third));
    setImmediate(() => {
      s.write(doc.slice(third, 2 * third));
      setImmediate(() => s.end(doc.slice(2 * third)));
    });
  });
  assert.equal((await readTwemproxyStats(chunked, { timeoutMs: 5000 })).toString(), doc);

  const silent = await tcpServer(t, () => {
    /* never answers, never closes */
  });
  await assert.rejects(readTwemproxyStats(silent, { timeoutMs: 300 }), {
    name: 'TwemproxyReadError',
    message: `stats ${silent}: timed out after 300 ms (read 0 bytes)`,
  });

  const huge = await tcpServer(t, (s) => {
    s.write(Buffer.alloc(5 * 1024 * 1024, 0x20));
    s.end();
  });
  await assert.rejects(readTwemproxyStats(huge, { timeoutMs: 10_000 }), { message: `stats ${huge}: document larger than 4194304 bytes` });
  await assert.rejects(readTwemproxyStats(chunked, { timeoutMs: 5000, maxBytes: 100 }), {
    message: `stats ${chunked}: document larger than 100 bytes`,
  });

  const garbage = await tcpServer(t, (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  const sample = await pollTwemproxy({ address: garbage, timeoutMs: 5000 });
  assert.equal(sample.up, false);
  assert.match(sample.error, /^twemproxy stats: malformed JSON/);

  await assert.rejects(readTwemproxyStats('nohost', { timeoutMs: 100 }), { message: 'bad stats address "nohost" (want host:port)' });
});
