// The placement service: the capacity table, the reservations, and the answers kept for
// idempotent replay. On one collector every decision is synchronous, so a placement is computed
// and reserved in one turn of the event loop: two concurrent requests can never both take the
// same capacity. In a cluster (a shared PlacementStore), each decision runs inside the store's
// exclusive transaction, after bringing this collector's reservations up to the shared ones.
import type { Logger } from '../../common/index.js';
import type { RedisSample } from '../../proto/index.js';
import type { Database } from '../sqlite.js';
import type { HostRecord } from '../state.js';
import type { PlacementConfig, PlacementRole } from './config.js';
import { PlacementContext, type PlacementRequest } from './framework.js';
import { Holds, type Reservation } from './holds.js';
import { scorePlugin } from './plugins/index.js';
import { singlePluginProfile, type Profile } from './profiles.js';
import { schedule, type MemberPlan, type Rejections } from './scheduler.js';
import { SqlitePlacementStore, type PlacementRow, type PlacementStore, type PlacementTx } from './store.js';
import { CapacityTable } from './table.js';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  replay?: boolean;
}

interface Stored {
  fingerprint: string;
  reservation: Reservation;
  /** The placement as first answered, without the reservation's current state. */
  placement: Record<string, unknown>;
}

const MB = 1024 * 1024;
const iso = (ms: number) => new Date(ms).toISOString();

export class Placement {
  readonly table: CapacityTable;
  readonly holds = new Holds();
  private readonly answers = new Map<string, Stored>();
  private readonly store: SqlitePlacementStore | undefined;

  /**
   * With `db`, placements are kept in the collector's SQLite file (call restore() once the table is
   * seeded); with `shared`, in the cluster's store (restoreShared()).
   */
  constructor(
    readonly config: PlacementConfig,
    hostDownAfterIntervals: number,
    private readonly logger: Logger,
    db?: Database,
    private readonly shared?: PlacementStore,
  ) {
    this.table = new CapacityTable(hostDownAfterIntervals);
    this.store = db && !shared ? new SqlitePlacementStore(db) : undefined;
  }

  /** Loads the stored placements and re-applies the holds of those still holding. */
  restore(now = Date.now()): void {
    if (!this.store) return;
    this.restoreRows(this.store.load(), now);
  }

  /** restore() from the cluster's store. */
  async restoreShared(now = Date.now()): Promise<void> {
    if (this.shared) this.restoreRows(await this.shared.load(), now);
  }

  private restoreRows(rows: PlacementRow[], now: number): void {
    for (const row of rows) this.apply(row, true);
    if (this.answers.size) this.logger.info({ placements: this.answers.size, holding: this.holds.activeCount }, 'placements restored');
    this.sweep(now);
    this.evict(now);
  }

  /** Takes a stored row as the truth for its placement (holds re-applied when they changed). */
  private apply(row: PlacementRow, warn = false): void {
    const cur = this.answers.get(row.requestId);
    if (cur) {
      const r = cur.reservation;
      if (r.state === row.state && r.holding === row.holding && r.holdUntil === row.holdUntil) return;
      if (r.holding) this.holds.unhold(r, row.state);
    }
    const members = [];
    for (const m of row.members) {
      const r = this.table.rowOfHost(m.hostId);
      if (r < 0) {
        if (warn)
          this.logger.warn({ requestId: row.requestId, host: m.hostId }, 'placement restore: host unknown; its member no longer holds');
      } else members.push({ ...m, row: r });
    }
    const reservation: Reservation = {
      requestId: row.requestId,
      state: row.state,
      holding: false,
      createdAt: row.createdAt,
      holdUntil: row.holdUntil,
      members,
    };
    if (row.holding) this.holds.hold(reservation);
    this.answers.set(row.requestId, { fingerprint: row.fingerprint, reservation, placement: row.placement });
  }

  /** Brings this collector's reservations up to the shared ones (inside the exclusive transaction). */
  private async sync(tx: PlacementTx, ids: string[]): Promise<void> {
    const byId = new Map((await tx.holding()).map((r) => [r.requestId, r]));
    const missing = new Set(ids.filter((id) => !byId.has(id)));
    for (const r of this.holds.active()) if (!byId.has(r.requestId)) missing.add(r.requestId);
    for (const r of await tx.get([...missing])) byId.set(r.requestId, r);
    // Held here but unknown to the shared store (its write failed): it holds nothing.
    for (const r of this.holds.active())
      if (!byId.has(r.requestId)) {
        this.holds.unhold(r, 'released');
        this.answers.delete(r.requestId);
      }
    for (const row of byId.values()) this.apply(row);
  }

