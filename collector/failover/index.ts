// Failovers as the fleet saw them: every agent's +switch-master and the promotions seen in
// samples folded into one `redis.failover` event per failover (the built-in RedisFailover fires
// on it), `redis.role_change` events, the failover log in SQLite and GET /api/v1/failovers.
import type { FastifyInstance } from 'fastify';
import type { Report } from '../../proto/index.js';
import { eventPoint, type Point, type PointSource } from '../points.js';
import type { Database } from '../sqlite.js';
import { FailoverFolder, FOLD_DEFAULTS, type Failover } from './fold.js';
import { FailoverStore } from './store.js';
import { ReplOffsets } from './offsets.js';

export { ReplOffsets, OFFSET_PAIR_MAX_AGE_MS } from './offsets.js';
export { FailoverFolder, FOLD_DEFAULTS, type Failover, type FoldResult, type RoleChange } from './fold.js';

const PRUNE_EVERY_MS = 3_600_000;
const iso = (ms: number | null): string | null => (ms ? new Date(ms).toISOString() : null);

export function failoverView(f: Failover) {
  return {
    id: f.id,
    at: iso(f.at),
    cluster: f.cluster,
    group: f.group,
    masterName: f.masterName,
    oldMaster: f.oldMaster,
    newMaster: f.newMaster,
    source: f.source,
    seenBy: f.seenBy,
    sentinelAt: iso(f.sentinelAt),
    roleChangeAt: iso(f.roleAt),
  };
}

/** The alert labels and event attributes of a failover. */
export function failoverAttrs(f: Failover): Record<string, string> {
  const a: Record<string, string> = { old: f.oldMaster, new: f.newMaster, when: iso(f.at)!, source: f.source };
  if (f.cluster) a.cluster = f.cluster;
  if (f.group) a.group = f.group;
  if (f.masterName) a.master = f.masterName;
  return a;
}

export class FailoverTracker {
  readonly store: FailoverStore;
  private readonly folder: FailoverFolder;
  private readonly offsets = new ReplOffsets();
  private lastPrune = 0;

  constructor(db: Database, now = Date.now()) {
    this.store = new FailoverStore(db);
    this.folder = new FailoverFolder(FOLD_DEFAULTS, this.store.list({ since: now - 2 * FOLD_DEFAULTS.windowMs, limit: 1000 }).reverse());
  }

  /** One agent report → the collector's points about it (new failovers, role changes, offset differences). */
  onReport(src: PointSource, r: Report, now = Date.now()): Point[] {
    const res = this.folder.onReport(src.hostId, r, now);
    const points: Point[] = this.offsets.onSamples(r.redis, now);
    for (const f of res.created) {
      this.store.add(f);
      const name = f.masterName || f.group || f.cluster || f.newMaster;
      // No host tag: a failover is the group's, whichever agents saw it.
      points.push(
        eventPoint(
          { hostId: '', labels: {} },
          'redis.failover',
          `failover of ${name}${f.cluster ? ` (cluster ${f.cluster})` : ''}: ${f.oldMaster || '?'} → ${f.newMaster}`,
          f.at,
          failoverAttrs(f),
        ),
      );
    }
    for (const f of res.updated) if (!res.created.includes(f)) this.store.save(f);
    for (const c of res.roleChanges) {
      const p = eventPoint(src, 'redis.role_change', `${c.address} ${c.from} → ${c.to}${c.master ? ` of ${c.master}` : ''}`, c.at, {
        from: c.from,
        to: c.to,
        ...(c.cluster ? { cluster: c.cluster } : {}),
        ...(c.group ? { group: c.group } : {}),
        ...(c.master ? { master: c.master } : {}),
      });
      p.tags.instance = c.address;
      points.push(p);
    }
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.store.pruneOld(now);
    }
    return points;
  }
}

/** GET /api/v1/failovers?since=&cluster=&limit= (newest first). */
export function registerFailoverRoutes(app: FastifyInstance, tracker: FailoverTracker): void {
  app.get('/api/v1/failovers', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    let since: number | undefined;
    if (q.since !== undefined) {
      since = /^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since);
      if (!Number.isFinite(since)) return reply.code(400).send({ error: 'since: must be unix milliseconds or an ISO 8601 time' });
    }
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      return reply.code(400).send({ error: 'limit: must be an integer from 1 to 10000' });
    return { failovers: tracker.store.list({ since, cluster: q.cluster, limit }).map(failoverView) };
  });
}
