// Tests of the real-server harness itself: every server type starts, answers and is really cleaned up.
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { harness, waitFor, freePort, canConnect, readToEnd, tailFile } from './harness/index.js';

/** True while `pid` exists and is not a zombie (an orphan waits for init to reap it). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test('waitFor returns the first truthy value and names what it waited for on timeout', async () => {
  let calls = 0;
  assert.equal(await waitFor(() => (++calls >= 3 ? 'ready' : false), { intervalMs: 1 }), 'ready');
  assert.equal(calls, 3);
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('still booting');
      },
      { timeoutMs: 100, intervalMs: 10, what: 'the flux capacitor' },
    ),
    /timed out after 100 ms waiting for the flux capacitor; last error: still booting/,
  );
  // A predicate that never settles is cut off at the deadline.
  await assert.rejects(
    waitFor(() => new Promise<boolean>(() => {}), { timeoutMs: 100, what: 'a hung check' }),
    /waiting for a hung check/,
  );
});

test('freePort hands out a bindable loopback port', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  assert.equal(await canConnect(port), false);
});

test('redis: options apply, data survives restart on the same port, CONFIG REWRITE works', async (t) => {
  const h = await harness(t);
  const r = await h.redis({
    password: 's3cret',
    args: ['--maxmemory', '100mb'],
    aclUsers: [{ name: 'fleet', password: 'fleetpw', rules: '~* &* -@all +info +ping' }],
  });
  assert.equal(r.address, `127.0.0.1:${r.port}`);
  assert.ok(r.configPath && fs.existsSync(r.configPath));
  const c = r.client();
  await c.set('k', 'v1');
  assert.deepEqual(await c.config('GET', 'maxmemory'), ['maxmemory', String(100 * 1024 * 1024)]);
  assert.deepEqual(await c.config('GET', 'save'), ['save', '']);
  await assert.rejects(r.client({ password: undefined, lazyConnect: true, maxRetriesPerRequest: 0 }).get('k'), /NOAUTH/);
  const fleet = r.client({ username: 'fleet', password: 'fleetpw' });
  assert.match(await fleet.info('server'), /redis_version:7\./);
  await assert.rejects(fleet.get('k'), /NOPERM/);
  assert.equal(await c.config('SET', 'maxmemory-policy', 'allkeys-lru'), 'OK');
  assert.equal(await c.config('REWRITE'), 'OK');
  assert.match(fs.readFileSync(r.configPath, 'utf8'), /maxmemory-policy allkeys-lru/);

  const firstPid = r.pid;
  await r.restart();
  assert.notEqual(r.pid, firstPid);
  assert.equal(alive(firstPid), false);
  assert.equal(await r.call('GET', 'k'), 'v1');
  assert.equal(((await r.call('CONFIG', 'GET', 'maxmemory-policy')) as string[])[1], 'allkeys-lru');
  assert.equal(await c.get('k'), 'v1', 'the tracked client reconnects after a restart');

  await r.stop();
  assert.equal(r.running, false);
  assert.equal(await canConnect(r.port), false);
  assert.match(tailFile(r.logFile, 50), /ready to exit|Redis is now ready to exit/i);
});

test('redis without a config file: same options as command-line arguments; pause and resume', async (t) => {
  const h = await harness(t);
  const r = await h.redis({ configFile: false, args: ['--maxclients', '123'] });
  assert.equal(r.configPath, undefined);
  assert.deepEqual(await r.call('CONFIG', 'GET', 'maxclients'), ['maxclients', '123']);
  r.pause();
  await assert.rejects(r.call('PING'), /timed out/i);
  r.resume();
  assert.equal(await r.call('PING'), 'PONG');
  await r.kill();
  assert.equal(r.running, false);
});

test('redis replica links up and follows its password-protected master', async (t) => {
  const h = await harness(t);
  const master = await h.redis({ password: 'pw' });
  const replica = await h.redisReplica(master);
  const info = await replica.info('replication');
  assert.equal(info.role, 'slave');
  assert.equal(info.master_port, String(master.port));
  assert.equal(info.master_link_status, 'up');
  await master.client().set('replicated', 'yes');
  assert.equal(await waitFor(() => replica.call('GET', 'replicated'), { what: 'the key on the replica' }), 'yes');
});

test('sentinels see each other and fail over when the master is frozen', async (t) => {
  const h = await harness(t);
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const sentinels = await h.sentinels(3, [{ name: 'mymaster', master, quorum: 2, downAfterMs: 1000, failoverTimeoutMs: 10_000 }]);
  for (const s of sentinels) {
    assert.equal(await s.masterAddress('mymaster'), master.address);
    assert.equal((await s.peers('mymaster')).length, 2);
    assert.match(fs.readFileSync(s.configPath, 'utf8'), /sentinel monitor mymaster 127\.0\.0\.1/);
  }
  await waitFor(async () => (await sentinels[0]!.replicas('mymaster')).some((r) => r.name === replica.address), {
    timeoutMs: 15_000,
    what: 'sentinel to discover the replica',
  });

  master.pause();
  for (const s of sentinels) {
    await waitFor(async () => (await s.masterAddress('mymaster')) === replica.address, {
      timeoutMs: 45_000,
      intervalMs: 200,
      what: `sentinel ${s.address} to report the promoted replica`,
    });
  }
  assert.equal((await replica.info('replication')).role, 'master');
  // (Sentinel would also turn the resumed old master into a replica, but only after its 10 s INFO period.)
});

interface ZkClient {
  once(event: 'connected', cb: () => void): void;
  connect(): void;
  close(): void;
  create(path: string, data: Buffer, cb: (err: Error | null, path: string) => void): void;
  getData(path: string, cb: (err: Error | null, data: Buffer) => void): void;
  getChildren(path: string, cb: (err: Error | null, children: string[]) => void): void;
}
const zookeeperClient = createRequire(import.meta.url)('node-zookeeper-client') as {
  createClient(connectString: string, opts?: { sessionTimeout?: number }): ZkClient;
};

test('zookeeper: create and read back a znode, data survives a restart', async (t) => {
  const h = await harness(t);
  const zk = await h.zookeeper();
  assert.equal(await zk.fourLetter('ruok'), 'imok');
  const connect = async () => {
    const client = zookeeperClient.createClient(zk.connectString, { sessionTimeout: 10_000 });
    h.onClose(() => client.close());
    await new Promise<void>((resolve) => {
      client.once('connected', resolve);
      client.connect();
    });
    return client;
  };
  const client = await connect();
  const created = await new Promise<string>((resolve, reject) =>
    client.create('/codis3', Buffer.from('{"a":1}'), (e, p) => (e ? reject(e) : resolve(p))),
  );
  assert.equal(created, '/codis3');
  const data = await new Promise<Buffer>((resolve, reject) => client.getData('/codis3', (e, d) => (e ? reject(e) : resolve(d))));
  assert.equal(data.toString(), '{"a":1}');
  client.close();

  await zk.restart();
  const again = await connect();
  const children = await new Promise<string[]>((resolve, reject) => again.getChildren('/', (e, c) => (e ? reject(e) : resolve(c))));
  assert.ok(children.includes('codis3'), `children of / after restart: ${children.join(',')}`);
});

test('influx: line protocol written over HTTP is queried back', async (t) => {
  const h = await harness(t);
  const influx = await h.influx();
  assert.equal((await fetch(`${influx.url}/ping`)).status, 204);
  await influx.createDatabase('redisfleet');
  await influx.write(
    [
      'redis,host=h1,instance=127.0.0.1:6379 used_memory=1024i,ops=1.5 1700000000000',
      'redis,host=h2,instance=127.0.0.1:6380 used_memory=2048i,ops=2.5 1700000000000',
    ],
    'redisfleet',
  );
  const rows = await influx.rows('SELECT used_memory, ops FROM redis GROUP BY host', 'redisfleet');
  assert.deepEqual(rows.map((r) => [r.host, r.used_memory, r.ops, r.time]).sort(), [
    ['h1', 1024, 1.5, 1700000000000],
    ['h2', 2048, 2.5, 1700000000000],
  ]);
  const raw = await influx.query('SHOW DATABASES');
  assert.ok(JSON.stringify(raw).includes('redisfleet'));
  await assert.rejects(influx.write('not line protocol', 'redisfleet'), /HTTP 400/);
});

test('nutcracker proxies to its backend and its stats port names the pool and server', async (t) => {
  const h = await harness(t);
  const backend = await h.redis();
  const other = await h.redis();
  const nut = await h.nutcracker({
    pools: {
      cache: { servers: [{ server: backend, name: 'b1' }] },
      plain: { servers: [other] },
    },
    statsIntervalMs: 200,
  });
  const proxy = nut.client('cache');
  assert.equal(await proxy.set('through', 'proxy'), 'OK');
  assert.equal(await proxy.get('through'), 'proxy');
  assert.equal(await backend.call('GET', 'through'), 'proxy', 'the key landed on the backend');
  assert.equal(await nut.client('plain').set('p', '1'), 'OK');
  assert.equal(await other.call('GET', 'p'), '1');

  const stats = await waitFor(
    async () => {
      const s = (await nut.stats()) as Record<string, Record<string, Record<string, number>>>;
      return (s.cache?.b1?.requests ?? 0) >= 2 ? s : undefined;
    },
    { what: 'nutcracker stats to count the requests' },
  );
  assert.equal((stats as Record<string, unknown>).service, 'nutcracker');
  assert.equal(typeof stats.plain?.[other.address], 'object');
  assert.ok(JSON.parse(await readToEnd(nut.statsPort)).cache);
});

test('collector and agent run from dist/, talk to each other, and restart on the same addresses', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const collector = await h.collector({ log: { level: 'info' } });
  assert.match(collector.grpcAddress, /^127\.0\.0\.1:\d+$/);
  assert.match(collector.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await collector.api<{ status: string }>('/healthz')).status, 'ok');
  assert.equal(fs.readFileSync(collector.tokenFile!, 'utf8').trim(), collector.tokens[0]);
  const agent = await h.agent({ hostId: 'harness-h1', interval: '200ms', redis: [{ address: redis.address }] }, { collector });
  assert.ok(
    agent.logs().some((l) => l.msg === 'agent started'),
    'the agent logged its start',
  );
  await waitFor(
    async () =>
      (await collector.api<{ instances: Array<{ address: string; status: string }> }>('/api/v1/instances')).instances.some(
        (i) => i.address === redis.address && i.status === 'up',
      ),
    { what: "the agent's redis to show up at the collector" },
  );
  const missing = await collector.request('/api/v1/hosts/nope');
  assert.equal(missing.status, 404);
  await assert.rejects(collector.api('/api/v1/hosts/nope'), /HTTP 404/);

  const { grpcAddress, httpUrl } = collector;
  const oldPid = collector.pid;
  await collector.restart();
  assert.notEqual(collector.pid, oldPid);
  assert.deepEqual([collector.grpcAddress, collector.httpUrl], [grpcAddress, httpUrl]);
  await waitFor(
    async () =>
      (await collector.api<{ hosts: Array<{ id: string; connected: boolean }> }>('/api/v1/hosts')).hosts.some(
        (x) => x.id === 'harness-h1' && x.connected,
      ),
    { timeoutMs: 20_000, what: 'the agent to reconnect after the restart' },
  );
  assert.equal(await agent.stop(), 0);
  assert.equal(await agent.exitCode, 0);
  assert.equal(await collector.stop(), 0);
  await assert.rejects(collector.waitForLog('never logged', 100), /exited|timed out/);
});

test('runToExit returns the exit code and output of a program given a bad config', async (t) => {
  const h = await harness(t);
  const raw = await h.runToExit('collector', 'grpc: {listen: 127.0.0.1:0}\nbogusKey: 1\n');
  assert.equal(raw.code, 78);
  assert.match(raw.stderr, /^redis-fleet-collector: config error: bogusKey: /);
  const obj = await h.runToExit('agent', { hostId: 'x', collector: { addresses: ['127.0.0.1:1'] } });
  assert.equal(obj.code, 78);
  assert.match(obj.stderr, /^redis-fleet-agent: config error: collector/);
});

test('close() kills every process group and removes the temp dirs, even with a frozen server', async (t) => {
  const h = await harness(t);
  const r = await h.redis();
  const z = await h.zookeeper();
  const r2 = await h.redis();
  r2.pause();
  const pids = [r.pid, z.pid, r2.pid];
  const dirs = [r.dir, z.dir, r2.dir];
  assert.deepEqual(h.runningPids().sort(), [...pids].sort());
  await h.close();
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived close()`);
  for (const dir of dirs) assert.equal(fs.existsSync(dir), false, `${dir} survived close()`);
  assert.equal(await canConnect(r.port), false);
  await assert.rejects(h.redis(), /closed/);
});

let suiteRedisPid = 0;
describe('a harness scoped to a suite', async (suite) => {
  const h = await harness(suite);
  const r = await h.redis();
  suiteRedisPid = r.pid;
  it('serves every test of the suite', async () => {
    assert.equal(await r.call('SET', 'shared', '1'), 'OK');
  });
  it('keeps state between them', async () => {
    assert.equal(await r.call('GET', 'shared'), '1');
  });
});

test('the suite harness closed when the suite ended', () => {
  assert.ok(suiteRedisPid > 0);
  assert.equal(alive(suiteRedisPid), false);
});

const harnessModule = fileURLToPath(new URL('./harness/index.js', import.meta.url));

/** Runs a child node process that starts a redis via the harness, prints its pid and dir, then ends in `how`. */
async function crashChild(how: 'exit' | 'throw' | 'SIGTERM' | 'SIGKILL'): Promise<{ pid: number; dir: string }> {
  const script = `
    import { harness } from ${JSON.stringify(harnessModule)};
    const h = await harness();
    const r = await h.redis();
    console.log(JSON.stringify({ pid: r.pid, dir: r.dir }));
    const how = ${JSON.stringify(how)};
    if (how === 'exit') process.exit(3);
    if (how === 'throw') throw new Error('test file crashed');
    setInterval(() => {}, 1000);
  `;
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const started = await waitFor(
    () => (out.includes('\n') ? (JSON.parse(out.split('\n')[0]!) as { pid: number; dir: string }) : undefined),
    {
      timeoutMs: 20_000,
      what: `the ${how} child to start redis`,
    },
  );
  if (how === 'SIGTERM' || how === 'SIGKILL') {
    assert.equal(alive(started.pid), true);
    child.kill(how);
  }
  await exited;
  return started;
}

test('nothing survives a test process that exits, throws, or is terminated', async () => {
  for (const how of ['exit', 'throw', 'SIGTERM'] as const) {
    const { pid, dir } = await crashChild(how);
    // The exit hooks run synchronously before the process is gone.
    await waitFor(() => !alive(pid), { timeoutMs: 2000, what: `redis pid ${pid} to die after the parent's ${how}` });
    assert.equal(fs.existsSync(dir), false, `${dir} left behind after ${how}`);
  }
});

test('the watchdog cleans up after a SIGKILLed test process', async () => {
  const { pid, dir } = await crashChild('SIGKILL');
  await waitFor(() => !alive(pid), { timeoutMs: 10_000, intervalMs: 100, what: `redis pid ${pid} to be killed by the watchdog` });
  await waitFor(() => !fs.existsSync(dir), { timeoutMs: 5000, what: `${dir} to be removed by the watchdog` });
});

test('a server that cannot start fails with its log tail', async (t) => {
  const h = await harness(t);
  await assert.rejects(h.redis({ args: ['--no-such-option', 'x'] }), (err: Error) => {
    assert.match(err.message, /redis-server exited during startup/);
    assert.match(err.message, /no-such-option/);
    return true;
  });
});
