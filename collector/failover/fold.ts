// Folds what every agent reports about one failover into one record: Sentinel's +switch-master
// (from any number of agents and Sentinels) and the promotion seen in samples (a replica that
// now answers as master). Keyed by the new master within a time window; the cluster, group and
// Sentinel master name are filled in from whichever source knows them.
import { infoPicker, type Report, type RedisSample } from '../../proto/index.js';

export interface Failover {
  /** 0 until stored. */
  id: number;
  /** When it happened: the earliest time any source saw it (ms). */
  at: number;
  cluster: string;
  group: string;
  /** The Sentinel master name ('' when only seen in samples). */
  masterName: string;
  oldMaster: string;
  newMaster: string;
  /** What reported it first: sentinel (+switch-master) or role (a promotion seen in samples). */
  source: 'sentinel' | 'role';
  /** Hosts whose agents reported it. */
  seenBy: string[];
  sentinelAt: number | null;
  roleAt: number | null;
}

export interface RoleChange {
  at: number;
  host: string;
  address: string;
  from: string;
  to: string;
  cluster: string;
  group: string;
  /** For a replica: the master it follows now. */
  master: string;
}

export interface FoldResult {
  created: Failover[];
  updated: Failover[];
  roleChanges: RoleChange[];
}

export const FOLD_DEFAULTS = {
  /** Reports of one failover arrive within this long of each other. */
  windowMs: 120_000,
  /** A role seen longer ago than this is too old to date a promotion: a role change, not a failover. */
  roleMemoryMs: 600_000,
};

interface KnownRole {
  role: string;
  master: string;
  cluster: string;
  group: string;
  at: number;
}

type FoldReport = Pick<Report, 'redis' | 'events' | 'sentinels'>;

const pickMaster = infoPicker(['master_host', 'master_port']);

/** A replica's master as `host:port` ('' when INFO names no master_host). */
function masterOf(s: RedisSample): string {
  const [host, port] = pickMaster(s);
  return host ? `${host}:${port ?? ''}` : '';
}

export class FailoverFolder {
  private readonly recentFailovers: Failover[] = [];
  private readonly roles = new Map<string, KnownRole>();
  /** Master address → the name Sentinels monitor it by (from Sentinel samples). */
  private readonly sentinelNames = new Map<string, string>();

  constructor(
    private readonly opts = FOLD_DEFAULTS,
    initial: Failover[] = [],
  ) {
    this.recentFailovers.push(...initial);
  }

  onReport(hostId: string, r: FoldReport, now = Date.now()): FoldResult {
    const out: FoldResult = { created: [], updated: [], roleChanges: [] };
    this.prune(now);
    if (r.sentinels) for (const s of r.sentinels) for (const m of s.masters) this.sentinelNames.set(m.address, m.name);
    for (const s of r.redis) {
      if (!s.up || !s.role) continue;
      const role = s.role;
      const master = role === 'slave' ? masterOf(s) : '';
      const at = s.sampledAtMs || now;
      const prev = this.roles.get(s.address);
      const cluster = s.cluster || prev?.cluster || '';
      const group = s.group || prev?.group || '';
      if (prev && (prev.role === role || at < prev.at)) {
        // No role change to report: the known role is brought up to date in place.
        prev.role = role;
        prev.master = master;
        prev.cluster = cluster;
        prev.group = group;
        prev.at = at;
        continue;
      }
      this.roles.set(s.address, { role, master, cluster, group, at });
      if (!prev) continue;
      out.roleChanges.push({ at, host: hostId, address: s.address, from: prev.role, to: role, cluster, group, master });
      if (prev.role === 'slave' && role === 'master' && at - prev.at <= this.opts.roleMemoryMs) {
        const masterName = this.sentinelNames.get(prev.master) ?? this.sentinelNames.get(s.address) ?? '';
        this.fold(out, hostId, { at, cluster, group, masterName, oldMaster: prev.master, newMaster: s.address, source: 'role' });
      }
    }
    for (const e of r.events) {
      if (e.kind !== 'sentinel.+switch-master') continue;
      const a = e.attrs ?? {};
      if (!a.new) continue;
      const known = this.roles.get(a.new) ?? (a.old ? this.roles.get(a.old) : undefined);
      this.fold(out, hostId, {
        at: e.timestampMs || now,
        cluster: known?.cluster ?? '',
        group: known?.group ?? '',
        masterName: a.master ?? '',
        oldMaster: a.old ?? '',
        newMaster: a.new,
        source: 'sentinel',
      });
    }
    return out;
  }

  /** The failovers still open for folding (newest last). */
  recent(): Failover[] {
    return [...this.recentFailovers];
  }

  private fold(out: FoldResult, hostId: string, seen: Omit<Failover, 'id' | 'seenBy' | 'sentinelAt' | 'roleAt'>): void {
    const compatible = (a: string, b: string): boolean => !a || !b || a === b;
    // Failing over away from x's new master since x (a fail-back) makes a failover to it again a new one.
    const superseded = (x: Failover): boolean =>
      this.recentFailovers.some((y) => y.oldMaster === x.newMaster && y.at > x.at && y.at <= seen.at);
    const f = this.recentFailovers.find(
      (x) =>
        x.newMaster === seen.newMaster &&
        Math.abs(seen.at - x.at) <= this.opts.windowMs &&
        compatible(x.masterName, seen.masterName) &&
        compatible(x.oldMaster, seen.oldMaster) &&
        !superseded(x),
    );
    const stamp = seen.source === 'sentinel' ? 'sentinelAt' : 'roleAt';
    if (!f) {
      const created: Failover = { ...seen, id: 0, seenBy: [hostId], sentinelAt: null, roleAt: null };
      created[stamp] = seen.at;
      this.recentFailovers.push(created);
      out.created.push(created);
      return;
    }
    let changed = false;
    const fill = (k: 'cluster' | 'group' | 'masterName' | 'oldMaster'): void => {
      if (!f[k] && seen[k]) {
        f[k] = seen[k];
        changed = true;
      }
    };
    fill('cluster');
    fill('group');
    fill('masterName');
    fill('oldMaster');
    if (f[stamp] === null) {
      f[stamp] = seen.at;
      changed = true;
    }
    if (seen.at < f.at) {
      f.at = seen.at;
      changed = true;
    }
    if (!f.seenBy.includes(hostId)) {
      f.seenBy.push(hostId);
      changed = true;
    }
    if (changed && !out.created.includes(f) && !out.updated.includes(f)) out.updated.push(f);
  }

  private prune(now: number): void {
    const list = this.recentFailovers;
    let n = 0;
    for (const f of list) if (now - f.at <= 2 * this.opts.windowMs) list[n++] = f;
    list.length = n;
  }
}
