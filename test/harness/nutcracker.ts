// A real twemproxy (/usr/sbin/nutcracker 0.5.0) with a generated pool config.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import { stringify } from 'yaml';
import { launch, type Owner } from './launch.js';
import { canConnect, freePort, LOOPBACK, readToEnd } from './ports.js';
import { tailFile, type ManagedProcess } from './process.js';
import { RedisServer } from './redis.js';
import { HarnessServer } from './server.js';

export const NUTCRACKER = '/usr/sbin/nutcracker';

/** A backend: a RedisServer, "host:port", "host:port:weight [name]", or an object. */
export type NutcrackerBackend = RedisServer | string | { server: RedisServer | string; weight?: number; name?: string };

export interface NutcrackerPool {
  servers: NutcrackerBackend[];
  /** Listen port; default a free one. */
  port?: number;
  hash?: string; // default fnv1a_64
  hashTag?: string;
  distribution?: string; // default ketama
  autoEjectHosts?: boolean; // default true
  timeout?: number; // ms, default 400
  serverRetryTimeout?: number; // ms, default 2000
  serverFailureLimit?: number; // default 1
  preconnect?: boolean;
  /** redis_auth: the password clients must send (and nutcracker sends to backends). */
  redisAuth?: string;
  /** Any other raw nutcracker pool keys (snake_case, written as is). */
  extra?: Record<string, unknown>;
}

export interface NutcrackerOptions {
  pools: Record<string, NutcrackerPool>;
  /** Stats aggregation interval (-i), default 1000 ms (nutcracker's own default is 30 s). */
  statsIntervalMs?: number;
  /** Log verbosity (-v, 0..11), default 6. */
  verbosity?: number;
  timeoutMs?: number;
}

export class NutcrackerServer extends HarnessServer {
  readonly host = LOOPBACK;
  /** Listen port of every pool, by pool name. */
  readonly ports: Readonly<Record<string, number>>;
  readonly statsPort: number;
  readonly dir: string;
  readonly configPath: string;
  /** nutcracker's own log (-o). */
  readonly logFile: string;
  private constructor(
    owner: Owner,
    init: { ports: Record<string, number>; statsPort: number; dir: string; configPath: string; logFile: string; proc: ManagedProcess },
  ) {
    super(owner, init.proc);
    this.ports = init.ports;
    this.statsPort = init.statsPort;
    this.dir = init.dir;
    this.configPath = init.configPath;
    this.logFile = init.logFile;
  }

  get statsAddress(): string {
    return `${this.host}:${this.statsPort}`;
  }

  /** Listen port of `pool` (throws for an unknown pool). */
  port(pool: string): number {
    const port = this.ports[pool];
    if (port === undefined) throw new Error(`nutcracker has no pool ${JSON.stringify(pool)}`);
    return port;
  }

  address(pool: string): string {
    return `${this.host}:${this.port(pool)}`;
  }

  static async start(owner: Owner, opts: NutcrackerOptions): Promise<NutcrackerServer> {
    const names = Object.keys(opts.pools);
    if (names.length === 0) throw new Error('h.nutcracker: at least one pool is required');
    const dir = await owner.tempDir('nutcracker');
    const configPath = path.join(dir, 'nutcracker.yml');
    const logFile = path.join(dir, 'nutcracker.log');
    let ports: Record<string, number> = {};
    let statsPort = 0;
    const proc = await launch(owner, {
      name: 'nutcracker',
      timeoutMs: opts.timeoutMs ?? 20_000,
      extraLog: () => tailFile(logFile, 30),
      prepare: async () => {
        ports = {};
        for (const name of names) ports[name] = opts.pools[name]!.port ?? (await freePort());
        statsPort = await freePort();
        await fs.writeFile(configPath, nutcrackerYaml(opts.pools, ports));
        return {
          command: NUTCRACKER,
          args: [
            '-c',
            configPath,
            '-s',
            String(statsPort),
            '-a',
            LOOPBACK,
            '-i',
            String(opts.statsIntervalMs ?? 1000),
            '-o',
            logFile,
            '-v',
            String(opts.verbosity ?? 6),
          ],
          cwd: dir,
          logFile: path.join(dir, 'output.log'),
        };
      },
      ready: async () => {
        const stats = JSON.parse(await readToEnd(statsPort, undefined, 2000)) as Record<string, unknown>;
        if (!names.every((n) => typeof stats[n] === 'object')) return false;
        for (const n of names) if (!(await canConnect(ports[n]!))) return false;
        return true;
      },
    });
    return new NutcrackerServer(owner, { ports, statsPort, dir, configPath, logFile, proc });
  }

  /** The stats document (raw TCP, one JSON object per connection). */
  async stats(): Promise<Record<string, unknown>> {
    return JSON.parse(await readToEnd(this.statsPort)) as Record<string, unknown>;
  }

  /** An ioredis client talking to `pool` through the proxy (tracked). */
  client(pool: string, opts: IORedisOptions = {}): Redis {
    // twemproxy closes the connection on commands it does not proxy, such as the CLIENT SETINFO ioredis sends.
    const client = new Redis({ host: this.host, port: this.port(pool), enableReadyCheck: false, disableClientInfo: true, ...opts });
    client.on('error', () => {
      /* backends and the proxy are killed on purpose in tests */
    });
    return this.owner.trackClient(client);
  }

  override tail(lines = 40): string {
    const out = this.proc.tail(lines);
    return `${tailFile(this.logFile, lines)}${out ? `\n--- output ---\n${out}` : ''}`;
  }
}

function backendLine(b: NutcrackerBackend): string {
  if (b instanceof RedisServer) return `${b.address}:1`;
  if (typeof b === 'string') return /^[^:\s]+:\d+:\d+/.test(b) ? b : `${b}:1`;
  const addr = b.server instanceof RedisServer ? b.server.address : b.server;
  return `${addr}:${b.weight ?? 1}${b.name ? ` ${b.name}` : ''}`;
}

function nutcrackerYaml(pools: Record<string, NutcrackerPool>, ports: Record<string, number>): string {
  const doc: Record<string, Record<string, unknown>> = {};
  for (const [name, p] of Object.entries(pools)) {
    doc[name] = {
      listen: `${LOOPBACK}:${ports[name]}`,
      hash: p.hash ?? 'fnv1a_64',
      ...(p.hashTag !== undefined ? { hash_tag: p.hashTag } : {}),
      distribution: p.distribution ?? 'ketama',
      auto_eject_hosts: p.autoEjectHosts ?? true,
      redis: true,
      timeout: p.timeout ?? 400,
      server_retry_timeout: p.serverRetryTimeout ?? 2000,
      server_failure_limit: p.serverFailureLimit ?? 1,
      ...(p.preconnect !== undefined ? { preconnect: p.preconnect } : {}),
      ...(p.redisAuth !== undefined ? { redis_auth: p.redisAuth } : {}),
      ...p.extra,
      servers: p.servers.map(backendLine),
    };
  }
  return stringify(doc);
}
