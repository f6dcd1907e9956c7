// Real redis-sentinel processes with writable config files (Sentinel rewrites its config on every change).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import { launch, type Owner } from './launch.js';
import { freePort, LOOPBACK } from './ports.js';
import type { ManagedProcess } from './process.js';
import { HarnessServer } from './server.js';
import { redisCall, type RedisServer } from './redis.js';
import { waitFor } from './wait.js';

export const REDIS_SENTINEL = '/usr/bin/redis-sentinel';

export interface SentinelMasterSpec {
  name: string;
  master: RedisServer;
  /** Default 1 for h.sentinel(), a majority for h.sentinels(n). */
  quorum?: number;
  /** Default 1000. */
  downAfterMs?: number;
  /** Default 10 000. */
  failoverTimeoutMs?: number;
  /** Default 1. */
  parallelSyncs?: number;
  /** `sentinel auth-pass`; default the master's password. */
  authPass?: string;
}

export interface SentinelOptions {
  masters: SentinelMasterSpec[];
  /** Readiness timeout, default 20 s. */
  timeoutMs?: number;
}

interface Peer {
  port: number;
  myid: string;
}

export class SentinelServer extends HarnessServer {
  readonly host = LOOPBACK;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  /** The sentinel.conf it runs from (rewritten by Sentinel itself). */
  readonly configPath: string;
  /** Sentinel run id (`sentinel myid`). */
  readonly myid: string;
  readonly masters: readonly SentinelMasterSpec[];
  private constructor(
    owner: Owner,
    init: { port: number; dir: string; configPath: string; myid: string; proc: ManagedProcess; masters: SentinelMasterSpec[] },
  ) {
    super(owner, init.proc);
    this.port = init.port;
    this.dir = init.dir;
    this.configPath = init.configPath;
    this.myid = init.myid;
    this.logFile = init.proc.logFile;
    this.masters = init.masters;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** `peers` are other sentinels pre-seeded as known-sentinel (so they need no hello round to meet). */
  static async start(
    owner: Owner,
    opts: SentinelOptions,
    seed: { port?: number; myid?: string; peers?: Peer[] } = {},
  ): Promise<SentinelServer> {
    if (opts.masters.length === 0) throw new Error('h.sentinel: at least one master is required');
    const dir = await owner.tempDir('sentinel');
    const configPath = path.join(dir, 'sentinel.conf');
    const myid = seed.myid ?? randomBytes(20).toString('hex');
    let port = 0;
    const proc = await launch(owner, {
      name: 'redis-sentinel',
      timeoutMs: opts.timeoutMs ?? 20_000,
      prepare: async (attempt) => {
        port = attempt === 1 && seed.port ? seed.port : await freePort();
        await fs.writeFile(configPath, sentinelConf({ port, dir, myid, masters: opts.masters, peers: seed.peers ?? [] }), { mode: 0o600 });
        return { command: REDIS_SENTINEL, args: [configPath], cwd: dir, logFile: path.join(dir, 'sentinel.log') };
      },
      ready: async () => {
        for (const m of opts.masters) {
          const addr = await redisCall(port, ['SENTINEL', 'get-master-addr-by-name', m.name]);
          if (!Array.isArray(addr)) return false;
        }
        return true;
      },
    });
    return new SentinelServer(owner, { port, dir, configPath, myid, proc, masters: opts.masters });
  }

  /** A new ioredis client connected to this sentinel (tracked). */
  client(opts: IORedisOptions = {}): Redis {
    const client = new Redis({ host: this.host, port: this.port, ...opts });
    client.on('error', () => {
      /* sentinels are paused and killed on purpose in tests */
    });
    return this.owner.trackClient(client);
  }

  /** One command on a fresh connection, e.g. call('SENTINEL', 'masters'). */
  call(...args: string[]): Promise<unknown> {
    return redisCall(this.port, args);
  }

  /** The current master address of `name` as "host:port" (null when unknown). */
  async masterAddress(name: string): Promise<string | null> {
    const reply = await this.call('SENTINEL', 'get-master-addr-by-name', name);
    return Array.isArray(reply) ? `${reply[0]}:${reply[1]}` : null;
  }

  /** `SENTINEL sentinels|replicas|master` replies as field maps. */
  async peers(name: string): Promise<Array<Record<string, string>>> {
    return pairsList(await this.call('SENTINEL', 'sentinels', name));
  }

  async replicas(name: string): Promise<Array<Record<string, string>>> {
    return pairsList(await this.call('SENTINEL', 'replicas', name));
  }

  async master(name: string): Promise<Record<string, string>> {
    return pairs(await this.call('SENTINEL', 'master', name));
  }

  /** Starts again on the same port from its (possibly rewritten) config file; stops it first if it runs. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.relaunch({
      name: 'redis-sentinel',
      timeoutMs: 20_000,
      spawn: () => ({ command: REDIS_SENTINEL, args: [this.configPath], cwd: this.dir, logFile: this.logFile }),
      ready: async () => (await this.call('PING')) === 'PONG',
    });
  }
}

/** Starts n sentinels monitoring the same masters and waits until each lists the n-1 others as healthy. */
export async function startSentinels(
  owner: Owner,
  n: number,
  masters: SentinelMasterSpec[],
  opts: { timeoutMs?: number } = {},
): Promise<SentinelServer[]> {
  const majority = Math.floor(n / 2) + 1;
  const specs = masters.map((m) => ({ ...m, quorum: m.quorum ?? majority }));
  const peers: Peer[] = [];
  for (let i = 0; i < n; i++) peers.push({ port: await freePort(), myid: randomBytes(20).toString('hex') });
  const sentinels = await Promise.all(
    peers.map((self) =>
      SentinelServer.start(owner, { masters: specs, timeoutMs: opts.timeoutMs }, { ...self, peers: peers.filter((p) => p !== self) }),
    ),
  );
  await waitFor(
    async () => {
      for (const s of sentinels) {
        for (const m of specs) {
          const healthy = (await s.peers(m.name)).filter((p) => p.flags === 'sentinel');
          if (healthy.length < n - 1) return false;
        }
      }
      return true;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100, what: `${n} sentinels to see each other` },
  );
  return sentinels;
}

function sentinelConf(c: { port: number; dir: string; myid: string; masters: SentinelMasterSpec[]; peers: Peer[] }): string {
  const lines = [
    `port ${c.port}`,
    `bind ${LOOPBACK}`,
    'protected-mode no',
    'daemonize no',
    `dir ${JSON.stringify(c.dir)}`,
    'logfile ""',
    'sentinel resolve-hostnames no',
    'sentinel announce-hostnames no',
    `sentinel myid ${c.myid}`,
  ];
  for (const m of c.masters) {
    lines.push(
      `sentinel monitor ${m.name} ${m.master.host} ${m.master.port} ${m.quorum ?? 1}`,
      `sentinel down-after-milliseconds ${m.name} ${m.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${m.name} ${m.failoverTimeoutMs ?? 10_000}`,
      `sentinel parallel-syncs ${m.name} ${m.parallelSyncs ?? 1}`,
    );
    const authPass = m.authPass ?? m.master.password;
    if (authPass !== undefined) lines.push(`sentinel auth-pass ${m.name} ${JSON.stringify(authPass)}`);
    for (const p of c.peers) lines.push(`sentinel known-sentinel ${m.name} ${LOOPBACK} ${p.port} ${p.myid}`);
  }
  return lines.join('\n') + '\n';
}

function pairs(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

function pairsList(reply: unknown): Array<Record<string, string>> {
  return Array.isArray(reply) ? reply.map(pairs) : [];
}
