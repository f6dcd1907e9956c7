// Input "redis": every configured instance sampled concurrently each tick over its own
// persistent connection. A down instance is a sample with up=false (and an event when
// it changes), never an input failure.
import { OnceLog, type Logger } from '../../common/index.js';
import type { Accumulator } from '../accumulator.js';
import { RedisInstance, type InstanceOptions } from '../redis/instance.js';
import { Targets } from '../targets.js';
import type { Input, InputContext } from './input.js';

/** CONFIG GET maxmemory/maxclients runs at (re)connect and then every this many ticks. */
export const CONFIG_EVERY_TICKS = 30;

export class RedisInput implements Input {
  readonly name = 'redis';
  private instances: RedisInstance[];
  private readonly once = new OnceLog();
  private readonly downSince = new Map<string, number>();
  private readonly logger: Logger;
  private readonly targets: Targets;
  private readonly instanceOptions: InstanceOptions;
  private generation: number;
  private started = false;

  constructor(ctx: InputContext) {
    this.logger = ctx.logger.child({ input: 'redis' });
    this.targets = ctx.targets ?? new Targets(ctx.config.redis, ctx.config.proxies);
    // Short enough that the tick finishes within the interval, long enough for a busy host.
    const timeoutMs = Math.min(2000, Math.max(500, ctx.config.intervalMs));
    this.instanceOptions = { timeoutMs, configEveryTicks: CONFIG_EVERY_TICKS, maxReconnectDelayMs: 2000 };
    this.generation = this.targets.generation;
    this.instances = this.targets.redis.map((cfg) => new RedisInstance(cfg, this.instanceOptions));
  }

  async start(): Promise<void> {
    this.started = true;
    for (const i of this.instances) i.start();
  }

  /** Opens connections to targets that appeared, closes those of targets that went away. */
  private sync(): void {
    if (this.generation === this.targets.generation) return;
    this.generation = this.targets.generation;
    const wanted = new Map(this.targets.redis.map((c) => [c.address, c]));
    const next: RedisInstance[] = [];
    for (const i of this.instances) {
      if (wanted.has(i.address)) {
        next.push(i);
        wanted.delete(i.address);
      } else {
        i.stop();
        this.downSince.delete(i.address);
        this.once.clear(`state:${i.address}`);
      }
    }
    for (const cfg of wanted.values()) {
      const i = new RedisInstance(cfg, this.instanceOptions);
      if (this.started) i.start();
      next.push(i);
    }
    this.instances = next;
  }

  async stop(): Promise<void> {
    for (const i of this.instances) i.stop();
  }

  async gather(acc: Accumulator): Promise<void> {
    this.sync();
    const samples = await Promise.all(this.instances.map((i) => i.sampleBy(acc.deadlineMs)));
    for (let n = 0; n < samples.length; n++) {
      const s = samples[n]!;
      const inst = this.instances[n]!;
      acc.addRedis(s);
      this.noteState(acc, s.address, s.up, s.error, s.sampledAtMs);
      if (s.up) {
        this.noteConfig(inst);
        this.noteSlowlog(inst);
      }
    }
  }

  private noteState(acc: Accumulator, address: string, up: boolean, error: string, atMs: number): void {
    const key = `state:${address}`;
    if (!up) {
      const wasDown = this.downSince.has(address);
      if (!wasDown) {
        this.downSince.set(address, atMs);
        acc.addEvent('instance.down', address, error, {}, atMs);
      }
      // Logged once when it goes down; a changed reason while down is only worth a debug line.
      if (this.once.enter(key, error)) {
        if (wasDown) this.logger.debug({ instance: address, error }, 'instance still down, reason changed');
        else this.logger.warn({ instance: address, error }, 'instance down');
      }
      return;
    }
    const since = this.downSince.get(address);
    if (since !== undefined) {
      this.downSince.delete(address);
      const downMs = Math.max(0, atMs - since);
      acc.addEvent('instance.up', address, 'instance answers again', { downMs: String(downMs) }, atMs);
      this.once.clear(key);
      this.logger.info({ instance: address, downMs }, 'instance up');
    }
  }

  private noteSlowlog(inst: RedisInstance): void {
    const key = `slowlog:${inst.address}`;
    const error = inst.slowlogError;
    if (error !== undefined) {
      if (this.once.enter(key, 'refused'))
        this.logger.warn({ instance: inst.address, error }, 'SLOWLOG refused; slowlog entries unavailable');
    } else if (this.once.clear(key)) {
      this.logger.info({ instance: inst.address }, 'SLOWLOG works again');
    }
  }

  private noteConfig(inst: RedisInstance): void {
    const key = `config:${inst.address}`;
    const state = inst.config;
    if (state.kind === 'refused') {
      if (this.once.enter(key, 'refused')) {
        this.logger.warn({ instance: inst.address, error: state.error }, 'CONFIG GET refused; maxmemory/maxclients taken from INFO');
      }
    } else if (state.kind === 'ok' && this.once.clear(key)) {
      this.logger.info({ instance: inst.address }, 'CONFIG GET works again');
    }
  }
}

export function redisInput(ctx: InputContext): Input | undefined {
  return ctx.config.redis.length > 0 || ctx.config.roles.includes('redis') || ctx.config.discovery.enabled
    ? new RedisInput(ctx)
    : undefined;
}
