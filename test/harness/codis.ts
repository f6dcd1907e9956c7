// A real Codis 3.2 product (../shared/codis/bin): codis-dashboard with the filesystem coordinator,
// groups of codis-server master + replicas, codis-proxies and optionally Sentinels (codis-server
// --sentinel, the same 3.2.11 build), all put together the operator's way with codis-admin.
// How to assemble a product: https://github.com/CodisLabs/codis/blob/release3.2/doc/tutorial_en.md
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import { REPO_ROOT } from './fleet.js';
import { launch, type Owner } from './launch.js';
import { freePort, LOOPBACK } from './ports.js';
import type { ManagedProcess } from './process.js';
import { parseInfo, redisCall } from './redis.js';
import { HarnessServer } from './server.js';
import { waitFor } from './wait.js';

export const CODIS_BIN = path.join(REPO_ROOT, '..', 'shared', 'codis', 'bin');
const bin = (name: string): string => path.join(CODIS_BIN, name);

export interface CodisOptions {
  /** product_name, default "codis-test". */
  product?: string;
  /** product_auth (requirepass of every codis-server); default none. */
  productAuth?: string;
  /** Groups, default 2. */
  groups?: number;
  /** Replicas per group, default 1. */
  replicas?: number;
  /** codis-proxies, default 1. */
  proxies?: number;
  /** Sentinels (codis-server --sentinel), default 0. */
  sentinels?: number;
  /** sentinel_down_after, default "2s". */
  sentinelDownAfter?: string;
  /** Spread the 1024 slots evenly over the groups (default true). */
  assignSlots?: boolean;
  /** Readiness timeout of each step, default 30 s. */
  timeoutMs?: number;
}

type Kind = 'server' | 'sentinel' | 'dashboard' | 'proxy';

/** One Codis process (codis-server, a Sentinel, codis-dashboard or codis-proxy). */
export class CodisProcess extends HarnessServer {
  readonly host = LOOPBACK;
  constructor(
    owner: Owner,
    proc: ManagedProcess,
    readonly kind: Kind,
    readonly port: number,
    readonly dir: string,
    private readonly command: { args: string[]; logFile: string },
    private readonly ready: () => Promise<boolean>,
  ) {
    super(owner, proc);
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get logFile(): string {
    return this.command.logFile;
  }

  /** Starts again on the same ports from the same config (after stop() or kill()). */
  async restart(timeoutMs = 30_000): Promise<void> {
    if (this.running) await this.stop();
    await this.relaunch({
      name: `codis-${this.kind}`,
      timeoutMs,
      spawn: () => ({ command: commandOf(this.kind), args: this.command.args, cwd: this.dir, logFile: this.command.logFile }),
      ready: this.ready,
    });
  }
}

function commandOf(kind: Kind): string {
  return bin(kind === 'server' || kind === 'sentinel' ? 'codis-server' : `codis-${kind}`);
}

/** A codis-proxy: its RESP port and its admin HTTP API. */
export class CodisProxyProcess extends CodisProcess {
  constructor(
    owner: Owner,
    proc: ManagedProcess,
    dir: string,
    readonly adminPort: number,
    readonly proxyPort: number,
    command: { args: string[]; logFile: string },
    ready: () => Promise<boolean>,
  ) {
    super(owner, proc, 'proxy', proxyPort, dir, command, ready);
  }

  get adminAddress(): string {
    return `${this.host}:${this.adminPort}`;
  }

  /** GET on the admin API (JSON), e.g. get('/proxy/stats'). */
  get(p: string): Promise<unknown> {
    return getJson(`http://${this.adminAddress}${p}`);
  }
}

export interface CodisGroup {
  id: number;
  /** servers[0] as first set up (the dashboard's master until a failover). */
  master: CodisProcess;
  replicas: CodisProcess[];
}

export class CodisProduct {
  private constructor(
    private readonly owner: Owner,
    readonly product: string,
    readonly productAuth: string | undefined,
    readonly dashboard: CodisProcess,
    readonly groups: CodisGroup[],
    readonly proxies: CodisProxyProcess[],
    readonly sentinels: CodisProcess[],
    /** The filesystem coordinator's root. */
    readonly coordinatorDir: string,
  ) {}

  get dashboardAddress(): string {
    return this.dashboard.address;
  }

