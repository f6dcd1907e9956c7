// Input "discovery": finds local redis-server, redis-sentinel, nutcracker and codis-proxy
// processes from /proc at start and every `discovery.interval` (never on the tick), and
// hands the Redis instances and proxies it found to the other inputs through Targets.
// Configured entries always win. What appeared or went away is an event in the next report.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../common/index.js';
import type { Event } from '../../proto/index.js';
import type { Accumulator } from '../accumulator.js';
import type { AgentConfig, DashboardConfig, ProxyConfig, RedisInstanceConfig } from '../config.js';
import {
  Discovery,
  parseNutcrackerStatsInterval,
  resolveCredentials,
  type Discovered,
  type DiscoveredInstance,
} from '../discovery/index.js';
import type { Targets } from '../targets.js';
import type { Input, InputContext } from './input.js';

/** A config path as the process sees it: relative ones are relative to its working directory. */
function resolveProcPath(pid: number, file: string | undefined): string | undefined {
  if (!file) return undefined;
  if (path.isAbsolute(file)) return file;
  try {
    return path.join(fs.readlinkSync(`/proc/${pid}/cwd`), file);
  } catch {
    return undefined;
  }
}

export class DiscoveryInput implements Input {
  readonly name = 'discovery';
  private readonly discovery: Discovery;
  private readonly logger: Logger;
  private readonly pending: Event[] = [];
  private readonly timeoutMs: number;
  private sentinels: string[] = [];

  constructor(
    private readonly config: AgentConfig,
    logger: Logger,
    private readonly targets: Targets,
  ) {
    this.logger = logger.child({ input: 'discovery' });
    this.timeoutMs = Math.min(2000, Math.max(500, config.intervalMs));
    this.discovery = new Discovery({
      intervalMs: config.discovery.intervalMs,
      onChange: (_added, _removed, current) => this.apply(current),
      onError: (err) => this.logger.warn({ error: (err as Error).message }, 'discovery scan failed; the previous targets stay'),
    });
  }

  async start(): Promise<void> {
    const first = await this.discovery.start();
    if (first.instances.length === 0) this.apply(first); // onChange only fires on a difference
  }

  async stop(): Promise<void> {
    this.discovery.stop();
  }

  async gather(acc: Accumulator): Promise<void> {
    for (const e of this.pending.splice(0)) acc.events.push(e);
  }

  /** The Redis instances and proxies of one scan → Targets, and events for what changed. */
  private apply(scan: Discovered): void {
    const resolved = resolveCredentials(scan, this.config.discovery.credentials);
    const redis: RedisInstanceConfig[] = [];
    const proxies: ProxyConfig[] = [];
    const sentinels: string[] = [];
    const sentinelPasswords = new Map<string, string | undefined>();
    const dashboards: DashboardConfig[] = [];
    const kindOf = new Map<string, DiscoveredInstance['kind']>();
    for (const r of resolved) {
      const i = r.instance;
      if (i.otherNetns) continue; // its loopback is not ours: cannot be sampled from here
      kindOf.set(r.address, i.kind);
      if (i.kind === 'redis') {
        const c: RedisInstanceConfig = { host: i.host, port: i.port, address: r.address, cluster: r.cluster, group: '' };
        if (r.user !== undefined) c.user = r.user;
        if (r.password !== undefined) c.password = r.password;
        redis.push(c);
      } else if (i.kind === 'sentinel') {
        sentinels.push(r.address);
        sentinelPasswords.set(r.address, r.password);
      } else if (i.kind === 'nutcracker') {
        const t: ProxyConfig = {
          kind: 'twemproxy',
          statsAddress: i.statsAddress,
          name: '',
          statsIntervalMs: parseNutcrackerStatsInterval(i.argv),
          timeoutMs: this.timeoutMs,
        };
        const cf = resolveProcPath(i.pid, i.configFile);
        if (cf) t.configFile = cf;
        proxies.push(t);
      } else if (i.kind === 'codis-proxy' && i.adminAddress) {
        const c: ProxyConfig = { kind: 'codis', adminAddress: i.adminAddress, name: '', timeoutMs: this.timeoutMs };
        if (i.productName) c.productName = i.productName;
        // A credentials rule matching the proxy (by port or product) gives its product auth.
        if (r.password !== undefined) c.productAuth = r.password;
        proxies.push(c);
      } else if (i.kind === 'codis-dashboard' && i.adminAddress) {
        // GET /topom of a full product is ~200 KB of JSON: at short intervals allow it 2 s anyway.
        const d: DashboardConfig = { adminAddress: i.adminAddress, name: '', timeoutMs: Math.max(2000, this.timeoutMs) };
        if (i.productName) d.productName = i.productName;
        dashboards.push(d);
      }
    }
    const change = this.targets.setDiscovered(redis, proxies, dashboards);
    this.targets.setDiscoveredSentinels(sentinelPasswords);
    const now = Date.now();
    for (const a of change.added)
      this.pending.push({
        timestampMs: now,
        kind: 'discovery.added',
        instance: a,
        message: `found a local ${kindOf.get(a) ?? 'process'}`,
        attrs: { kind: kindOf.get(a) ?? '' },
      });
    for (const a of change.removed)
      this.pending.push({ timestampMs: now, kind: 'discovery.removed', instance: a, message: 'no longer found on this host', attrs: {} });
    const newSentinels = sentinels.filter((s) => !this.sentinels.includes(s));
    for (const s of newSentinels)
      this.pending.push({
        timestampMs: now,
        kind: 'discovery.added',
        instance: s,
        message: 'found a local sentinel',
        attrs: { kind: 'sentinel' },
      });
    this.sentinels = sentinels;
    this.logger.info(
      {
        redis: redis.length,
        proxies: proxies.length,
        sentinels: sentinels.length,
        added: change.added,
        removed: change.removed,
        scanMs: Math.round(scan.stats.wallMs * 100) / 100,
        permissionDenied: scan.stats.permissionDenied,
      },
      'discovery scan',
    );
  }
}

export function discoveryInput(ctx: InputContext): Input | undefined {
  if (!ctx.config.discovery.enabled || !ctx.targets) return undefined;
  return new DiscoveryInput(ctx.config, ctx.logger, ctx.targets);
}
