// Input "dashboards": every configured or discovered codis-dashboard polled concurrently
// each tick (one GET /topom each). A dashboard that does not answer is a sample with up=false and
// one dashboard.down event, never an input failure; misconfiguration is logged once.
import { OnceLog, type Logger } from '../../common/index.js';
import { valueOf } from '../../proto/index.js';
import { CodisDashboardPoller } from '../../proxy/index.js';
import type { Accumulator } from '../accumulator.js';
import type { DashboardConfig } from '../config.js';
import { Targets, type CodisMembership } from '../targets.js';
import type { Input, InputContext } from './input.js';

export class DashboardsInput implements Input {
  readonly name = 'dashboards';
  private pollers: CodisDashboardPoller[];
  private generation: number;
  private readonly once = new OnceLog();
  private readonly downSince = new Map<string, number>();
  private readonly logger: Logger;
  private readonly targets: Targets;

  constructor(ctx: InputContext) {
    this.targets = ctx.targets ?? new Targets(ctx.config.redis, ctx.config.proxies, ctx.config.dashboards);
    this.logger = ctx.logger.child({ input: 'dashboards' });
    this.generation = this.targets.generation;
    this.pollers = this.targets.dashboards.map((d) => this.poller(d));
  }

  private poller(d: DashboardConfig): CodisDashboardPoller {
    return new CodisDashboardPoller({
      adminAddress: d.adminAddress,
      productName: d.productName,
      name: d.name || undefined,
      timeoutMs: d.timeoutMs,
    });
  }

  /**
   * Pollers for dashboards discovery found (kept, with their stall clock, while still there). One
   * that goes away while down gets its dashboard.up: nothing else would resolve the alert its
   * dashboard.down raised.
   */
  private sync(acc: Accumulator): void {
    if (this.generation === this.targets.generation) return;
    this.generation = this.targets.generation;
    const have = new Map(this.pollers.map((p) => [p.options.adminAddress, p]));
    this.pollers = this.targets.dashboards.map((d) => have.get(d.adminAddress) ?? this.poller(d));
    const now = new Set(this.pollers.map((p) => p.options.adminAddress));
    const at = Date.now();
    for (const [a, p] of have) {
      if (now.has(a)) continue;
      const since = this.downSince.get(a);
      if (since !== undefined) {
        this.downSince.delete(a);
        const product = p.options.productName ?? '';
        acc.addEvent('dashboard.up', a, 'dashboard no longer sampled', { product, downMs: String(at - since), sampled: 'false' }, at);
        this.logger.info({ dashboard: a }, 'codis-dashboard no longer sampled while not answering');
      }
      this.once.clear(`down:${a}`);
      this.once.clear(`misconfigured:${a}`);
    }
  }

  async gather(acc: Accumulator): Promise<void> {
    this.sync(acc);
    const samples = await Promise.all(this.pollers.map((p) => p.poll()));
    const now = Date.now();
    // Discovered codis-servers get the group the dashboard puts them in.
    if (samples.some((s) => s.up)) {
      const servers: CodisMembership[] = samples.flatMap((s) =>
        s.items
          .filter((i) => i.kind === 'server')
          .map((i) => ({ address: i.tags.server ?? '', product: s.product, group: i.tags.group ?? '' })),
      );
      this.targets.setCodisMembership(servers);
    }
    for (const s of samples) {
      acc.addDashboard(s);
      const key = s.address;
      if (!s.up) {
        if (!this.downSince.has(key)) {
          this.downSince.set(key, now);
          acc.addEvent('dashboard.down', key, s.error, { product: s.product }, now);
        }
        if (this.once.enter(`down:${key}`, s.error)) this.logger.warn({ dashboard: key, error: s.error }, 'codis-dashboard not answering');
        continue;
      }
      const since = this.downSince.get(key);
      if (since !== undefined) {
        this.downSince.delete(key);
        this.once.clear(`down:${key}`);
        acc.addEvent('dashboard.up', key, 'dashboard answers again', { product: s.product, downMs: String(now - since) }, now);
        this.logger.info({ dashboard: key }, 'codis-dashboard answering again');
      }
      const reason = valueOf(s.fields.misconfigured_reason);
      if (reason !== undefined) {
        if (this.once.enter(`misconfigured:${key}`, String(reason)))
          this.logger.warn({ dashboard: key, reason }, 'codis-dashboard misconfigured');
      } else {
        this.once.clear(`misconfigured:${key}`);
      }
    }
  }
}

export function dashboardsInput(ctx: InputContext): Input | undefined {
  return ctx.config.dashboards.length > 0 || (ctx.config.discovery.enabled && ctx.config.roles.includes('dashboard'))
    ? new DashboardsInput(ctx)
    : undefined;
}
