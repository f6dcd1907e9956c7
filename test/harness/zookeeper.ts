// A real standalone ZooKeeper 3.8 (Debian package): QuorumPeerMain run directly with a generated zoo.cfg.
import fs from 'node:fs/promises';
import path from 'node:path';
import { launch, type Owner } from './launch.js';
import { freePort, LOOPBACK, readToEnd } from './ports.js';
import type { ManagedProcess } from './process.js';
import { HarnessServer } from './server.js';

export const JAVA = '/usr/bin/java';
// zookeeper.jar's manifest Class-Path pulls in its dependencies; slf4j-simple gives it a log (stderr).
export const ZOOKEEPER_CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'].join(':');
const MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

export interface ZooKeeperOptions {
  /** Default 2000 (sessions then last 4 s .. 40 s). */
  tickTimeMs?: number;
  /** Extra zoo.cfg lines (key=value). */
  extraConfig?: Record<string, string | number>;
  /** Readiness timeout, default 60 s (a JVM on a busy 2-core box). */
  timeoutMs?: number;
}

export class ZooKeeperServer extends HarnessServer {
  readonly host = LOOPBACK;
  readonly port: number;
  readonly dir: string;
  /** ZooKeeper's own log (stdout/stderr). */
  readonly logFile: string;
  readonly configPath: string;
  private readonly args: string[];

  private constructor(owner: Owner, init: { port: number; dir: string; configPath: string; args: string[]; proc: ManagedProcess }) {
    super(owner, init.proc);
    this.port = init.port;
    this.dir = init.dir;
    this.configPath = init.configPath;
    this.args = init.args;
    this.logFile = init.proc.logFile;
  }

  /** "127.0.0.1:port", what node-zookeeper-client's createClient() takes. */
  get connectString(): string {
    return `${this.host}:${this.port}`;
  }

  get address(): string {
    return this.connectString;
  }

  static async start(owner: Owner, opts: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
    const dir = await owner.tempDir('zookeeper');
    const configPath = path.join(dir, 'zoo.cfg');
    const args = [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Xshare:auto',
      '-Dzookeeper.admin.enableServer=false',
      '-Dzookeeper.jmx.log4j.disable=true',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
      '-cp',
      ZOOKEEPER_CLASSPATH,
      MAIN,
      configPath,
    ];
    let port = 0;
    const proc = await launch(owner, {
      name: 'zookeeper',
      timeoutMs: opts.timeoutMs ?? 60_000,
      prepare: async () => {
        port = await freePort();
        await fs.writeFile(configPath, zooCfg(dir, port, opts));
        return { command: JAVA, args, cwd: dir, logFile: path.join(dir, 'zookeeper.log') };
      },
      ready: () => isServing(port),
    });
    return new ZooKeeperServer(owner, { port, dir, configPath, args, proc });
  }

  /** Sends a four-letter word (ruok, srvr, stat) and returns the answer. */
  fourLetter(word: string): Promise<string> {
    return readToEnd(this.port, word);
  }

  /** Stops and starts again on the same port with the same data (znodes survive). */
  async restart(): Promise<void> {
    await this.stop();
    await this.relaunch({
      name: 'zookeeper',
      timeoutMs: 60_000,
      spawn: () => ({ command: JAVA, args: this.args, cwd: this.dir, logFile: this.logFile }),
      ready: () => isServing(this.port),
    });
  }
}

/** `srvr` answers with "Mode: standalone" only once the server serves requests. */
async function isServing(port: number): Promise<boolean> {
  return /^Mode: /m.test(await readToEnd(port, 'srvr', 2000));
}

function zooCfg(dir: string, port: number, opts: ZooKeeperOptions): string {
  const cfg: Record<string, string | number> = {
    tickTime: opts.tickTimeMs ?? 2000,
    initLimit: 10,
    syncLimit: 5,
    dataDir: path.join(dir, 'data'),
    clientPort: port,
    clientPortAddress: LOOPBACK,
    maxClientCnxns: 0,
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': 'ruok,srvr,stat',
    forceSync: 'no', // test data: no fsync per transaction
    preAllocSize: 1024, // KB; the default pre-allocates 64 MB log files
    ...opts.extraConfig,
  };
  return (
    Object.entries(cfg)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n'
  );
}
