// Input "dashboards": every configured codis-dashboard polled concurrently each tick
// (one GET /topom each). A dashboard that does not answer is a sample with up=false and
// one dashboard.down event, never an input failure; misconfiguration is logged once.
import { OnceLog, type Logger } from '../../common/index.js';
import { valueOf } from '../../proto/index.js';
import { CodisDashboardPoller } from '../../proxy/index.js';
import type { Accumulator } from '../accumulator.js';
import type { CodisMembership, Targets } from '../targets.js';
import type { Input, InputContext } from './input.js';

export class DashboardsInput implements Input {
  readonly name = 'dashboards';
  private readonly pollers: CodisDashboardPoller[];
  private readonly once = new OnceLog();
  private readonly downSince = new Map<string, number>();
  private readonly logger: Logger;
  private readonly targets: Targets | undefined;

  constructor(ctx: InputContext) {
    this.targets = ctx.targets;
    this.logger = ctx.logger.child({ input: 'dashboards' });
    this.pollers = ctx.config.dashboards.map((d) => new CodisDashboardPoller({
      adminAddress: d.adminAddress, productName: d.productName, name: d.name || undefined, timeoutMs: d.timeoutMs,
    }));
  }

  async gather(acc: Accumulator): Promise<void> {
    const samples = await Promise.all(this.pollers.map((p) => p.poll()));
    const now = Date.now();
    // Discovered codis-servers get the group the dashboard puts them in.
    if (this.targets && samples.some((s) => s.up)) {
      const servers: CodisMembership[] = samples.flatMap((s) => s.items.filter((i) => i.kind === 'server')
        .map((i) => ({ address: i.tags.server ?? '', product: s.product, group: i.tags.group ?? '' })));
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
        if (this.once.enter(`misconfigured:${key}`, String(reason))) this.logger.warn({ dashboard: key, reason }, 'codis-dashboard misconfigured');
      } else {
        this.once.clear(`misconfigured:${key}`);
      }
    }
  }
}

export function dashboardsInput(ctx: InputContext): Input | undefined {
  return ctx.config.dashboards.length > 0 ? new DashboardsInput(ctx) : undefined;
}
