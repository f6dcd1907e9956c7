// What the agent samples: the configured Redis instances and proxies, plus whatever
// discovery found on the host. Configured entries always win (same port = same target).
// Inputs compare `generation` each tick and start/stop connections for what changed.
import type { ProxyConfig, RedisInstanceConfig } from './config.js';

export interface TargetChange { added: string[]; removed: string[] }

/** The port a target is known by on this host (addresses differ: 0.0.0.0, 127.0.0.1, the host's IP). */
const portOf = (address: string): string => address.slice(address.lastIndexOf(':') + 1);
const proxyAddress = (p: ProxyConfig): string => (p.kind === 'codis' ? p.adminAddress : p.statsAddress);

export class Targets {
  private discoveredRedis: RedisInstanceConfig[] = [];
  private discoveredProxies: ProxyConfig[] = [];
  /** Bumped whenever the set changes. */
  generation = 0;
  /** Sentinels found on this host ("host:port" → the password of the matching credentials rule). */
  discoveredSentinels = new Map<string, string | undefined>();
  /** Bumped whenever the discovered Sentinels change. */
  sentinelGeneration = 0;

  constructor(readonly configuredRedis: readonly RedisInstanceConfig[], readonly configuredProxies: readonly ProxyConfig[]) {}

  get redis(): RedisInstanceConfig[] { return [...this.configuredRedis, ...this.discoveredRedis]; }
  get proxies(): ProxyConfig[] { return [...this.configuredProxies, ...this.discoveredProxies]; }

  /** Whether `address` came from discovery (not from the config). */
  isDiscovered(address: string): boolean {
    return this.discoveredRedis.some((r) => r.address === address) || this.discoveredProxies.some((p) => proxyAddress(p) === address);
  }

  /** Replaces the discovered Sentinels. */
  setDiscoveredSentinels(sentinels: ReadonlyMap<string, string | undefined>): void {
    const same = sentinels.size === this.discoveredSentinels.size && [...sentinels].every(([a, p]) => this.discoveredSentinels.has(a) && this.discoveredSentinels.get(a) === p);
    if (same) return;
    this.discoveredSentinels = new Map(sentinels);
    this.sentinelGeneration++;
  }

  /** Replaces the discovered set; entries on a configured port are ignored. Returns what changed. */
  setDiscovered(redis: readonly RedisInstanceConfig[], proxies: readonly ProxyConfig[]): TargetChange {
    const takenRedis = new Set(this.configuredRedis.map((r) => portOf(r.address)));
    const takenProxy = new Set(this.configuredProxies.map((p) => portOf(proxyAddress(p))));
    const nextRedis = redis.filter((r) => !takenRedis.has(portOf(r.address)));
    const nextProxies = proxies.filter((p) => !takenProxy.has(portOf(proxyAddress(p))));
    const before = new Set([...this.discoveredRedis.map((r) => r.address), ...this.discoveredProxies.map(proxyAddress)]);
    const after = new Set([...nextRedis.map((r) => r.address), ...nextProxies.map(proxyAddress)]);
    const added = [...after].filter((a) => !before.has(a));
    const removed = [...before].filter((a) => !after.has(a));
    this.discoveredRedis = nextRedis;
    this.discoveredProxies = nextProxies;
    if (added.length || removed.length) this.generation++;
    return { added, removed };
  }
}
