// Real redis-server instances on loopback, each in its own temp dir.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import { launch, type Owner } from './launch.js';
import { freePort, LOOPBACK } from './ports.js';
import type { ManagedProcess } from './process.js';
import { HarnessServer } from './server.js';
import { waitFor } from './wait.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface AclUser {
  name: string;
  /** Omitted → `nopass`. */
  password?: string;
  /** ACL rules after the password, default `~* &* +@all`. */
  rules?: string;
}

export interface RedisOptions {
  /** Extra redis-server arguments, e.g. ['--maxmemory', '100mb']. */
  args?: string[];
  /** Password of the default user (requirepass). */
  password?: string;
  /** Users written to an aclfile in the temp dir (the default user gets `password`, or nopass). */
  aclUsers?: Array<AclUser | string>;
  /** Start as a replica of this server (masterauth = its password). */
  replicaOf?: RedisServer;
  /** `save` directive, default "" (no RDB snapshots). */
  save?: string;
  /** Default false. */
  appendonly?: boolean;
  /** Start from a real redis.conf in the temp dir (so CONFIG REWRITE works). Default true. */
  configFile?: boolean;
  /** Readiness timeout, default 20 s. */
  timeoutMs?: number;
}

/** One-shot connection options for `call`: short timeouts, no retries, no offline queue. */
function oneShotOptions(port: number, password?: string, username?: string): IORedisOptions {
  return {
    host: LOOPBACK,
    port,
    password,
    username,
    lazyConnect: true,
    connectTimeout: 1500,
    commandTimeout: 1500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    disableClientInfo: true,
  };
}

/** Runs one command on a fresh connection and closes it (works while other clients are wedged). */
export async function redisCall(port: number, args: string[], auth: { password?: string; username?: string } = {}): Promise<unknown> {
  const client = new Redis(oneShotOptions(port, auth.password, auth.username));
  client.on('error', () => {
    /* reported through the command's rejection */
  });
  try {
    await client.connect();
    const [command, ...rest] = args;
    return await client.call(command!, ...rest);
  } finally {
    client.disconnect();
  }
}