  /** Every codis-server of every group. */
  get servers(): CodisProcess[] {
    return this.groups.flatMap((g) => [g.master, ...g.replicas]);
  }

  /** Runs codis-admin against the dashboard; resolves with stdout, rejects with its output on failure. */
  admin(...args: string[]): Promise<string> {
    return codisAdmin([`--dashboard=${this.dashboard.address}`, ...args]);
  }

  /** GET on the dashboard's HTTP API (JSON), e.g. get('/topom/stats'). */
  get(p: string): Promise<unknown> {
    return getJson(`http://${this.dashboard.address}${p}`);
  }

  /** One command on a fresh connection to a codis-server (with product_auth). */
  call(server: CodisProcess, ...args: string[]): Promise<unknown> {
    return redisCall(server.port, args, { password: server.kind === 'server' ? this.productAuth : undefined });
  }

  async info(server: CodisProcess, section?: string): Promise<Record<string, string>> {
    return parseInfo(String(await this.call(server, ...(section ? ['INFO', section] : ['INFO']))));
  }

  /** A client of the proxy's RESP port (tracked). */
  client(proxy: CodisProxyProcess = this.proxies[0]!, opts: IORedisOptions = {}): Redis {
    const client = new Redis({ host: LOOPBACK, port: proxy.proxyPort, disableClientInfo: true, maxRetriesPerRequest: 1, ...opts });
    client.on('error', () => {
      /* proxies are stopped on purpose in tests */
    });
    return this.owner.trackClient(client);
  }

  static async start(owner: Owner, o: CodisOptions = {}): Promise<CodisProduct> {
    const product = o.product ?? 'codis-test';
    const timeoutMs = o.timeoutMs ?? 30_000;
    const auth = o.productAuth;
    const nGroups = o.groups ?? 2;
    const nReplicas = o.replicas ?? 1;
    const [servers, sentinels] = await Promise.all([
      Promise.all(Array.from({ length: nGroups * (1 + nReplicas) }, () => startServer(owner, auth, timeoutMs))),
      Promise.all(Array.from({ length: o.sentinels ?? 0 }, () => startSentinel(owner, timeoutMs))),
    ]);
    const coordinatorDir = await owner.tempDir('codis-fs');
    const dashboard = await startDashboard(owner, { product, auth, coordinatorDir, downAfter: o.sentinelDownAfter ?? '2s', timeoutMs });
    const admin = (...args: string[]) => codisAdmin([`--dashboard=${dashboard.address}`, ...args]);
    const groups: CodisGroup[] = [];
    for (let g = 0; g < nGroups; g++) {
      const [master, ...replicas] = servers.slice(g * (1 + nReplicas), (g + 1) * (1 + nReplicas));
      const id = g + 1;
      await admin('--create-group', `--gid=${id}`);
      for (const s of [master!, ...replicas]) await admin('--group-add', `--gid=${id}`, `--addr=${s.address}`);
      // The dashboard makes each replica SLAVEOF servers[0] (and CONFIG REWRITEs it).
      for (const r of replicas) await admin('--sync-action', '--create', `--addr=${r.address}`);
      groups.push({ id, master: master!, replicas });
    }
    for (const g of groups) {
      for (const r of g.replicas) {
        await waitFor(
          async () => parseInfo(String(await redisCall(r.port, ['INFO', 'replication'], { password: auth }))).master_link_status === 'up',
          { timeoutMs, intervalMs: 100, what: `codis-server ${r.address} to replicate group ${g.id}'s master` },
        );
      }
    }
    if (o.assignSlots ?? true) {
      for (let g = 0; g < nGroups; g++) {
        const beg = Math.floor((1024 * g) / nGroups);
        const end = Math.floor((1024 * (g + 1)) / nGroups) - 1;
        await admin('--slots-assign', `--beg=${beg}`, `--end=${end}`, `--gid=${g + 1}`, '--confirm');
      }
    }
    // Setting up (slots assigned to groups with replicas) leaves groups out_of_sync: start clean.
    await admin('--resync-group', '--all');
    if (sentinels.length) {
      for (const s of sentinels) await admin('--sentinel-add', `--addr=${s.address}`);
      // codis-admin --sentinel-resync fails now and then with "use of closed network connection"
      // (../shared/codis/README.md): retry it.
      await waitFor(() => admin('--sentinel-resync').then(() => true), {
        timeoutMs,
        intervalMs: 500,
        what: 'codis-admin --sentinel-resync',
      });
    }
    const proxies = await Promise.all(
      Array.from({ length: o.proxies ?? 1 }, () => startProxy(owner, { product, auth, dashboard: dashboard.address, timeoutMs })),
    );
    const p = new CodisProduct(owner, product, auth, dashboard, groups, proxies, sentinels, coordinatorDir);
    await p.waitReady(timeoutMs);
    return p;
  }

