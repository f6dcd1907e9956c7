// In-memory fleet state: hosts (from hello + latest report) and the latest sample
// of every instance. Changes are marked dirty and persisted to the store in one
// transaction per persist() call, so the API survives a collector restart. A host's row is
// written after each change; an instance's row (its latest sample, ~4 KB) at most once per
// INSTANCE_ROW_EVERY_MS while it keeps reporting, and at once when it is new or gone: rewriting
// every sample's row was ~20 µs a sample, the largest per-instance cost of a 1,000-host collector
// (docs/benchmarks.md, "Fleet size"). After a crash the restarted collector shows samples up to
// that old until the agents report again, within one interval.
// A host is down when silent for hostDownAfterIntervals x its own interval.
import type { Logger } from '../common/index.js';
import { latestSample, type Hello, type Report } from '../proto/index.js';
import type { HostRecord, HostStatus, InstanceRecord, Store } from './store.js';

export type { HostRecord, HostStatus, InstanceRecord } from './store.js';

export interface StateOptions {
  hostDownAfterIntervals: number;
  /** Called when a host's recorded status changes (up -> down by silence, down -> up on a report). */
  onTransition?: (host: HostRecord, status: HostStatus, now: number) => void;
  /** Called with each report that is the host's newest (replays of older ones are not passed on). */
  onReport?: (hostId: string, report: Report, now: number) => void;
  /** A cluster member: what persist() writes is also kept for the shared store (takeSharedChanges). */
  shared?: boolean;
  /** A host connected to another collector is seen here this late (persist + sync): added to its silence budget. */
  remoteSlackMs?: number;
  /** A host another collector wrote (cluster): its record and latest samples were taken over. */
  onRemote?: (host: HostRecord, instances: InstanceRecord[]) => void;
}

/** What changed here since the last takeSharedChanges() (a cluster member writes it to the shared store). */
export interface SharedChanges {
  hosts: HostRecord[];
  instances: InstanceRecord[];
  removed: string[];
}

/** The agents' maximum reconnect backoff (agent/transport): a restarted collector waits this long before counting silence. */
export const RECONNECT_GRACE_MS = 10_000;

export const instanceId = (hostId: string, address: string): string => `${hostId}/${address}`;

/** An instance's stored row is rewritten at most this often while its samples keep coming. */
export const INSTANCE_ROW_EVERY_MS = 60_000;

export class FleetState {
  private readonly hosts = new Map<string, HostRecord>();
  private readonly instances = new Map<string, InstanceRecord>();
  private readonly connected = new Set<string>();
  private readonly dirtyHosts = new Set<string>();
  private readonly dirtyInstances = new Set<string>();
  private readonly removedInstances = new Set<string>();
  /** Instances whose stored row is older than their latest sample (written when due: rowWrittenAt). */
  private readonly staleRows = new Set<string>();
  private readonly rowWrittenAt = new Map<string, number>();
  private startedAt = Date.now();