  /** Runs a decision: at once on one collector; in a cluster under the shared lock, saving what it changed. */
  private async decide(ids: string[], fn: () => Answer): Promise<Answer> {
    const shared = this.shared;
    if (!shared) return fn();
    return shared.exclusive(async (tx) => {
      await this.sync(tx, ids);
      const before = ids.map((id) => this.snapshot(id));
      const answer = fn();
      for (const [k, id] of ids.entries()) {
        const s = this.answers.get(id);
        if (s && this.snapshot(id) !== before[k]) await tx.save(this.rowOf(s));
      }
      return answer;
    });
  }

  private snapshot(id: string): string {
    const s = this.answers.get(id);
    return s ? `${s.reservation.state}/${s.reservation.holding}/${s.reservation.holdUntil}` : '';
  }

  /** Placement expiry, a cluster leader's duty: the shared holds whose time is up end for everyone. */
  async expireShared(now = Date.now()): Promise<number> {
    if (!this.shared) return 0;
    const rows = await this.shared.expire(now);
    for (const row of rows) {
      this.apply(row);
      this.logger.info(
        { requestId: row.requestId, state: row.state },
        row.state === 'expired' ? 'placement expired unconfirmed' : 'placement hold ended',
      );
    }
    return rows.length;
  }

  /** Called with every host's newest report (and once per persisted host at start). */
  onReport(h: HostRecord, redis: RedisSample[]): void {
    this.table.update(h, redis);
  }

  /** Profile for a request's strategy: a profile name, or one score plugin's name. */
  profileFor(strategy: string | undefined): Profile | undefined {
    const name = strategy ?? this.config.defaultStrategy;
    const profile = this.config.profiles[name];
    if (profile) return profile;
    const plugin = scorePlugin(name);
    return plugin ? singlePluginProfile(plugin) : undefined;
  }

  strategies(): string[] {
    return Object.keys(this.config.profiles);
  }

  place(req: PlacementRequest, now = Date.now()): Promise<Answer> {
    return this.decide([req.requestId], () => this.placeNow(req, now));
  }

  get(requestId: string, now = Date.now()): Promise<Answer> {
    return this.decide([requestId], () => this.getNow(requestId, now));
  }

  /** The deploy went ahead: keep holding for confirmedHold so reports can catch up. */
  confirm(requestId: string, now = Date.now()): Promise<Answer> {
    return this.decide([requestId], () => this.confirmNow(requestId, now));
  }

  /** Gives a placement's hold back (the deploy was abandoned or is done and reported). */
  release(requestId: string, now = Date.now()): Promise<Answer> {
    return this.decide([requestId], () => this.releaseNow(requestId, now));
  }

  /** Placements that still hold capacity. */
  async active(now = Date.now()): Promise<Record<string, unknown>[]> {
    if (this.shared) await this.shared.exclusive((tx) => this.sync(tx, []));
    this.sweep(now);
    return this.holds.active().map((r) => this.view(this.answers.get(r.requestId)!));
  }