  /**
   * Another codis-proxy of this product. register: false starts it without --dashboard, so
   * nobody onlines it: it stays offline ("ERR router is not online") until `--create-proxy`.
   */
  async addProxy(opts: { register?: boolean; timeoutMs?: number } = {}): Promise<CodisProxyProcess> {
    const register = opts.register ?? true;
    const proxy = await startProxy(this.owner, {
      product: this.product,
      auth: this.productAuth,
      dashboard: register ? this.dashboard.address : undefined,
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
    if (register) {
      (this.proxies as CodisProxyProcess[]).push(proxy);
      await this.waitReady(opts.timeoutMs);
    }
    return proxy;
  }

  /** Waits until the dashboard sees every proxy online and every server answering. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        const st = (await this.get('/topom/stats')) as TopomStatsDoc;
        const proxyStats = Object.values(st.proxy?.stats ?? {});
        const serverStats = Object.values(st.group?.stats ?? {});
        return (
          (st.proxy?.models?.length ?? 0) === this.proxies.length &&
          proxyStats.length === this.proxies.length &&
          proxyStats.every((p) => p.stats?.online === true) &&
          serverStats.length === this.servers.length &&
          serverStats.every((s) => s.stats !== undefined && !s.error)
        );
      },
      { timeoutMs, intervalMs: 200, what: `codis product ${this.product}: proxies online and servers answering in the dashboard` },
    );
  }
}

interface TopomStatsDoc {
  group?: { stats?: Record<string, { stats?: Record<string, string>; error?: unknown }> };
  proxy?: { models?: unknown[]; stats?: Record<string, { stats?: { online?: boolean } }> };
}

export function codisAdmin(args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin('codis-admin'), args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`codis-admin ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`.trim()));
      else resolve(stdout);
    });
  });
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

const quote = (v: string): string => JSON.stringify(v);

async function startServer(owner: Owner, auth: string | undefined, timeoutMs: number): Promise<CodisProcess> {
  const dir = await owner.tempDir('codis-server');
  const conf = path.join(dir, 'redis.conf');
  const logFile = path.join(dir, 'codis-server.log');
  let port = 0;
  const ready = () => redisCall(port, ['PING'], { password: auth }).then((r) => r === 'PONG');
  const proc = await launch(owner, {
    name: 'codis-server',
    timeoutMs,
    prepare: async () => {
      port = await freePort();
      const lines = [
        `bind ${LOOPBACK}`,
        `port ${port}`,
        'protected-mode no',
        'daemonize no',
        `dir ${quote(dir)}`,
        'logfile ""',
        'save ""',
        'appendonly no',
        'repl-diskless-sync no',
      ];
      // product_auth is every server's requirepass and what replicas authenticate with.
      if (auth !== undefined) lines.push(`requirepass ${quote(auth)}`, `masterauth ${quote(auth)}`);
      await fs.writeFile(conf, lines.join('\n') + '\n', { mode: 0o600 });
      return { command: bin('codis-server'), args: [conf], cwd: dir, logFile };
    },
    ready,
  });
  return new CodisProcess(owner, proc, 'server', port, dir, { args: [conf], logFile }, ready);
}

async function startSentinel(owner: Owner, timeoutMs: number): Promise<CodisProcess> {
  const dir = await owner.tempDir('codis-sentinel');
  const conf = path.join(dir, 'sentinel.conf');
  const logFile = path.join(dir, 'sentinel.log');
  let port = 0;
  const ready = () => redisCall(port, ['PING']).then((r) => r === 'PONG');
  const proc = await launch(owner, {
    name: 'codis-sentinel',
    timeoutMs,
    prepare: async () => {
      port = await freePort();
      await fs.writeFile(
        conf,
        [`bind ${LOOPBACK}`, `port ${port}`, 'protected-mode no', 'daemonize no', `dir ${quote(dir)}`, 'logfile ""'].join('\n') + '\n',
        { mode: 0o600 },
      );
      return { command: bin('codis-server'), args: [conf, '--sentinel'], cwd: dir, logFile };
    },
    ready,
  });
  return new CodisProcess(owner, proc, 'sentinel', port, dir, { args: [conf, '--sentinel'], logFile }, ready);
}

async function startDashboard(
  owner: Owner,
  o: { product: string; auth: string | undefined; coordinatorDir: string; downAfter: string; timeoutMs: number },
): Promise<CodisProcess> {
  const dir = await owner.tempDir('codis-dashboard');
  const conf = path.join(dir, 'dashboard.toml');
  const logFile = path.join(dir, 'dashboard.out');
  let port = 0;
  const ready = () => getJson(`http://${LOOPBACK}:${port}/topom/stats`).then(() => true);
  const proc = await launch(owner, {
    name: 'codis-dashboard',
    timeoutMs: o.timeoutMs,
    prepare: async () => {
      port = await freePort();
      await fs.writeFile(
        conf,
        [
          'coordinator_name = "filesystem"',
          `coordinator_addr = ${quote(o.coordinatorDir)}`,
          `product_name = ${quote(o.product)}`,
          `product_auth = ${quote(o.auth ?? '')}`,
          `admin_addr = "${LOOPBACK}:${port}"`,
          'migration_method = "semi-async"',
          'migration_parallel_slots = 100',
          'migration_async_maxbulks = 200',
          'migration_async_maxbytes = "32mb"',
          'migration_async_numkeys = 500',
          'migration_timeout = "30s"',
          'sentinel_client_timeout = "10s"',
          'sentinel_quorum = 2',
          'sentinel_parallel_syncs = 1',
          `sentinel_down_after = ${quote(o.downAfter)}`,
          'sentinel_failover_timeout = "60s"',
        ].join('\n') + '\n',
        { mode: 0o600 },
      );
      // --remove-lock: a lock left by a killed dashboard of the same product must not block this one.
      return { command: bin('codis-dashboard'), args: [`--config=${conf}`, '--log-level=INFO', '--remove-lock'], cwd: dir, logFile };
    },
    ready,
  });
  return new CodisProcess(
    owner,
    proc,
    'dashboard',
    port,
    dir,
    { args: [`--config=${conf}`, '--log-level=INFO', '--remove-lock'], logFile },
    ready,
  );
}

async function startProxy(
  owner: Owner,
  o: { product: string; auth: string | undefined; dashboard: string | undefined; timeoutMs: number },
): Promise<CodisProxyProcess> {
  const dir = await owner.tempDir('codis-proxy');
  const conf = path.join(dir, 'proxy.toml');
  const logFile = path.join(dir, 'proxy.out');
  let adminPort = 0;
  let proxyPort = 0;
  const ready = () => getJson(`http://${LOOPBACK}:${adminPort}/proxy/model`).then(() => true);
  const args = () => [`--config=${conf}`, ...(o.dashboard ? [`--dashboard=${o.dashboard}`] : []), '--log-level=INFO'];
  const proc = await launch(owner, {
    name: 'codis-proxy',
    timeoutMs: o.timeoutMs,
    prepare: async () => {
      adminPort = await freePort();
      proxyPort = await freePort();
      await fs.writeFile(
        conf,
        [
          `product_name = ${quote(o.product)}`,
          `product_auth = ${quote(o.auth ?? '')}`,
          'session_auth = ""',
          `admin_addr = "${LOOPBACK}:${adminPort}"`,
          'proto_type = "tcp4"',
          `proxy_addr = "${LOOPBACK}:${proxyPort}"`,
          'proxy_max_clients = 1000',
          'proxy_max_offheap_size = "64mb"',
          'proxy_heap_placeholder = "16mb"',
          'backend_ping_period = "5s"',
          'backend_primary_only = false',
          'session_recv_timeout = "30m"',
        ].join('\n') + '\n',
        { mode: 0o600 },
      );
      return { command: bin('codis-proxy'), args: args(), cwd: dir, logFile };
    },
    ready,
  });
  return new CodisProxyProcess(owner, proc, dir, adminPort, proxyPort, { args: args(), logFile }, ready);
}