/** INFO text → {field: value}. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

const confValue = (v: string): string => (v === '' || /[\s"'\\]/.test(v) ? JSON.stringify(v) : v);

export class RedisServer extends HarnessServer {
  readonly host = LOOPBACK;
  readonly port: number;
  readonly dir: string;
  /** Combined stdout/stderr of redis-server (redis logs to stdout). */
  readonly logFile: string;
  /** The redis.conf the server starts from, when configFile was true. */
  readonly configPath: string | undefined;
  readonly password: string | undefined;
  /** The resolved options (args = the extra arguments). */
  readonly config: Readonly<RedisOptions> & { args: readonly string[] };
  private constructor(owner: Owner, init: { port: number; dir: string; configPath?: string; proc: ManagedProcess; options: RedisOptions }) {
    super(owner, init.proc);
    this.port = init.port;
    this.dir = init.dir;
    this.logFile = init.proc.logFile;
    this.configPath = init.configPath;
    this.password = init.options.password;
    this.config = { ...init.options, args: init.options.args ?? [] };
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  static async start(owner: Owner, options: RedisOptions = {}): Promise<RedisServer> {
    const dir = await owner.tempDir('redis');
    let port = 0;
    let configPath: string | undefined;
    const proc = await launch(owner, {
      name: 'redis-server',
      timeoutMs: options.timeoutMs ?? 20_000,
      prepare: async () => {
        port = await freePort();
        const built = await buildCommand(dir, port, options);
        configPath = built.configPath;
        return { command: REDIS_SERVER, args: built.args, cwd: dir, logFile: path.join(dir, 'redis.log') };
      },
      ready: () => ping(port, options.password),
    });
    return new RedisServer(owner, { port, dir, configPath, proc, options });
  }

  /** A new ioredis client (tracked: disconnected when the harness closes). Errors are swallowed unless you listen. */
  client(opts: IORedisOptions = {}): Redis {
    const client = new Redis({ host: this.host, port: this.port, password: this.password, ...opts });
    client.on('error', () => {
      /* servers are killed on purpose in tests */
    });
    return this.owner.trackClient(client);
  }

  /** One command on a fresh, authenticated connection. */
  call(...args: string[]): Promise<unknown> {
    return redisCall(this.port, args, { password: this.password });
  }

  async info(section?: string): Promise<Record<string, string>> {
    return parseInfo(String(await this.call(...(section ? ['INFO', section] : ['INFO']))));
  }

  /** SIGTERM (or SHUTDOWN SAVE with save: true) and wait for the exit. */
  override async stop(opts: { save?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (!this.proc.running) return;
    if (opts.save) {
      this.proc.signal('SIGCONT');
      await this.call('SHUTDOWN', 'SAVE').catch(() => {
        /* the connection drops as it exits */
      });
      if (await this.proc.waitExit(opts.timeoutMs ?? 10_000)) return;
    }
    await this.proc.stop(opts.timeoutMs ?? 10_000);
  }

  /**
   * Stops (with SHUTDOWN SAVE, so the dataset survives, unless save: false) and starts again on the same
   * port, dir and config file. Works on a server that was already stopped or killed.
   */
  async restart(opts: { save?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await this.stop({ save: opts.save ?? true });
    const args = this.configPath
      ? [this.configPath, ...this.config.args]
      : (await buildCommand(this.dir, this.port, { ...this.config, configFile: false })).args;
    await this.relaunch({
      name: 'redis-server',
      timeoutMs: opts.timeoutMs ?? 20_000,
      spawn: () => ({ command: REDIS_SERVER, args, cwd: this.dir, logFile: this.logFile }),
      ready: () => ping(this.port, this.password),
    });
  }
}

async function ping(port: number, password?: string): Promise<boolean> {
  return (await redisCall(port, ['PING'], { password })) === 'PONG';
}

async function buildCommand(dir: string, port: number, o: RedisOptions): Promise<{ args: string[]; configPath?: string }> {
  const settings: Array<[string, ...string[]]> = [
    ['bind', LOOPBACK],
    ['port', String(port)],
    ['protected-mode', 'no'],
    ['daemonize', 'no'],
    ['dir', dir],
    ['logfile', ''],
    ['dbfilename', 'dump.rdb'],
    ['save', o.save ?? ''],
    ['appendonly', o.appendonly ? 'yes' : 'no'],
    // Redis 7 waits 5 s before a diskless full sync to batch replicas; tests want the link now.
    ['repl-diskless-sync-delay', '0'],
  ];
  if (o.aclUsers) {
    const aclPath = path.join(dir, 'users.acl');
    const lines = o.aclUsers.map((u) =>
      typeof u === 'string' ? u : `user ${u.name} on ${u.password === undefined ? 'nopass' : `>${u.password}`} ${u.rules ?? '~* &* +@all'}`,
    );
    if (!lines.some((l) => /^user default\s/.test(l))) {
      lines.push(`user default on ${o.password === undefined ? 'nopass' : `>${o.password}`} ~* &* +@all`);
    }
    await fs.writeFile(aclPath, lines.join('\n') + '\n', { mode: 0o600 });
    settings.push(['aclfile', aclPath]);
  } else if (o.password !== undefined) {
    settings.push(['requirepass', o.password]);
  }
  if (o.replicaOf) {
    settings.push(['replicaof', o.replicaOf.host, String(o.replicaOf.port)]);
    if (o.replicaOf.password !== undefined) settings.push(['masterauth', o.replicaOf.password]);
  }
  const extra = o.args ?? [];
  if (o.configFile === false) {
    return { args: [...settings.flatMap(([key, ...values]) => [`--${key}`, ...values]), ...extra] };
  }
  const configPath = path.join(dir, 'redis.conf');
  await fs.writeFile(configPath, settings.map(([key, ...values]) => [key, ...values.map(confValue)].join(' ')).join('\n') + '\n', {
    mode: 0o600,
  });
  return { args: [configPath, ...extra], configPath };
}

/** Waits until `replica` reports master_link_status:up. */
export async function waitForReplicaLink(replica: RedisServer, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await replica.info('replication')).master_link_status === 'up', {
    timeoutMs,
    intervalMs: 100,
    what: `replica ${replica.address} to link up with its master`,
  });
}
