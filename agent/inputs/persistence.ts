// Input "persistence": runs the host's persistence scheduler (agent/persistence/) on its own Redis
// connections, so a slow BGSAVE reply never delays a telemetry tick. Each tick it reports the
// scheduler's state (token holder, queue, per-instance last fork) and the events since the last
// tick (fork.start / fork.end / takeover / unmanaged / admission / floor).
import type { Logger } from '../../common/index.js';
import type { Accumulator } from '../accumulator.js';
import type { AgentPersistenceConfig } from '../config.js';
import { PersistenceScheduler, persistenceStateToProto } from '../persistence/index.js';
import type { Input, InputContext } from './input.js';

export class PersistenceInput implements Input {
  readonly name = 'persistence';
  private readonly scheduler: PersistenceScheduler;
  private readonly logger: Logger;
  private readonly settings: AgentPersistenceConfig;
  private droppedEvents = 0;

  constructor(ctx: InputContext) {
    this.logger = ctx.logger.child({ input: 'persistence' });
    this.settings = ctx.config.persistence;
    this.scheduler = new PersistenceScheduler({
      instances: ctx.config.redis.map((r) => ({
        address: r.address,
        host: r.host,
        port: r.port,
        user: r.user,
        password: r.password,
        optOut: r.persistence?.optOut,
        policyOverride: r.persistence?.policyOverride,
      })),
      config: this.settings.scheduler,
      logger: this.logger,
    });
  }

  async start(): Promise<void> {
    await this.scheduler.start();
    const st = this.scheduler.state();
    const managed = Object.entries(st.instances)
      .filter(([, s]) => s.managed)
      .map(([a]) => a);
    this.logger.info(
      {
        managed,
        unmanaged: Object.keys(st.instances).filter((a) => !managed.includes(a)),
        restoreTriggersOnStop: this.settings.restoreTriggersOnStop,
      },
      'persistence scheduler started',
    );
  }

  async gather(acc: Accumulator): Promise<void> {
    const { events, dropped } = this.scheduler.drainEvents();
    acc.events.push(...events);
    this.droppedEvents += dropped;
    const state = persistenceStateToProto(this.scheduler.state());
    if (this.droppedEvents) state.fields.events_dropped = { int: this.droppedEvents };
    acc.setPersistence(state);
  }

  async stop(): Promise<void> {
    const restoreTriggers = this.settings.restoreTriggersOnStop;
    await this.scheduler.stop({ restoreTriggers });
    this.logger.info(
      { restoreTriggers },
      restoreTriggers
        ? 'persistence scheduler stopped; save / AOF-rewrite triggers handed back to the instances'
        : 'persistence scheduler stopped; triggers stay off until the agent runs again',
    );
  }
}

export function persistenceInput(ctx: InputContext): Input | undefined {
  if (!ctx.config.persistence?.enabled) {
    if (ctx.config.redis.length) ctx.logger.info({ input: 'persistence' }, 'persistence scheduler off (persistence.enabled is not true)');
    return undefined;
  }
  if (ctx.config.redis.length === 0) return undefined;
  return new PersistenceInput(ctx);
}
