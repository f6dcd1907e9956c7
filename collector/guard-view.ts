// The latest sentinel-guard state of every host (from its agent's reports; in memory, back with
// the next report after a collector restart) and its HTTP views: the `guard` block of
// GET /api/v1/hosts/:id and GET /api/v1/guard (?host=, ?fenced=true for fenced instances only).
// Fence and restore history is in the `event` measurement (kind guard.*, sentinel.*).
import type { FastifyInstance } from 'fastify';
import { fieldReader, splitInstanceFields, type GuardState, type Report } from '../proto/index.js';
import type { FleetState } from './state.js';

interface Latest {
  receivedAt: number;
  reportTimeMs: number;
  state: GuardState;
}

export class GuardViews {
  private readonly latest = new Map<string, Latest>();

  update(hostId: string, r: Report, now = Date.now()): void {
    if (r.guard) this.latest.set(hostId, { receivedAt: now, reportTimeMs: r.timestampMs, state: r.guard });
    else this.latest.delete(hostId);
  }

  hostIds(): string[] {
    return [...this.latest.keys()].sort();
  }

  hostBlock(hostId: string): ReturnType<typeof guardBlock> | null {
    const l = this.latest.get(hostId);
    return l ? guardBlock(l) : null;
  }
}

const iso = (ms: number | null): string | null => (ms ? new Date(ms).toISOString() : null);

function guardBlock(l: Latest) {
  const { host, instances } = splitInstanceFields(l.state);
  const h = fieldReader(host);
  return {
    reportedAt: iso(l.reportTimeMs),
    zookeeper: {
      state: l.state.zkState,
      since: iso(h.num('zk_since_ms')),
      consecutiveFailures: h.num('zk_consecutive_failures'),
      lastOkAt: iso(h.num('zk_last_ok_ms')),
      lastError: h.str('zk_last_error'),
      clientsCreated: h.num('zk_clients_created'),
      workersStarted: h.num('zk_workers_started'),
      lastWorkerError: h.str('zk_last_worker_error'),
    },
    sentinels: {
      total: h.num('sentinels_total'),
      answeredLastRound: h.num('sentinels_answered'),
      lastRoundAt: iso(h.num('sentinel_round_ms')),
    },
    mode: h.str('mode'),
    loops: h.num('loops'),
    budget: { worstCaseFenceMs: h.num('budget_worst_case_ms'), limitMs: h.num('budget_limit_ms'), violation: h.str('budget_violation') },
    eventsDropped: h.num('events_dropped') ?? 0,
    instances: [...instances.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([address, f]) => {
        const r = fieldReader(f);
        const fenced = r.num('fenced') === 1;
        return {
          address,
          phase: r.str('phase'),
          role: r.str('seen_role'),
          fenced,
          fence: fenced ? { since: iso(r.num('fenced_since_ms')), reason: r.str('fence_reason'), mode: r.str('fence_mode') } : null,
          sentinelName: r.str('sentinel_name'),
          sentinelMaster: r.str('sentinel_master'),
          zkMaster: r.str('zk_master'),
          waitingFor: r.str('waiting_for'),
          error: r.str('error'),
        };
      }),
  };
}

export function registerGuardRoutes(app: FastifyInstance, deps: { state: FleetState; views: GuardViews }): void {
  app.get<{ Querystring: { host?: string; fenced?: boolean } }>(
    '/api/v1/guard',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { host: { type: 'string', minLength: 1, maxLength: 512 }, fenced: { type: 'boolean' } },
        },
      },
    },
    async (req) => {
      const now = Date.now();
      const hosts = [];
      let fencedTotal = 0;
      for (const id of deps.views.hostIds()) {
        if (req.query.host !== undefined && id !== req.query.host) continue;
        const block = deps.views.hostBlock(id)!;
        const fenced = block.instances.filter((i) => i.fenced).length;
        fencedTotal += fenced;
        if (req.query.fenced === true && fenced === 0) continue;
        const h = deps.state.host(id);
        const instances = req.query.fenced === true ? block.instances.filter((i) => i.fenced) : block.instances;
        hosts.push({ host: id, status: h ? deps.state.statusOf(h, now) : 'down', ...block, instances });
      }
      return { fencedInstances: fencedTotal, hosts };
    },
  );
}
