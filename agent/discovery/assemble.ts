// From the procfs snapshot to instances: which sockets belong to whom, and which address to dial.
// Pure, so the captured /proc tables of this machine can drive it in tests.
import { connectableHostPort, connectHost, formatAddress, isAnyAddress, pickConnectHost } from './address.js';
import { parseCodisProxyToml } from './codis-config.js';
import { parseCodisProxyArgs, parseNutcrackerArgs, parseRedisTitle } from './identify.js';
import type { ProcessRecord, ProcSnapshot } from './procfs.js';
import type {
  DiscoveredCodisDashboard,
  DiscoveredCodisProxy,
  DiscoveredInstance,
  DiscoveredNutcracker,
  DiscoveredRedis,
  ListenSocket,
} from './types.js';

export interface Assembled {
  instances: DiscoveredInstance[];
  candidates: number;
  withoutListeners: number;
}

const KIND_ORDER = { redis: 0, sentinel: 1, nutcracker: 2, 'codis-proxy': 3, 'codis-dashboard': 4 } as const;

export function assembleInstances(snap: ProcSnapshot): Assembled {
  const claimed = new Set<string>();
  const instances: DiscoveredInstance[] = [];
  let withoutListeners = 0;
  // Lowest pid first: a fork child (BGSAVE) briefly shares its parent's listening sockets.
  for (const rec of [...snap.processes].sort((a, b) => a.pid - b.pid)) {
    const netns = rec.netns ?? snap.ownNetns;
    const table = snap.listenByNetns.get(netns) ?? snap.listenByNetns.get(snap.ownNetns)!;
    const listening: ListenSocket[] = [];
    for (const inode of rec.socketInodes ?? []) {
      const sock = table.get(inode);
      const key = `${netns}/${inode}`;
      if (!sock || claimed.has(key)) continue;
      claimed.add(key);
      listening.push(sock);
    }
    listening.sort((a, b) => a.port - b.port || a.family - b.family || a.ip.localeCompare(b.ip));
    const base = {
      pid: rec.pid,
      comm: rec.comm,
      argv: rec.argv,
      listening,
      ports: [...new Set(listening.map((s) => s.port))],
      socketsVisible: rec.socketInodes !== undefined,
      otherNetns: rec.netns !== undefined && snap.ownNetns !== '' && rec.netns !== snap.ownNetns,
    };
    const inst =
      rec.kind === 'nutcracker'
        ? nutcracker(rec, base)
        : rec.kind === 'codis-proxy'
          ? codisProxy(rec, base)
          : rec.kind === 'codis-dashboard'
            ? codisDashboard(rec, base)
            : redisLike(rec, base);
    if (inst) instances.push(inst);
    else withoutListeners++;
  }
  instances.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.port - b.port || a.pid - b.pid);
  return { instances, candidates: snap.processes.length, withoutListeners };
}

type Base = Pick<DiscoveredRedis, 'pid' | 'comm' | 'argv' | 'listening' | 'ports' | 'socketsVisible' | 'otherNetns'>;

/** A port's dial host: from its sockets when visible, else from the address the process names. */
function hostFor(base: Base, port: number, named?: string): string | undefined {
  if (base.socketsVisible) return pickConnectHost(base.listening, port);
  if (named === undefined) return undefined;
  return isAnyAddress(named) ? '127.0.0.1' : named;
}

function redisLike(rec: ProcessRecord, base: Base): DiscoveredRedis | undefined {
  const title = parseRedisTitle(rec.argv);
  // The title shows the plain port (the TLS port only when there is no plain one); a cluster bus
  // port is always above its data port, so the lowest port is the right fallback.
  let port: number | undefined;
  if (base.socketsVisible) port = title && base.ports.includes(title.port) ? title.port : base.ports[0];
  else port = title?.port;
  if (port === undefined) return undefined;
  const host = hostFor(base, port, title?.host === '*' ? '0.0.0.0' : title?.host);
  if (host === undefined) return undefined;
  const ports = base.socketsVisible ? base.ports : [port];
  return {
    ...base,
    ports,
    kind: rec.kind === 'sentinel' ? 'sentinel' : 'redis',
    host,
    port,
    address: formatAddress(host, port),
    mode: title?.mode ?? '',
  };
}

