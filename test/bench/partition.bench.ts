// The headline figure of sentinel-guard: acknowledged writes lost in a real network partition.
// Two network namespaces joined by one veth pair (the data link):
//   rfbA (majority): ZooKeeper, three Sentinels, the replica, client A (finds the master through the Sentinels)
//   rfbB (minority): the master, its agent with the guard, client B (always writes to the local master)
// Cut the link (vA down: B sees silence), let Sentinel fail over, heal, let the old master rejoin, and
// count acknowledged SADDs missing from the final set on the new master. Three arms, same run:
// guard on, guard off, and only min-replicas-to-write 1 / min-replicas-max-lag 10.
// A management veth per namespace (never cut) lets this process read both sides.
// Needs root (ip netns). Run: npm run bench -- partition
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { makeTempDir, removeTempDir, spawnManaged, type ManagedProcess } from '../harness/process.js';
import { JAVA, ZOOKEEPER_CLASSPATH } from '../harness/zookeeper.js';
import { REPO_ROOT } from '../harness/fleet.js';
import { table } from './lib.js';

const NS_A = 'rfbA';
const NS_B = 'rfbB';
const A = '10.77.0.1';
const B = '10.77.0.2';
const MGMT_A = '10.78.1.1';
const MGMT_B = '10.78.2.1';
const DOWN_AFTER_MS = 8000;
const KEY = 'acked';
const USERS = 'user default on nopass ~* &* +@all\nuser app on >app-pw ~* &* +@all\nuser fleet on >fleet-pw ~* &* +@all\n';

type Arm = 'guard on' | 'guard off' | 'min-replicas only';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const ip = (...args: string[]) => sh('ip', args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function netnsDown(): void {
  for (const ns of [NS_A, NS_B]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* not there */
    }
  }
  for (const dev of ['rfbmA', 'rfbmB']) {
    try {
      ip('link', 'del', dev);
    } catch {
      /* gone with its namespace */
    }
  }
}

function netnsUp(): void {
  netnsDown();
  ip('netns', 'add', NS_A);
  ip('netns', 'add', NS_B);
  ip('link', 'add', 'vA', 'netns', NS_A, 'type', 'veth', 'peer', 'name', 'vB', 'netns', NS_B);
  ip('-n', NS_A, 'addr', 'add', `${A}/24`, 'dev', 'vA');
  ip('-n', NS_B, 'addr', 'add', `${B}/24`, 'dev', 'vB');
  // Management links: root ↔ each side, never cut. No forwarding between them (no routes across).
  ip('link', 'add', 'rfbmA', 'type', 'veth', 'peer', 'name', 'mA', 'netns', NS_A);
  ip('link', 'add', 'rfbmB', 'type', 'veth', 'peer', 'name', 'mB', 'netns', NS_B);
  ip('addr', 'add', '10.78.1.254/24', 'dev', 'rfbmA');
  ip('addr', 'add', '10.78.2.254/24', 'dev', 'rfbmB');
  ip('-n', NS_A, 'addr', 'add', `${MGMT_A}/24`, 'dev', 'mA');
  ip('-n', NS_B, 'addr', 'add', `${MGMT_B}/24`, 'dev', 'mB');
  for (const [ns, devs] of [
    [NS_A, ['lo', 'vA', 'mA']],
    [NS_B, ['lo', 'vB', 'mB']],
  ] as const)
    for (const d of devs) ip('-n', ns, 'link', 'set', d, 'up');
  ip('link', 'set', 'rfbmA', 'up');
  ip('link', 'set', 'rfbmB', 'up');
}

const cut = () => ip('-n', NS_A, 'link', 'set', 'vA', 'down');
const heal = () => ip('-n', NS_A, 'link', 'set', 'vA', 'up');

class Run {
  readonly procs: ManagedProcess[] = [];
  readonly clients: Redis[] = [];
  constructor(readonly dir: string) {}

  spawn(ns: string, name: string, command: string, args: string[]): ManagedProcess {
    const p = spawnManaged({
      name,
      command: 'ip',
      args: ['netns', 'exec', ns, command, ...args],
      cwd: this.dir,
      logFile: path.join(this.dir, `${name}.log`),
    });
    this.procs.push(p);
    return p;
  }

