// The latest sample of every proxy (codis-proxy, twemproxy) per host, from its agent's reports
// (in memory: back with the next report after a collector restart), and GET /api/v1/proxies.
// A twemproxy's sample is only in the reports that read its stats port, so the latest is kept
// until the host's agent stops listing proxies altogether.
import type { FastifyInstance } from 'fastify';
import { valueOf, type ProxySample, type Report, type Value } from '../proto/index.js';
import type { FleetState } from './state.js';

interface Latest {
  host: string;
  receivedAt: number;
  reportTimeMs: number;
  sample: ProxySample;
}

/** A fields map as plain values, keys sorted (also used by codis-view.ts). */
export const plain = (f: Record<string, Value>): Record<string, number | string> => {
  const out: Record<string, number | string> = {};
  for (const k of Object.keys(f).sort()) {
    const v = valueOf(f[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
};

export class ProxyViews {
  /** host → proxy address → latest */
  private readonly latest = new Map<string, Map<string, Latest>>();

  update(hostId: string, r: Report, now = Date.now()): void {
    if (!r.proxies.length) {
      // A tick between twemproxy stats reads carries none: keep what the host last sent.
      return;
    }
    let m = this.latest.get(hostId);
    if (!m) this.latest.set(hostId, (m = new Map()));
    for (const s of r.proxies) m.set(s.address, { host: hostId, receivedAt: now, reportTimeMs: r.timestampMs, sample: s });
  }

  all(): Latest[] {
    return [...this.latest.values()]
      .flatMap((m) => [...m.values()])
      .sort((a, b) => a.host.localeCompare(b.host) || a.sample.address.localeCompare(b.sample.address));
  }
}

function proxyView(l: Latest, status: string) {
  const s = l.sample;
  const items: Record<string, { tags: Record<string, string>; fields: Record<string, number | string> }[]> = {};
  for (const it of s.items) (items[it.kind] ??= []).push({ tags: it.tags, fields: plain(it.fields) });
  return {
    host: l.host,
    hostStatus: status,
    kind: s.kind,
    address: s.address,
    name: s.name,
    up: s.up,
    error: s.error || null,
    sampledAt: new Date(l.reportTimeMs).toISOString(),
    fields: plain(s.fields),
    items,
  };
}

interface ProxiesQuery {
  host?: string;
  kind?: 'codis' | 'twemproxy';
  up?: boolean;
}

/** GET /api/v1/proxies[?host=&kind=&up=]: the latest sample of every proxy the agents poll. */
export function registerProxyRoutes(app: FastifyInstance, deps: { state: FleetState; views: ProxyViews }): void {
  app.get<{ Querystring: ProxiesQuery }>(
    '/api/v1/proxies',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            host: { type: 'string', minLength: 1, maxLength: 512 },
            kind: { enum: ['codis', 'twemproxy'] },
            up: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => {
      const now = Date.now();
      const q = req.query;
      const proxies = deps.views
        .all()
        .filter(
          (l) =>
            (q.host === undefined || l.host === q.host) &&
            (q.kind === undefined || l.sample.kind === q.kind) &&
            (q.up === undefined || l.sample.up === q.up),
        )
        .map((l) => {
          const h = deps.state.host(l.host);
          return proxyView(l, h ? deps.state.statusOf(h, now) : 'down');
        });
      return { proxies };
    },
  );
}
