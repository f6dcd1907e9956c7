// Input "proxies": every configured codis-proxy (admin HTTP API) and twemproxy (stats
// port) polled concurrently each tick. A twemproxy is read no faster than its stats
// interval: ticks in between add nothing for it. A proxy that does not answer is a
// sample with up=false and one proxy.down event, never an input failure.
import fs from 'node:fs';
import { OnceLog, type Logger } from '../../common/index.js';
import { valueOf, type ProxySample } from '../../proto/index.js';
import { CodisProxyPoller, parseNutcrackerConfig, TwemproxyPoller, type NutcrackerPoolConfig } from '../../proxy/index.js';
import type { Accumulator } from '../accumulator.js';
import type { ProxyConfig } from '../config.js';
import { Targets } from '../targets.js';
import type { Input, InputContext } from './input.js';

interface PolledProxy {
  config: ProxyConfig;
  address: string;
  /** The sample of this tick, or undefined when there is nothing new (twemproxy between stats intervals). */
  poll(): Promise<ProxySample | undefined>;
}

export class ProxiesInput implements Input {
  readonly name = 'proxies';
  private proxies: PolledProxy[];
  private readonly once = new OnceLog();
  private readonly downSince = new Map<string, number>();
  private readonly logger: Logger;
  private readonly targets: Targets;
  private generation: number;

  constructor(ctx: InputContext) {
    this.logger = ctx.logger.child({ input: 'proxies' });
    this.targets = ctx.targets ?? new Targets(ctx.config.redis, ctx.config.proxies);
    this.generation = this.targets.generation;
    this.proxies = this.targets.proxies.map((c) => this.polled(c));
  }

  private polled(c: ProxyConfig): PolledProxy {
    return c.kind === 'codis' ? this.codis(c) : this.twemproxy(c);
  }

  /**
   * Pollers for proxies that appeared (discovery), none for those that went away. One that goes
   * away while down gets its proxy.up: nothing else would resolve the alert its proxy.down raised.
   */
  private sync(acc: Accumulator): void {
    if (this.generation === this.targets.generation) return;
    this.generation = this.targets.generation;
    const have = new Map(this.proxies.map((p) => [p.address, p]));
    this.proxies = this.targets.proxies.map((c) => have.get(c.kind === 'codis' ? c.adminAddress : c.statsAddress) ?? this.polled(c));
    const now = new Set(this.proxies.map((p) => p.address));
    const at = Date.now();
    for (const [a, p] of have) {
      if (now.has(a)) continue;
      const since = this.downSince.get(a);
      if (since !== undefined) {
        this.downSince.delete(a);
        const kind = p.config.kind;
        acc.addEvent('proxy.up', a, 'proxy no longer sampled', { kind, downMs: String(at - since), sampled: 'false' }, at);
        this.logger.info({ proxy: a, kind }, 'proxy no longer sampled while not answering');
      }
      this.once.clear(`state:${a}`);
    }
  }

  private codis(c: Extract<ProxyConfig, { kind: 'codis' }>): PolledProxy {
    const poller = new CodisProxyPoller({
      adminAddress: c.adminAddress,
      productName: c.productName,
      productAuth: c.productAuth,
      timeoutMs: c.timeoutMs,
      maxClients: c.maxClients,
    });
    return {
      config: c,
      address: c.adminAddress,
      poll: async () => {
        const s = await poller.poll();
        return c.name ? { ...s, name: c.name } : s;
      },
    };
  }

  private twemproxy(c: Extract<ProxyConfig, { kind: 'twemproxy' }>): PolledProxy {
    let pools: NutcrackerPoolConfig[] | undefined;
    if (c.configFile) {
      try {
        pools = parseNutcrackerConfig(fs.readFileSync(c.configFile, 'utf8'));
      } catch (err) {
        // Without the pool config ejection is "since start" instead of "out of the ring now".
        this.logger.warn(
          { proxy: c.statsAddress, configFile: c.configFile, error: (err as Error).message },
          'nutcracker config unreadable; ejected = ever ejected',
        );
      }
    }
    const poller = new TwemproxyPoller({
      address: c.statsAddress,
      statsIntervalMs: c.statsIntervalMs,
      timeoutMs: c.timeoutMs,
      name: c.name || undefined,
      pools,
    });
    return {
      config: c,
      address: c.statsAddress,
      poll: async () => {
        const p = await poller.poll();
        return p.fresh ? p.sample : undefined;
      },
    };
  }

  async gather(acc: Accumulator): Promise<void> {
    this.sync(acc);
    const samples = await Promise.all(this.proxies.map((p) => p.poll()));
    for (let n = 0; n < samples.length; n++) {
      const s = samples[n];
      if (!s) continue;
      acc.addProxy(s);
      this.noteState(acc, s);
      if (s.kind === 'twemproxy') this.noteEjections(acc, s);
    }
  }

  private noteState(acc: Accumulator, s: ProxySample): void {
    const now = Date.now();
    const key = `state:${s.address}`;
    if (!s.up) {
      if (!this.downSince.has(s.address)) {
        this.downSince.set(s.address, now);
        acc.addEvent('proxy.down', s.address, s.error, { kind: s.kind }, now);
      }
      if (this.once.enter(key, s.error)) this.logger.warn({ proxy: s.address, kind: s.kind, error: s.error }, 'proxy not answering');
      return;
    }
    const since = this.downSince.get(s.address);
    if (since !== undefined) {
      this.downSince.delete(s.address);
      acc.addEvent('proxy.up', s.address, 'proxy answers again', { kind: s.kind, downMs: String(now - since) }, now);
      this.once.clear(key);
      this.logger.info({ proxy: s.address, kind: s.kind }, 'proxy answering again');
    }
  }

  /** A backend newly ejected since the previous read is an event (the counters only say "some"). */
  private noteEjections(acc: Accumulator, s: ProxySample): void {
    for (const it of s.items) {
      if (it.kind !== 'server' || valueOf(it.fields.newly_ejected) !== 1) continue;
      const at = Number(valueOf(it.fields.ejected_at_ms) ?? Date.now());
      acc.addEvent(
        'proxy.server_ejected',
        s.address,
        `${it.tags.pool}/${it.tags.server} ejected`,
        {
          pool: it.tags.pool ?? '',
          server: it.tags.server ?? '',
          address: String(valueOf(it.fields.address) ?? ''),
        },
        at || Date.now(),
      );
    }
  }
}

export function proxiesInput(ctx: InputContext): Input | undefined {
  return ctx.config.proxies.length > 0 || ctx.config.discovery.enabled ? new ProxiesInput(ctx) : undefined;
}