  /** The reconnect grace starts when agents can reach us again (the gRPC port is bound), not at construction. */
  listening(now = Date.now()): void {
    this.startedAt = now;
  }
  /** Hosts up in the store when this collector started and not heard from since. */
  private readonly restored = new Set<string>();
  private readonly sharedHosts = new Set<string>();
  private readonly sharedInstances = new Set<string>();
  private readonly sharedRemoved = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly opts: StateOptions,
    private readonly logger: Logger,
  ) {
    for (const h of store.loadHosts()) {
      this.hosts.set(h.id, h);
      if (h.status === 'up') this.restored.add(h.id);
    }
    for (const i of store.loadInstances()) this.instances.set(i.id, i);
  }

  /** The host's status now, computed from its silence (the recorded one may lag by a timer tick). */
  statusOf(h: HostRecord, now = Date.now()): HostStatus {
    // After a collector restart, an agent that was up needs time to notice and reconnect (its
    // backoff reaches 10 s while we were away): its silence counts from then, not from before.
    const grace = this.restored.has(h.id) ? this.startedAt + RECONNECT_GRACE_MS : 0;
    const seen = Math.max(h.lastSeenAt, grace);
    const slack = this.opts.remoteSlackMs && !this.connected.has(h.id) ? this.opts.remoteSlackMs : 0;
    return now - seen > this.opts.hostDownAfterIntervals * h.intervalMs + slack ? 'down' : 'up';
  }

  hello(hello: Hello, now = Date.now()): HostRecord {
    let h = this.hosts.get(hello.hostId);
    if (!h) {
      h = {
        id: hello.hostId,
        labels: {},
        roles: [],
        agentVersion: '',
        intervalMs: hello.intervalMs,
        sessionId: hello.sessionId,
        lastSeq: 0,
        lastReportAt: null,
        lastSeenAt: now,
        reportTimeMs: 0,
        status: 'up',
        statusSince: now,
        host: null,
        capacity: null,
        agent: null,
        instances: [],
      };
      this.hosts.set(h.id, h);
    }
    h.labels = { ...hello.labels };
    h.roles = [...hello.roles];
    h.agentVersion = hello.agentVersion;
    h.intervalMs = hello.intervalMs;
    if (h.sessionId !== hello.sessionId) {
      h.sessionId = hello.sessionId;
      h.lastSeq = 0;
    }
    this.seen(h, now);
    this.dirtyHosts.add(h.id);
    return h;
  }

  /** Applies a (validated) report from a host that said hello. Replays of older reports only bump lastSeq. */
  report(hostId: string, r: Report, now = Date.now()): void {
    const h = this.hosts.get(hostId);
    if (!h) throw new Error(`report for unknown host ${hostId}`);
    if (r.seq > h.lastSeq) h.lastSeq = r.seq;
    h.lastReportAt = now;
    this.seen(h, now);
    this.dirtyHosts.add(h.id);
    if (r.timestampMs < h.reportTimeMs) return;
    h.reportTimeMs = r.timestampMs;
    if (r.host) h.host = r.host;
    if (r.capacity) h.capacity = r.capacity;
    if (r.agent) h.agent = r.agent;
    this.opts.onReport?.(hostId, r, now);

    const redis = r.redis;
    const before = h.instances;
    // Mostly the same instances in the same order as the last report: nothing gone, the list kept.
    let same = before.length === redis.length;
    for (let j = 0; j < redis.length; j++) {
      const s = redis[j]!;
      if (same && before[j] !== s.address) same = false;
      const id = instanceId(hostId, s.address);
      // Slowlog entries are "new since the previous report": not part of a latest view. A form-2
      // sample keeps its bytes, not its columns: INFO is read from them when asked.
      this.instances.set(id, {
        id,
        host: hostId,
        address: s.address,
        receivedAt: now,
        sample: latestSample(s),
      });
      this.dirtyInstances.add(id);
      if (this.removedInstances.size) this.removedInstances.delete(id);
    }
    if (same) return;
    const present = new Set<string>();
    for (const s of redis) present.add(s.address);
    for (const address of before) {
      if (!present.has(address)) {
        const id = instanceId(hostId, address);
        this.forget(id);
        this.dirtyInstances.delete(id);
        this.removedInstances.add(id);
      }
    }
    h.instances = redis.map((s) => s.address);
  }

  setConnected(hostId: string, connected: boolean): void {
    if (connected) this.connected.add(hostId);
    else this.connected.delete(hostId);
  }

  isConnected(hostId: string): boolean {
    return this.connected.has(hostId);
  }

  host(id: string): HostRecord | undefined {
    return this.hosts.get(id);
  }
  allHosts(): HostRecord[] {
    return [...this.hosts.values()];
  }
  instancesOf(h: HostRecord): InstanceRecord[] {
    const out: InstanceRecord[] = [];
    for (const a of h.instances) {
      const i = this.instances.get(instanceId(h.id, a));
      if (i) out.push(i);
    }
    return out;
  }
  allInstances(): InstanceRecord[] {
    return [...this.instances.values()];
  }
  get hostCount(): number {
    return this.hosts.size;
  }

  /** Records up -> down transitions of silent hosts (run by a timer). */
  checkTransitions(now = Date.now()): void {
    for (const h of this.hosts.values()) {
      if (h.status === 'up' && this.statusOf(h, now) === 'down') this.transition(h, 'down', now);
    }
  }

  /**
   * Writes what changed since the last call: changed hosts, gone instances, and the instance rows
   * due (never written, or INSTANCE_ROW_EVERY_MS old); `all` writes every stale row (shutdown).
   */
  persist(now = Date.now(), all = false): void {
    if (this.opts.shared) {
      for (const id of this.dirtyHosts) this.sharedHosts.add(id);
      for (const id of this.dirtyInstances) {
        this.sharedInstances.add(id);
        this.sharedRemoved.delete(id);
      }
      for (const id of this.removedInstances) {
        this.sharedRemoved.add(id);
        this.sharedInstances.delete(id);
      }
    }
    for (const id of this.dirtyInstances) this.staleRows.add(id);
    this.dirtyInstances.clear();
    const hosts: HostRecord[] = [];
    for (const id of this.dirtyHosts) {
      const h = this.hosts.get(id);
      if (h) hosts.push(h);
    }
    const instances: InstanceRecord[] = [];
    for (const id of this.staleRows) {
      const at = this.rowWrittenAt.get(id);
      if (!all && at !== undefined && now - at < INSTANCE_ROW_EVERY_MS) continue;
      const i = this.instances.get(id);
      if (i) instances.push(i);
      else this.staleRows.delete(id);
    }
    if (!hosts.length && !instances.length && !this.removedInstances.size) return;
    try {
      this.store.saveState(hosts, instances, this.removedInstances);
      this.dirtyHosts.clear();
      for (const i of instances) {
        this.staleRows.delete(i.id);
        this.rowWrittenAt.set(i.id, now);
      }
      this.removedInstances.clear();
    } catch (err) {
      this.logger.error({ error: (err as Error).message }, 'state: saving to the store failed; will retry');
    }
  }

  /** The changes since the last call, for the shared store; give them back with requeueShared() if that write fails. */
  takeSharedChanges(): SharedChanges {
    const out: SharedChanges = { hosts: [], instances: [], removed: [...this.sharedRemoved] };
    for (const id of this.sharedHosts) {
      const h = this.hosts.get(id);
      if (h) out.hosts.push(h);
    }
    for (const id of this.sharedInstances) {
      const i = this.instances.get(id);
      if (i) out.instances.push(i);
    }
    this.sharedHosts.clear();
    this.sharedInstances.clear();
    this.sharedRemoved.clear();
    return out;
  }

  requeueShared(c: SharedChanges): void {
    for (const h of c.hosts) this.sharedHosts.add(h.id);
    for (const i of c.instances) if (!this.sharedRemoved.has(i.id)) this.sharedInstances.add(i.id);
    for (const id of c.removed) if (!this.instances.has(id)) this.sharedRemoved.add(id);
  }

  /**
   * Hosts and samples other collectors wrote (cluster). A host connected here is ours: its rows
   * from elsewhere are older news. Others replace what we hold when at least as recent.
   */
  mergeRemote(hosts: HostRecord[], instances: InstanceRecord[], leads = false, now = Date.now()): void {
    const taken = new Map<string, HostRecord>();
    for (const r of hosts) {
      if (this.connected.has(r.id)) continue;
      const h = this.hosts.get(r.id);
      if (h && (h.lastSeenAt > r.lastSeenAt || (h.lastSeenAt === r.lastSeenAt && h.statusSince > r.statusSince))) continue;
      if (h) for (const a of h.instances) if (!r.instances.includes(a)) this.forget(instanceId(r.id, a));
      this.hosts.set(r.id, r);
      this.restored.delete(r.id);
      taken.set(r.id, r);
      // Down here (the leader's silence check), newer and up there: the collector it reports to
      // never saw it down, so nobody else says it is back. The leader does (HostSilent resolves),
      // unless it has been silent too long since: then it stays down, without a flap.
      if (h?.status === 'down' && r.status === 'up') {
        if (this.statusOf(r, now) === 'down') {
          r.status = 'down';
          r.statusSince = h.statusSince;
        } else if (leads) this.transition(r, 'up', now);
      }
    }
    for (const i of instances) {
      if (this.connected.has(i.host)) continue;
      const cur = this.instances.get(i.id);
      if (cur && cur.receivedAt > i.receivedAt) continue;
      this.instances.set(i.id, i);
      const h = this.hosts.get(i.host);
      if (h && !taken.has(h.id)) taken.set(h.id, h);
    }
    for (const h of taken.values()) this.opts.onRemote?.(h, this.instancesOf(h));
  }

  /** An instance gone from this collector's view: its latest sample and its row's bookkeeping. */
  private forget(id: string): void {
    this.instances.delete(id);
    this.staleRows.delete(id);
    this.rowWrittenAt.delete(id);
  }

  private seen(h: HostRecord, now: number): void {
    h.lastSeenAt = now;
    this.restored.delete(h.id);
    if (h.status === 'down') this.transition(h, 'up', now);
  }

  private transition(h: HostRecord, status: HostStatus, now: number): void {
    h.status = status;
    h.statusSince = now;
    this.dirtyHosts.add(h.id);
    this.opts.onTransition?.(h, status, now);
  }
}
