// What the agent samples: the configured Redis instances and proxies, plus whatever
// discovery found on the host. Configured entries always win (same port = same target).
// Inputs compare `generation` each tick and start/stop connections for what changed.
import os from 'node:os';
import type { DashboardConfig, ProxyConfig, RedisInstanceConfig } from './config.js';

export interface TargetChange {
  added: string[];
  removed: string[];
}

/** The port a target is known by on this host (addresses differ: 0.0.0.0, 127.0.0.1, the host's IP). */
const portOf = (address: string): string => address.slice(address.lastIndexOf(':') + 1);
const proxyAddress = (p: ProxyConfig): string => (p.kind === 'codis' ? p.adminAddress : p.statsAddress);
const hostOf = (address: string): string => address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');

/** The names this host answers to: a codis-dashboard lists servers by whichever of them it was given. */
function localHosts(): Set<string> {
  const out = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::', os.hostname()]);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/** A codis-server as a codis-dashboard lists it: its product and group. */
export interface CodisMembership {
  address: string;
  product: string;
  group: string;
}

export class Targets {
  private discoveredRedis: RedisInstanceConfig[] = [];
  private discoveredProxies: ProxyConfig[] = [];
  private discoveredDashboards: DashboardConfig[] = [];
  /** port → product/group of the local codis-servers the dashboards list. */
  private codisGroups = new Map<string, CodisMembership>();
  /** Bumped whenever the set changes. */
  generation = 0;
  /** Sentinels found on this host ("host:port" → the password of the matching credentials rule). */
  discoveredSentinels = new Map<string, string | undefined>();
  /** Bumped whenever the discovered Sentinels change. */
  sentinelGeneration = 0;

  constructor(
    readonly configuredRedis: readonly RedisInstanceConfig[],
    readonly configuredProxies: readonly ProxyConfig[],
    readonly configuredDashboards: readonly DashboardConfig[] = [],
  ) {}

  get redis(): RedisInstanceConfig[] {
    return [...this.configuredRedis, ...this.discoveredRedis];
  }
  get proxies(): ProxyConfig[] {
    return [...this.configuredProxies, ...this.discoveredProxies];
  }
  get dashboards(): DashboardConfig[] {
    return [...this.configuredDashboards, ...this.discoveredDashboards];
  }

  /** Whether `address` came from discovery (not from the config). */
  isDiscovered(address: string): boolean {
    return this.discoveredRedis.some((r) => r.address === address) || this.discoveredProxies.some((p) => proxyAddress(p) === address);
  }

  /** Replaces the discovered Sentinels. */
  setDiscoveredSentinels(sentinels: ReadonlyMap<string, string | undefined>): void {
    const same =
      sentinels.size === this.discoveredSentinels.size &&
      [...sentinels].every(([a, p]) => this.discoveredSentinels.has(a) && this.discoveredSentinels.get(a) === p);
    if (same) return;
    this.discoveredSentinels = new Map(sentinels);
    this.sentinelGeneration++;
  }

  /** Replaces the discovered set; entries on a configured port are ignored. Returns what changed. */
  setDiscovered(
    redis: readonly RedisInstanceConfig[],
    proxies: readonly ProxyConfig[],
    dashboards: readonly DashboardConfig[] = [],
  ): TargetChange {
    const takenRedis = new Set(this.configuredRedis.map((r) => portOf(r.address)));
    const takenProxy = new Set(this.configuredProxies.map((p) => portOf(proxyAddress(p))));
    const nextRedis = redis.filter((r) => !takenRedis.has(portOf(r.address)));
    const nextProxies = proxies.filter((p) => !takenProxy.has(portOf(proxyAddress(p))));
    const before = new Set([...this.discoveredRedis.map((r) => r.address), ...this.discoveredProxies.map(proxyAddress)]);
    const after = new Set([...nextRedis.map((r) => r.address), ...nextProxies.map(proxyAddress)]);
    const takenDashboard = new Set(this.configuredDashboards.map((d) => portOf(d.adminAddress)));
    const nextDashboards = dashboards.filter((d) => !takenDashboard.has(portOf(d.adminAddress)));
    for (const d of this.discoveredDashboards) before.add(d.adminAddress);
    for (const d of nextDashboards) after.add(d.adminAddress);
    this.discoveredDashboards = nextDashboards;
    const added = [...after].filter((a) => !before.has(a));
    const removed = [...before].filter((a) => !after.has(a));
    this.discoveredRedis = nextRedis;
    this.discoveredProxies = nextProxies;
    this.applyCodisGroups();
    if (added.length || removed.length) this.generation++;
    return { added, removed };
  }

  /**
   * The group (and product, when no cluster is known) of discovered codis-servers, from what the
   * dashboards list: a server on this host is matched by port. Configured entries keep their own.
   */
  setCodisMembership(servers: readonly CodisMembership[]): void {
    const local = localHosts();
    const next = new Map<string, CodisMembership>();
    for (const m of servers) if (local.has(hostOf(m.address))) next.set(portOf(m.address), m);
    this.codisGroups = next;
    this.applyCodisGroups();
  }

  private applyCodisGroups(): void {
    for (const r of this.discoveredRedis) {
      const m = this.codisGroups.get(portOf(r.address));
      if (!m) continue;
      // Sampled instances read their config at sample time: the next sample carries the tags.
      r.group = m.group;
      if (!r.cluster) r.cluster = m.product;
    }
  }
}