  private placeNow(req: PlacementRequest, now: number): Answer {
    this.sweep(now);
    const fingerprint = fingerprintOf(req);
    const stored = this.answers.get(req.requestId);
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        return {
          status: 409,
          body: { error: 'requestId conflict', message: `requestId ${req.requestId} was already used for a different request` },
        };
      }
      return { status: 200, body: this.view(stored), replay: true };
    }
    const profile = this.profileFor(req.strategy);
    if (!profile) {
      return {
        status: 400,
        body: {
          error: 'invalid request',
          message: `body/strategy: unknown strategy ${JSON.stringify(req.strategy)} (profiles: ${this.strategies().join(', ')}; or a score plugin)`,
        },
      };
    }
    const ctx = new PlacementContext(this.table, this.holds, req, this.config.thresholds[req.role as PlacementRole], now);
    const outcome = schedule(ctx, profile);
    if (!outcome.ok) {
      this.logger.info(
        { requestId: req.requestId, role: req.role, count: req.count, placed: outcome.placed, why: outcome.message },
        'placement: nothing fits',
      );
      return {
        status: 409,
        body: {
          error: 'unschedulable',
          requestId: req.requestId,
          message: outcome.message,
          placed: outcome.placed,
          failedMember: outcome.failedMember,
          candidates: candidates(outcome.rejections),
        },
      };
    }
    const reservation: Reservation = {
      requestId: req.requestId,
      state: 'reserved',
      holding: false,
      createdAt: now,
      holdUntil: now + this.config.reservationTtlMs,
      members: outcome.members.map((m) => ({
        row: m.row,
        hostId: m.hostId,
        memoryBytes: m.memoryBytes,
        slot: m.slot,
        idleAddress: m.idle?.address ?? null,
      })),
    };
    this.holds.hold(reservation);
    const placement = this.placementBody(req, profile, outcome.members, outcome.firstPass, now);
    const entry: Stored = { fingerprint, reservation, placement };
    this.answers.set(req.requestId, entry);
    this.persist(entry);
    this.evict(now);
    this.logger.info(
      { requestId: req.requestId, role: req.role, count: req.count, hosts: placement.hosts, strategy: profile.name },
      'placement reserved',
    );
    return { status: 200, body: this.view(entry) };
  }

  private getNow(requestId: string, now: number): Answer {
    this.sweep(now);
    const stored = this.answers.get(requestId);
    return stored ? { status: 200, body: this.view(stored) } : notFound(requestId);
  }

  private confirmNow(requestId: string, now: number): Answer {
    this.sweep(now);
    const stored = this.answers.get(requestId);
    if (!stored) return notFound(requestId);
    const r = stored.reservation;
    if (r.state === 'released' || r.state === 'expired') {
      return {
        status: 409,
        body: {
          error: `reservation ${r.state}`,
          message: `placement ${requestId} was ${r.state} and holds nothing; place it again with a new requestId`,
        },
      };
    }
    if (r.state === 'reserved') {
      r.state = 'confirmed';
      if (this.config.confirmedHoldMs > 0) this.holds.setHoldUntil(r, now + this.config.confirmedHoldMs);
      else this.holds.unhold(r, 'confirmed');
      this.persist(stored);
      this.logger.info({ requestId }, 'placement confirmed');
    }
    return { status: 200, body: this.view(stored) };
  }

  private releaseNow(requestId: string, now: number): Answer {
    this.sweep(now);
    const stored = this.answers.get(requestId);
    if (!stored) return notFound(requestId);
    const r = stored.reservation;
    if (r.state === 'reserved' || r.state === 'confirmed') {
      this.holds.unhold(r, 'released');
      this.persist(stored);
      this.logger.info({ requestId }, 'placement released');
    }
    return { status: 200, body: this.view(stored) };
  }

  sweep(now: number): void {
    for (const r of this.holds.sweep(now)) {
      const stored = this.answers.get(r.requestId);
      if (stored) this.persist(stored);
      this.logger.info(
        { requestId: r.requestId, state: r.state },
        r.state === 'expired' ? 'placement expired unconfirmed' : 'placement hold ended',
      );
    }
  }

  private view(s: Stored): Record<string, unknown> {
    const r = s.reservation;
    return { ...s.placement, state: r.state, holding: r.holding, holdUntil: r.holding ? iso(r.holdUntil) : null };
  }

  private placementBody(req: PlacementRequest, profile: Profile, members: MemberPlan[], first: Rejections, now: number) {
    const hosts = new Set(members.map((m) => m.hostId)).size;
    return {
      requestId: req.requestId,
      role: req.role,
      count: req.count,
      memoryMb: req.memoryMb,
      strategy: profile.name,
      weights: Object.fromEntries(profile.scores.map((s) => [s.plugin.name, s.weight])),
      createdAt: iso(now),
      hosts,
      members: members.map((m) => ({
        member: m.member,
        group: m.group,
        host: m.hostId,
        labels: this.table.labels(m.row),
        idleInstance: m.idle ? m.idle.address : null,
        newSlot: m.slot === 1,
        reservedMemoryMb: Math.round((m.memoryBytes / MB) * 100) / 100,
        score: m.total,
        scores: m.scores,
      })),
      candidates: candidates(first),
    };
  }

  private evict(now: number): void {
    for (const [id, s] of this.answers) {
      const old = this.answers.size > this.config.maxRequests || s.reservation.createdAt < now - this.config.requestRetentionMs;
      if (!old || s.reservation.holding) break;
      this.answers.delete(id);
      try {
        this.store?.delete(id);
      } catch (err) {
        this.storeFailed(err);
      }
    }
  }

  private rowOf(s: Stored): PlacementRow {
    const r = s.reservation;
    return {
      requestId: r.requestId,
      fingerprint: s.fingerprint,
      placement: s.placement,
      state: r.state,
      holding: r.holding,
      createdAt: r.createdAt,
      holdUntil: r.holdUntil,
      members: r.members.map((m) => ({ hostId: m.hostId, memoryBytes: m.memoryBytes, slot: m.slot, idleAddress: m.idleAddress })),
    };
  }

  private persist(s: Stored): void {
    if (!this.store) return;
    try {
      this.store.save(this.rowOf(s));
    } catch (err) {
      this.storeFailed(err);
    }
  }

  // The placement stands in memory; only a restart would lose it.
  private storeFailed(err: unknown): void {
    this.logger.error({ error: (err as Error).message }, 'placement: saving to the store failed');
  }
}

function candidates(r: Rejections) {
  return { hosts: r.hosts, feasible: r.feasible, rejected: r.reasons };
}

function notFound(requestId: string): Answer {
  return { status: 404, body: { error: 'placement not found', requestId } };
}

/** The request with labels in key order, so a replay with the same content matches. */
function fingerprintOf(req: PlacementRequest): string {
  const labels = Object.fromEntries(Object.entries(req.labels).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify({ ...req, labels, requestId: undefined });
}
