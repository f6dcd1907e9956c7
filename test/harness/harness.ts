// The per-test Harness: owns every server, program, client and temp dir it starts, and closes them all.
import { after as suiteAfter, type SuiteContext, type TestContext } from 'node:test';
import { CodisProduct, type CodisOptions } from './codis.js';
import {
  startAgent,
  startCollector,
  runToExit,
  type AgentOptions,
  type AgentProcess,
  type CollectorOptions,
  type CollectorProcess,
  type FleetKind,
  type RunResult,
} from './fleet.js';
import { InfluxServer, type InfluxOptions } from './influx.js';
import { VictoriaServer, type VictoriaOptions } from './victoria.js';
import type { Owner } from './launch.js';
import { NutcrackerServer, type NutcrackerOptions } from './nutcracker.js';
import { makeTempDir, removeTempDir, type ManagedProcess } from './process.js';
import { RedisServer, waitForReplicaLink, type RedisOptions } from './redis.js';
import { TcpRelay } from './relay.js';
import { SentinelServer, startSentinels, type SentinelMasterSpec, type SentinelOptions } from './sentinel.js';
import { ZooKeeperServer, type ZooKeeperOptions } from './zookeeper.js';
import { PostgresServer, type PostgresOptions } from './postgres.js';

export class Harness implements Owner {
  private readonly processes: ManagedProcess[] = [];
  private readonly clients: Array<{ disconnect(): void }> = [];
  private readonly dirs: string[] = [];
  private readonly cleanups: Array<() => unknown> = [];
  private closing: Promise<void> | undefined;

  // --- Owner ---

  async tempDir(kind: string): Promise<string> {
    this.assertOpen();
    const dir = await makeTempDir(kind);
    this.dirs.push(dir);
    return dir;
  }

  adopt(proc: ManagedProcess): void {
    this.processes.push(proc);
    // A close() that raced with a start must not leave the newcomer behind.
    if (this.closing) void proc.kill('SIGKILL');
  }

  trackClient<T extends { disconnect(): void }>(client: T): T {
    this.clients.push(client);
    return client;
  }

  /** Runs `fn` at close() (before processes are killed), e.g. to close a client the harness did not make. */
  onClose(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  // --- servers ---

  async redis(opts?: RedisOptions): Promise<RedisServer> {
    this.assertOpen();
    return RedisServer.start(this, opts);
  }

  /** A replica of `master` (same password), returned once master_link_status is up. */
  async redisReplica(master: RedisServer, opts: Omit<RedisOptions, 'replicaOf'> = {}): Promise<RedisServer> {
    const replica = await this.redis({ password: master.password, ...opts, replicaOf: master });
    await waitForReplicaLink(replica, opts.timeoutMs);
    return replica;
  }

  async sentinel(opts: SentinelOptions): Promise<SentinelServer> {
    this.assertOpen();
    return SentinelServer.start(this, opts);
  }

  /** n sentinels for the same masters (quorum defaults to a majority), returned once all see each other. */
  async sentinels(n: number, masters: SentinelMasterSpec[], opts?: { timeoutMs?: number }): Promise<SentinelServer[]> {
    this.assertOpen();
    return startSentinels(this, n, masters, opts);
  }

  async zookeeper(opts?: ZooKeeperOptions): Promise<ZooKeeperServer> {
    this.assertOpen();
    return ZooKeeperServer.start(this, opts);
  }

  async postgres(opts?: PostgresOptions): Promise<PostgresServer> {
    this.assertOpen();
    return PostgresServer.start(this, opts);
  }

  async influx(opts?: InfluxOptions): Promise<InfluxServer> {
    this.assertOpen();
    return InfluxServer.start(this, opts);
  }

  async victoria(opts?: VictoriaOptions): Promise<VictoriaServer> {
    this.assertOpen();
    return VictoriaServer.start(this, opts);
  }

  /** A TCP relay to `target` whose link the test can cut() and heal() (closed with the harness). */
  async relay(target: { host: string; port: number }): Promise<TcpRelay> {
    this.assertOpen();
    const r = await TcpRelay.start(target);
    this.onClose(() => r.close());
    return r;
  }

  async nutcracker(opts: NutcrackerOptions): Promise<NutcrackerServer> {
    this.assertOpen();
    return NutcrackerServer.start(this, opts);
  }

  /** A real Codis 3.2 product: dashboard (filesystem coordinator), groups, proxies, optional Sentinels. */
  async codis(opts?: CodisOptions): Promise<CodisProduct> {
    this.assertOpen();
    return CodisProduct.start(this, opts);
  }

  // --- our programs ---

  async collector(config?: Record<string, unknown>, opts?: CollectorOptions): Promise<CollectorProcess> {
    this.assertOpen();
    return startCollector(this, config, opts);
  }

  async agent(config?: Record<string, unknown>, opts?: AgentOptions): Promise<AgentProcess> {
    this.assertOpen();
    return startAgent(this, config, opts);
  }

  async runToExit(
    kind: FleetKind,
    config: Record<string, unknown> | string,
    opts?: { env?: NodeJS.ProcessEnv; args?: string[]; timeoutMs?: number },
  ): Promise<RunResult> {
    this.assertOpen();
    return runToExit(this, kind, config, opts);
  }

  // --- diagnostics & teardown ---

  /** The last lines of every process this harness started (for a failing test's message). */
  logTails(lines = 30): string {
    return this.processes
      .map(
        (p) =>
          `=== ${p.name} pid ${p.pid} (${p.logFile}) ${p.running ? 'running' : `exited ${p.exit?.code ?? p.exit?.signal}`} ===\n${p.tail(lines)}`,
      )
      .join('\n');
  }

  /** Pids of the processes this harness started that are still running. */
  runningPids(): number[] {
    return this.processes.filter((p) => p.running).map((p) => p.pid);
  }

  /**
   * Disconnects clients, runs onClose callbacks, SIGKILLs every process (its whole group) and waits for the
   * exits, then removes the temp dirs. Idempotent, never throws.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const client of this.clients.splice(0).reverse()) {
      try {
        client.disconnect();
      } catch {
        /* already closed */
      }
    }
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* cleanup is best effort */
      }
    }
    // Processes adopted while we wait are killed by adopt(); loop until none is left.
    while (this.processes.some((p) => p.running)) {
      await Promise.all(this.processes.map((p) => p.kill('SIGKILL')));
    }
    await Promise.all(this.dirs.splice(0).map((d) => removeTempDir(d).catch(() => undefined)));
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('this harness is closed');
  }
}

/**
 * A harness scoped to a test or suite: `const h = await harness(t)`. Everything it starts is stopped
 * after the test (pass or fail). Without a context, call `h.close()` yourself.
 */
export async function harness(t?: TestContext | SuiteContext): Promise<Harness> {
  const h = new Harness();
  if (t && 'after' in t && typeof t.after === 'function') t.after(() => h.close());
  else if (t) suiteAfter(() => h.close());
  return h;
}