function nutcracker(rec: ProcessRecord, base: Base): DiscoveredNutcracker | undefined {
  const args = parseNutcrackerArgs(rec.argv);
  if (base.socketsVisible && base.ports.length === 0) return undefined;
  const statsHost = hostFor(base, args.statsPort, args.statsAddr) ?? connectHost(args.statsAddr, args.statsAddr.includes(':') ? 6 : 4);
  const clientAddresses = base.ports.filter((p) => p !== args.statsPort).map((p) => formatAddress(pickConnectHost(base.listening, p)!, p));
  const statsAddress = formatAddress(statsHost, args.statsPort);
  const out: DiscoveredNutcracker = {
    ...base,
    ports: base.socketsVisible ? base.ports : [args.statsPort],
    kind: 'nutcracker',
    host: statsHost,
    port: args.statsPort,
    address: statsAddress,
    statsAddress,
    statsPort: args.statsPort,
    clientAddresses,
  };
  if (args.configFile !== undefined) out.configFile = args.configFile;
  return out;
}

/** A TOML address as this host dials it: a wildcard bind on whichever loopback family actually listens. */
function dialer(base: Base) {
  return (addr: string | undefined): { host: string; port: number } | undefined => {
    const hp = addr === undefined ? undefined : connectableHostPort(addr);
    if (!hp) return undefined;
    const seen = base.socketsVisible ? pickConnectHost(base.listening, hp.port) : undefined;
    return { host: seen && (hp.host === '127.0.0.1' || hp.host === '::1') ? seen : hp.host, port: hp.port };
  };
}

/** codis-dashboard: its admin_addr (from --config's TOML; the same flat keys as codis-proxy's) and product. */
function codisDashboard(rec: ProcessRecord, base: Base): DiscoveredCodisDashboard | undefined {
  const args = parseCodisProxyArgs(rec.argv);
  const toml = rec.configText !== undefined ? parseCodisProxyToml(rec.configText) : {};
  const admin = dialer(base)(toml.admin_addr);
  const fallbackPort = base.ports[0];
  const primary =
    admin ?? (fallbackPort !== undefined ? { host: pickConnectHost(base.listening, fallbackPort)!, port: fallbackPort } : undefined);
  if (!primary) return undefined;
  const out: DiscoveredCodisDashboard = {
    ...base,
    kind: 'codis-dashboard',
    host: primary.host,
    port: primary.port,
    address: formatAddress(primary.host, primary.port),
  };
  out.adminAddress = out.address;
  if (args.configFile !== undefined) out.configFile = args.configFile;
  const product = args.productName ?? toml.product_name;
  if (product !== undefined && product !== '') {
    out.productName = product;
    out.cluster = product;
  }
  if (rec.configError !== undefined) out.configError = rec.configError;
  return out;
}

function codisProxy(rec: ProcessRecord, base: Base): DiscoveredCodisProxy | undefined {
  const args = parseCodisProxyArgs(rec.argv);
  const toml = rec.configText !== undefined ? parseCodisProxyToml(rec.configText) : {};
  const dial = dialer(base);
  const admin = dial(toml.admin_addr);
  const proxy = toml.proto_type === undefined || toml.proto_type.startsWith('tcp') ? dial(toml.proxy_addr) : undefined;
  const fallbackPort = base.ports[0];
  const primary =
    admin ?? (fallbackPort !== undefined ? { host: pickConnectHost(base.listening, fallbackPort)!, port: fallbackPort } : undefined);
  if (!primary) return undefined;
  const out: DiscoveredCodisProxy = {
    ...base,
    kind: 'codis-proxy',
    host: primary.host,
    port: primary.port,
    address: formatAddress(primary.host, primary.port),
  };
  if (args.configFile !== undefined) out.configFile = args.configFile;
  if (admin) out.adminAddress = formatAddress(admin.host, admin.port);
  if (proxy) out.proxyAddress = formatAddress(proxy.host, proxy.port);
  const product = args.productName ?? toml.product_name;
  if (product !== undefined && product !== '') {
    out.productName = product;
    out.cluster = product;
  }
  if (rec.configError !== undefined) out.configError = rec.configError;
  if (!base.socketsVisible)
    out.ports = [...new Set([admin?.port, proxy?.port].filter((p): p is number => p !== undefined))].sort((a, b) => a - b);
  return out;
}
