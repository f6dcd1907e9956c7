// Input "sentinels": subscribes to every Sentinel the agent knows (sentinels[], discovered on
// this host) and samples them each tick. Sentinel's own events become agent events
// `sentinel.<channel>` (+switch-master, +sdown, +odown, +failover-end, -failover-abort-*, +tilt);
// the guard forwards the events of its own Sentinels itself, so those are not watched twice.
import type { Logger } from '../../common/index.js';
import { SentinelSampler, SentinelWatch, type SamplerTarget, type SentinelEvent } from '../../sentinel/index.js';
import type { Accumulator } from '../accumulator.js';
import type { AgentConfig } from '../config.js';
import { Targets } from '../targets.js';
import type { Input, InputContext } from './input.js';

const MAX_PENDING = 1000;

export class SentinelsInput implements Input {
  readonly name = 'sentinels';
  private readonly sampler: SentinelSampler;
  private readonly watch: SentinelWatch;
  private readonly targets: Targets;
  private readonly logger: Logger;
  private readonly pending: SentinelEvent[] = [];
  private readonly guarded: Set<string>;
  private passwords = new Map<string, string | undefined>();
  private generation = -1;

  constructor(
    private readonly config: AgentConfig,
    logger: Logger,
    targets: Targets,
  ) {
    this.logger = logger.child({ input: 'sentinels' });
    this.targets = targets;
    this.guarded = new Set(config.guard?.enabled ? config.guard.sentinels.addresses : []);
    // Short enough that the tick finishes within the interval, long enough for a busy host.
    const timeoutMs = Math.min(2000, Math.max(500, config.intervalMs));
    this.sampler = new SentinelSampler([], { timeoutMs });
    this.watch = new SentinelWatch([], {
      connectionName: 'redis-fleet-agent-watch',
      passwordFor: (a) => this.passwords.get(a),
      onEvent: (e) => {
        if (this.pending.length >= MAX_PENDING) this.pending.shift();
        this.pending.push(e);
      },
    });
    this.sync();
  }

  /**
   * The Sentinels to watch and sample: configured and discovered (configured entries win). The
   * guard's own Sentinels are left to the guard (it watches them and asks them every loop); list
   * them in sentinels[] too to sample them.
   */
  private sync(): void {
    if (this.generation === this.targets.sentinelGeneration) return;
    this.generation = this.targets.sentinelGeneration;
    const list: SamplerTarget[] = [];
    const seen = new Set<string>();
    const add = (t: SamplerTarget): void => {
      if (seen.has(t.address)) return;
      seen.add(t.address);
      list.push(t);
    };
    for (const s of this.config.sentinels) add({ address: s.address, discovered: false, password: s.password });
    for (const [a, password] of this.targets.discoveredSentinels) add({ address: a, discovered: true, password });
    this.passwords = new Map(list.map((t) => [t.address, t.password]));
    this.sampler.setTargets(list);
    this.watch.setAddresses(list.map((t) => t.address).filter((a) => !this.guarded.has(a)));
    this.logger.debug({ sentinels: list.map((t) => t.address) }, 'sentinels to watch');
  }

  async start(): Promise<void> {
    await this.watch.start();
  }

  async gather(acc: Accumulator): Promise<void> {
    this.sync();
    for (const e of this.pending.splice(0)) {
      acc.addEvent(`sentinel.${e.channel}`, e.instance, `${e.channel} ${e.payload}`, { sentinel: e.sentinel, ...e.attrs }, e.timestampMs);
    }
    for (const s of await this.sampler.sample(acc.deadlineMs)) acc.addSentinel(s);
  }

  async stop(): Promise<void> {
    this.watch.stop();
    this.sampler.close();
  }
}

export function sentinelsInput(ctx: InputContext): Input | undefined {
  const { config } = ctx;
  if (config.sentinels.length === 0 && !config.discovery.enabled) return undefined;
  return new SentinelsInput(config, ctx.logger, ctx.targets ?? new Targets(config.redis, config.proxies));
}