  redis(host: string, port: number, user?: string, password?: string): Redis {
    const c = new Redis({
      host,
      port,
      username: user,
      password,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: 2000,
      retryStrategy: () => 100,
    });
    c.on('error', () => {});
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.disconnect();
    await Promise.all(this.procs.map((p) => p.kill('SIGKILL').catch(() => undefined)));
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

interface ClientResult {
  acked: Array<[number, number]>;
  errors: Record<string, [number, number]>;
  attempted: number;
}

async function arm(name: Arm): Promise<Record<string, string | number>> {
  const dir = await makeTempDir('partition');
  const run = new Run(dir);
  try {
    // Redis: master in B, replica in A (aclfile users: app for clients, fleet for the agent).
    fs.writeFileSync(path.join(dir, 'users.acl'), USERS);
    const redisArgs = (port: number, sub: string) => {
      fs.mkdirSync(path.join(dir, sub));
      return [
        '--port',
        String(port),
        '--bind',
        '0.0.0.0',
        '--protected-mode',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        path.join(dir, sub),
        '--aclfile',
        path.join(dir, 'users.acl'),
        '--repl-diskless-sync-delay',
        '0',
        '--logfile',
        '',
      ];
    };
    run.spawn(NS_B, 'master', '/usr/bin/redis-server', redisArgs(6379, 'master'));
    const master = run.redis(MGMT_B, 6379);
    await until('master up', async () => (await master.ping()) === 'PONG');
    if (name === 'min-replicas only') await master.config('SET', 'min-replicas-to-write', '1', 'min-replicas-max-lag', '10');
    run.spawn(NS_A, 'replica', '/usr/bin/redis-server', [...redisArgs(6380, 'replica'), '--replicaof', B, '6379']);
    const replica = run.redis(MGMT_A, 6380);
    await until('replica link', async () => /master_link_status:up/.test(await replica.info('replication')));

    // ZooKeeper in A.
    fs.mkdirSync(path.join(dir, 'zk'));
    fs.writeFileSync(
      path.join(dir, 'zoo.cfg'),
      `tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=${dir}/zk\nclientPort=2181\nadmin.enableServer=false\n4lw.commands.whitelist=srvr\nforceSync=no\n`,
    );
    run.spawn(NS_A, 'zookeeper', JAVA, [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dzookeeper.admin.enableServer=false',
      '-cp',
      ZOOKEEPER_CLASSPATH,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      path.join(dir, 'zoo.cfg'),
    ]);

    // Three Sentinels in A.
    const ids = [0, 1, 2].map(() => crypto.randomBytes(20).toString('hex'));
    const sentinelPorts = [26001, 26002, 26003];
    sentinelPorts.forEach((port, i) => {
      const conf = path.join(dir, `sentinel-${port}.conf`);
      fs.writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 0.0.0.0',
          'protected-mode no',
          `dir ${dir}`,
          'logfile ""',
          `sentinel myid ${ids[i]}`,
          `sentinel monitor g1 ${B} 6379 2`,
          `sentinel down-after-milliseconds g1 ${DOWN_AFTER_MS}`,
          'sentinel failover-timeout g1 20000',
          ...sentinelPorts.flatMap((p, j) => (j === i ? [] : [`sentinel known-sentinel g1 ${A} ${p} ${ids[j]}`])),
          '',
        ].join('\n'),
      );
      run.spawn(NS_A, `sentinel-${port}`, '/usr/bin/redis-sentinel', [conf]);
    });
    const sentinels = sentinelPorts.map((p) => run.redis(MGMT_A, p));
    await until('sentinels to know the master and each other', async () => {
      for (const s of sentinels) {
        const m = (await s.call('SENTINEL', 'master', 'g1')) as string[];
        const f = Object.fromEntries(m.flatMap((v, i) => (i % 2 ? [] : [[v, m[i + 1]]])));
        if (f.flags !== 'master' || Number(f['num-other-sentinels']) < 2 || Number(f['num-slaves']) < 1) return false;
      }
      return true;
    });
    await until(
      'ZooKeeper',
      async () => sh('ip', ['netns', 'exec', NS_B, 'bash', '-c', `exec 3<>/dev/tcp/${A}/2181; echo srvr >&3; cat <&3`]).includes('Mode:'),
      60_000,
      500,
    );

    // The agent in B (guard arm only); its collector does not exist: the guard does not need one.
    let agentLog = '';
    if (name === 'guard on') {
      fs.writeFileSync(path.join(dir, 'token'), 'x\n', { mode: 0o600 });
      fs.writeFileSync(
        path.join(dir, 'agent.yaml'),
        JSON.stringify({
          hostId: 'partition-bench',
          interval: '1s',
          statusFile: '',
          discovery: { enabled: false },
          collector: { addresses: ['127.0.0.1:1'], tokenFile: path.join(dir, 'token') },
          redis: [{ address: `${B}:6379`, user: 'fleet', password: 'fleet-pw' }],
          guard: {
            enabled: true,
            stateDir: path.join(dir, 'guard'),
            zookeeper: { servers: `${A}:2181`, probeInterval: '500ms', probeTimeout: '500ms', failures: 3 },
            sentinels: { addresses: sentinelPorts.map((p) => `${A}:${p}`), timeout: '500ms', downAfter: DOWN_AFTER_MS },
            hysteresis: '3s',
          },
        }),
      );
      const agent = run.spawn(NS_B, 'agent', process.execPath, [
        path.join(REPO_ROOT, 'dist/agent/main.js'),
        '--config',
        path.join(dir, 'agent.yaml'),
      ]);
      agentLog = agent.logFile;
      await until('the guard to start', async () => fs.readFileSync(agentLog, 'utf8').includes('"guard started"'));
    }

    // Writers.
    const clientScript = path.join(REPO_ROOT, 'dist/test/bench/partition-client.js');
    const outA = path.join(dir, 'a.json');
    const outB = path.join(dir, 'b.json');
    const ca = run.spawn(NS_A, 'client-a', process.execPath, [
      clientScript,
      JSON.stringify({
        id: 'A',
        mode: 'sentinel',
        sentinels: sentinelPorts.map((p) => `${A}:${p}`),
        user: 'app',
        password: 'app-pw',
        out: outA,
        key: KEY,
      }),
    ]);
    const cb = run.spawn(NS_B, 'client-b', process.execPath, [
      clientScript,
      JSON.stringify({ id: 'B', mode: 'direct', master: `${B}:6379`, user: 'app', password: 'app-pw', out: outB, key: KEY }),
    ]);
    await until('both writers acknowledged', async () => (await master.scard(KEY)) > 200);
    await sleep(2000);

    const cutAt = Date.now();
    cut();
    const replicaAddr = `${A}:6380`;
    await until(
      'the failover',
      async () => {
        const r = (await sentinels[0]!.call('SENTINEL', 'get-master-addr-by-name', 'g1')) as string[];
        return r && `${r[0]}:${r[1]}` === replicaAddr;
      },
      60_000,
    );
    const failoverMs = Date.now() - cutAt;
    await sleep(3000);
    const healAt = Date.now();
    heal();
    await until(
      'the old master to rejoin as a replica',
      async () => {
        const info = await master.info('replication');
        return /role:slave/.test(info) && /master_link_status:up/.test(info) && info.includes(`master_host:${A}`);
      },
      90_000,
      200,
    );
    if (name === 'guard on') {
      await until(
        'the guard to lift the fence',
        async () => fs.readFileSync(agentLog, 'utf8').includes('"guard: unfenced as a replica'),
        60_000,
      );
    }
    await sleep(2000);
    ca.signal('SIGTERM');
    cb.signal('SIGTERM');
    await Promise.all([ca.waitExit(10_000), cb.waitExit(10_000)]);
    const ra = JSON.parse(fs.readFileSync(outA, 'utf8')) as ClientResult;
    const rb = JSON.parse(fs.readFileSync(outB, 'utf8')) as ClientResult;
    const final = new Set(await replica.smembers(KEY));
    await sleep(500);

    const lostOf = (id: string, r: ClientResult) => r.acked.filter(([n]) => !final.has(`${id}-${n}`));
    const lostA = lostOf('A', ra);
    const lostB = lostOf('B', rb);
    const ackedTotal = ra.acked.length + rb.acked.length;
    const lost = lostA.length + lostB.length;
    // The fence point: the first write the minority master refused (NOPERM from the guard, NOREPLICAS from min-replicas).
    const refusal = Object.entries(rb.errors)
      .filter(([c]) => c === 'NOPERM' || c === 'NOREPLICAS')
      .map(([, [t]]) => t)
      .sort((x, y) => x - y)[0];
    const fenceAt = refusal && refusal >= cutAt ? refusal : undefined;
    const ackedAfterFence = fenceAt ? rb.acked.filter(([, t]) => t > fenceAt && t < healAt) : [];
    const lostAfterFence = fenceAt ? lostB.filter(([, t]) => t > fenceAt) : [];
    const bDuringCut = rb.acked.filter(([, t]) => t >= cutAt && t < healAt);
    return {
      arm: name,
      acked: ackedTotal,
      lost,
      'lost %': ackedTotal ? ((100 * lost) / ackedTotal).toFixed(2) : '0',
      'B acked during cut': bDuringCut.length,
      'fence latency': fenceAt ? `${fenceAt - cutAt} ms` : 'never',
      'acked after fence': fenceAt ? ackedAfterFence.length : '-',
      'lost after fence': fenceAt ? lostAfterFence.length : '-',
      failover: `${failoverMs} ms`,
      'B refusals':
        Object.entries(rb.errors)
          .map(([c, [, k]]) => `${c}×${k}`)
          .join(' ') || '-',
    };
  } finally {
    await run.close();
    await removeTempDir(dir);
  }
}

if (process.getuid?.() !== 0) {
  console.error('partition benchmark: needs root (ip netns); run it as root');
  process.exit(77);
}
console.log(
  `partition benchmark: Sentinel down-after ${DOWN_AFTER_MS} ms, quorum 2 of 3; guard probe 500 ms × 3, deadline 500 ms; writers SADD unique members (~150/s each)`,
);
const rows: Record<string, string | number>[] = [];
process.on('exit', netnsDown);
try {
  netnsUp();
  for (const a of ['guard on', 'guard off', 'min-replicas only'] as Arm[]) {
    console.log(`--- ${a}`);
    const r = await arm(a);
    console.log(JSON.stringify(r));
    rows.push(r);
  }
} finally {
  netnsDown();
}
const cols = Object.keys(rows[0]!);
console.log('\n' + table([cols, ...rows.map((r) => cols.map((c) => r[c]!))]));
const on = rows.find((r) => r.arm === 'guard on')!;
const off = rows.find((r) => r.arm === 'guard off')!;
console.log(
  `\nguard on vs off: lost ${on.lost} vs ${off.lost} acknowledged writes (${on['lost %']}% vs ${off['lost %']}%); lost after the fence point (guard on): ${on['lost after fence']}`,
);
