// The latest persistence-scheduler state of every host (from its agent's reports; in memory, so
// after a collector restart it is back with the next report) and its HTTP views:
// the `persistence` block of GET /api/v1/hosts/:id and GET /api/v1/persistence.
import type { FastifyInstance } from 'fastify';
import { parseQueueEntry, fieldReader, splitInstanceFields, type PersistenceState, type Report, type Value } from '../proto/index.js';
import type { FleetState } from './state.js';

interface Latest {
  receivedAt: number;
  reportTimeMs: number;
  state: PersistenceState;
}

export class PersistenceViews {
  private readonly latest = new Map<string, Latest>();

  /** Called with every report that is the host's newest; a report without a scheduler clears the host. */
  update(hostId: string, r: Report, now = Date.now()): void {
    if (r.persistence) this.latest.set(hostId, { receivedAt: now, reportTimeMs: r.timestampMs, state: r.persistence });
    else this.latest.delete(hostId);
  }

  hostIds(): string[] {
    return [...this.latest.keys()].sort();
  }

  /** The host's block, or null when its agent runs no persistence scheduler. */
  hostBlock(hostId: string): ReturnType<typeof persistenceBlock> | null {
    const l = this.latest.get(hostId);
    return l ? persistenceBlock(l) : null;
  }
}

const iso = (ms: number | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

function persistenceBlock(l: Latest) {
  const { host, instances } = splitInstanceFields(l.state);
  const h = fieldReader(host);
  const holder = l.state.tokenHolder || null;
  return {
    reportedAt: iso(l.reportTimeMs),
    tokenHolder: holder,
    token: holder
      ? {
          instance: holder,
          kind: h.str('token_kind'),
          origin: h.str('token_origin'),
          since: iso(h.num('token_since_ms') ?? 0),
          pending: h.flag('token_pending'),
        }
      : null,
    queue: (l.state.queue ?? []).map((e) => {
      const q = parseQueueEntry(e);
      return { kind: q.kind, instance: q.address };
    }),
    forksRunning: h.num('forks_running'),
    memAvailableBytes: h.num('mem_available_bytes'),
    loops: h.num('loops'),
    eventsDropped: h.num('events_dropped') ?? 0,
    instances: [...instances.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([address, f]) => instanceBlock(address, f)),
  };
}

function instanceBlock(address: string, f: Record<string, Value>) {
  const r = fieldReader(f);
  const managed = r.flag('managed');
  const reason = r.str('unmanaged_reason');
  return {
    address,
    management: managed ? 'managed' : reason === 'opt-out' ? 'opt-out' : 'unmanaged',
    unmanagedReason: reason,
    up: r.flag('up'),
    error: r.str('error'),
    policy: {
      save: r.str('policy_save'),
      aofRewritePercentage: r.num('policy_aof_rewrite_percentage'),
      aofRewriteMinSize: r.num('policy_aof_rewrite_min_size'),
      rdbBackups: r.flag('policy_rdb_backups'),
      source: r.str('policy_source'),
    },
    cowEstimateBytes: r.num('cow_estimate_bytes'),
    rdbChangesSinceLastSave: r.num('rdb_changes_since_last_save'),
    rdbLastSaveAt: iso(r.num('rdb_last_save_ms') ?? 0),
    aofGrowthPercent: r.num('aof_growth_percent'),
    queued: r.str('queued')?.split(',') ?? [],
    admissionBlocked: r.flag('admission_blocked'),
    running:
      r.str('running_kind') === null
        ? null
        : {
            kind: r.str('running_kind'),
            origin: r.str('running_origin'),
            since: iso(r.num('running_since_ms') ?? 0),
            cowBytes: r.num('running_cow_bytes'),
          },
    lastFork:
      r.str('last_fork_kind') === null
        ? null
        : {
            kind: r.str('last_fork_kind'),
            origin: r.str('last_fork_origin'),
            startedAt: iso(r.num('last_fork_started_ms') ?? 0),
            durationMs: r.num('last_fork_duration_ms'),
            cowBytes: r.num('last_fork_cow_bytes'),
            result: r.str('last_fork_result'),
            error: r.str('last_fork_error'),
          },
  };
}

/** GET /api/v1/persistence[?host=id]: every host's token holder, queue and per-instance last fork. */
export function registerPersistenceRoutes(app: FastifyInstance, deps: { state: FleetState; views: PersistenceViews }): void {
  app.get<{ Querystring: { host?: string } }>(
    '/api/v1/persistence',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { host: { type: 'string', minLength: 1, maxLength: 512 } },
        },
      },
    },
    async (req) => {
      const now = Date.now();
      const hosts = [];
      for (const id of deps.views.hostIds()) {
        if (req.query.host !== undefined && id !== req.query.host) continue;
        const h = deps.state.host(id);
        hosts.push({ host: id, status: h ? deps.state.statusOf(h, now) : 'down', ...deps.views.hostBlock(id)! });
      }
      return { hosts };
    },
  );
}
