// What a local scan finds. `address` is always something this host can connect to
// (wildcard binds are turned into loopback), in the `host:port` / `[v6]:port` form config uses.

export type DiscoveredKind = 'redis' | 'sentinel' | 'nutcracker' | 'codis-proxy' | 'codis-dashboard';

export interface ListenSocket {
  /** The bound IP as the kernel reports it: '0.0.0.0' and '::' mean every address. */
  ip: string;
  port: number;
  family: 4 | 6;
  inode: number;
}

interface DiscoveredBase {
  kind: DiscoveredKind;
  pid: number;
  /** /proc/<pid>/comm. */
  comm: string;
  /** argv as read from /proc/<pid>/cmdline (Redis rewrites argv[0] into its title). */
  argv: string[];
  /** The endpoint a monitor talks to: RESP for redis/sentinel, stats for nutcracker, admin HTTP for codis-proxy. */
  address: string;
  host: string;
  port: number;
  /** Every listening TCP port of the process, ascending. */
  ports: number[];
  listening: ListenSocket[];
  /**
   * False when /proc/<pid>/fd could not be read (another user's process, without root): the ports
   * then come from the process title / arguments only.
   */
  socketsVisible: boolean;
  /** True when the process's sockets live in another network namespace (a container): its loopback is not ours. */
  otherNetns: boolean;
  /** Set when known (codis-proxy: product_name), or by a credentials rule that names one. */
  cluster?: string;
}

export interface DiscoveredRedis extends DiscoveredBase {
  kind: 'redis' | 'sentinel';
  /** Mode from the title (`[cluster]`, `[sentinel]`), '' for a standalone server. */
  mode: string;
}

export interface DiscoveredNutcracker extends DiscoveredBase {
  kind: 'nutcracker';
  statsAddress: string;
  statsPort: number;
  /** The pools' listen addresses (every listening port but the stats port). */
  clientAddresses: string[];
  /** -c / --conf-file as given (nutcracker's default is conf/nutcracker.yml under its cwd). */
  configFile?: string;
}

export interface DiscoveredCodisProxy extends DiscoveredBase {
  kind: 'codis-proxy';
  configFile?: string;
  /** Connectable forms of the TOML's admin_addr / proxy_addr, when the file was readable. */
  adminAddress?: string;
  proxyAddress?: string;
  productName?: string;
  /** Why the config file gave nothing, e.g. 'EACCES' or 'ENOENT'. */
  configError?: string;
}

export interface DiscoveredCodisDashboard extends DiscoveredBase {
  kind: 'codis-dashboard';
  configFile?: string;
  /** Connectable form of the TOML's admin_addr, when the file was readable. */
  adminAddress?: string;
  productName?: string;
  configError?: string;
}

export type DiscoveredInstance = DiscoveredRedis | DiscoveredNutcracker | DiscoveredCodisProxy | DiscoveredCodisDashboard;

export interface ScanStats {
  /** Numeric entries under /proc. */
  pids: number;
  /** Processes recognised as one of the four kinds. */
  candidates: number;
  /** Processes (or their fd tables) this user may not read. */
  permissionDenied: number;
  /** Processes that exited between being listed and being read. */
  vanished: number;
  /** Candidates with no listening TCP socket (a Redis fork child, a zombie, unix-socket only). */
  withoutListeners: number;
  wallMs: number;
}

export interface Discovered {
  instances: DiscoveredInstance[];
  stats: ScanStats;
  /** Date.now() at the start of the scan. */
  scannedAt: number;
}
