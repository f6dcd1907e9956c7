// The latest codis-dashboard sample of every dashboard each host polls (in memory: back with the
// next report after a collector restart), and its HTTP views: GET /api/v1/codis (per product:
// the dashboard, its groups and servers, the migration queue, Sentinels and proxies) and the
// `codis` block of GET /api/v1/hosts/:id.
import type { FastifyInstance } from 'fastify';
import { fieldReader, type DashboardSample, type ProxyItem, type Report } from '../proto/index.js';
import { plain } from './proxy-view.js';
import type { FleetState } from './state.js';

interface Latest {
  host: string;
  receivedAt: number;
  reportTimeMs: number;
  sample: DashboardSample;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class CodisViews {
  /** host → dashboard address → latest */
  private readonly latest = new Map<string, Map<string, Latest>>();

  update(hostId: string, r: Report, now = Date.now()): void {
    const ds = r.dashboards ?? [];
    if (!ds.length) {
      this.latest.delete(hostId);
      return;
    }
    const m = new Map<string, Latest>();
    for (const s of ds) m.set(s.address, { host: hostId, receivedAt: now, reportTimeMs: r.timestampMs, sample: s });
    this.latest.set(hostId, m);
  }

  all(): Latest[] {
    return [...this.latest.values()]
      .flatMap((m) => [...m.values()])
      .sort(
        (a, b) =>
          a.sample.product.localeCompare(b.sample.product) ||
          a.sample.address.localeCompare(b.sample.address) ||
          a.host.localeCompare(b.host),
      );
  }

  /** What GET /api/v1/hosts/:id shows of the dashboards this host polls (null when none). */
  hostBlock(hostId: string): ReturnType<typeof dashboardView>[] | null {
    const m = this.latest.get(hostId);
    return m ? [...m.values()].map((l) => dashboardView(l, 'up')) : null;
  }
}

function dashboardView(l: Latest, hostStatus: string) {
  const s = l.sample;
  const f = fieldReader(s.fields);
  return {
    host: l.host,
    hostStatus,
    address: s.address,
    name: s.name,
    product: s.product,
    up: s.up,
    error: s.error || null,
    misconfigured: f.flag('misconfigured'),
    misconfiguredReason: f.str('misconfigured_reason'),
    version: f.str('version'),
    sampledAt: iso(l.reportTimeMs),
  };
}

const byKind = (items: ProxyItem[], kind: string) => items.filter((i) => i.kind === kind);

/** One product as its (freshest) dashboard sample describes it. */
function clusterView(l: Latest, all: Latest[], statusOf: (host: string) => string) {
  const s = l.sample;
  const f = fieldReader(s.fields);
  const servers = byKind(s.items, 'server');
  return {
    product: s.product,
    dashboards: all.map((d) => dashboardView(d, statusOf(d.host))),
    groups: byKind(s.items, 'group')
      .map((g) => ({
        id: Number(g.tags.group),
        ...plain(g.fields),
        servers: servers.filter((x) => x.tags.group === g.tags.group).map((x) => ({ address: x.tags.server, ...plain(x.fields) })),
      }))
      .sort((a, b) => a.id - b.id),
    migration: {
      queue: f.num('migration_queue'),
      pending: f.num('migration_pending'),
      preparing: f.num('migration_preparing'),
      prepared: f.num('migration_prepared'),
      migrating: f.num('migration_migrating'),
      finished: f.num('migration_finished'),
      disabled: f.flag('migration_disabled'),
      progress: f.str('migration_progress'),
      stalledSeconds: f.num('migration_stalled_seconds'),
    },
    slots: { assigned: f.num('slots_assigned'), unassigned: f.num('slots_unassigned') },
    proxies: byKind(s.items, 'proxy').map((p) => ({ address: p.tags.proxy, ...plain(p.fields) })),
    sentinels: byKind(s.items, 'sentinel').map((x) => ({ address: x.tags.sentinel, ...plain(x.fields) })),
  };
}

/** GET /api/v1/codis[?product=]: every Codis product the agents' dashboards describe. */
export function registerCodisRoutes(app: FastifyInstance, deps: { state: FleetState; views: CodisViews }): void {
  app.get<{ Querystring: { product?: string } }>(
    '/api/v1/codis',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { product: { type: 'string', minLength: 1, maxLength: 512 } },
        },
      },
    },
    async (req) => {
      const now = Date.now();
      const statusOf = (host: string) => {
        const h = deps.state.host(host);
        return h ? deps.state.statusOf(h, now) : 'down';
      };
      const byProduct = new Map<string, Latest[]>();
      for (const l of deps.views.all()) {
        const key = l.sample.product || l.sample.address;
        if (req.query.product !== undefined && key !== req.query.product) continue;
        byProduct.set(key, [...(byProduct.get(key) ?? []), l]);
      }
      const clusters = [...byProduct.values()].map((ls) => {
        // The freshest answering sample describes the product; a down dashboard only lists itself.
        const best = [...ls].sort((a, b) => Number(b.sample.up) - Number(a.sample.up) || b.reportTimeMs - a.reportTimeMs)[0]!;
        return clusterView(best, ls, statusOf);
      });
      return { clusters };
    },
  );
}
