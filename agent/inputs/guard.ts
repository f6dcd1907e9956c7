// Input "guard": runs sentinel-guard on its own loop and connections (a probe every second,
// independent of the telemetry interval and of the collector being up). Each tick it reports
// the guard's state and the events since the last tick (guard.* and sentinel.*).
import type { Logger } from '../../common/index.js';
import type { Accumulator } from '../accumulator.js';
import { SentinelGuard, guardViewToProto } from '../../sentinel-guard/index.js';
import type { Input, InputContext } from './input.js';

export class GuardInput implements Input {
  readonly name = 'guard';
  private readonly guard: SentinelGuard;
  private readonly logger: Logger;
  private dropped = 0;

  constructor(ctx: InputContext) {
    this.logger = ctx.logger.child({ input: 'guard' });
    this.guard = new SentinelGuard(
      ctx.config.guard,
      ctx.config.redis.map((r) => ({
        address: r.address,
        host: r.host,
        port: r.port,
        user: r.user,
        password: r.password,
        cluster: r.cluster,
        group: r.group,
        options: r.guard,
      })),
      this.logger,
    );
  }

  async start(): Promise<void> {
    await this.guard.start();
  }

  async gather(acc: Accumulator): Promise<void> {
    const { events, dropped } = this.guard.drainEvents();
    acc.events.push(...events);
    this.dropped += dropped;
    acc.setGuard(guardViewToProto(this.guard.view(), this.dropped));
  }

  async stop(): Promise<void> {
    await this.guard.stop();
  }
}

export function guardInput(ctx: InputContext): Input | undefined {
  if (!ctx.config.guard?.enabled) return undefined;
  return new GuardInput(ctx);
}
