// A collector as a member of a cluster (cluster.* config): the shared state on PostgreSQL kept in
// step with this collector's memory every syncInterval, and the ZooKeeper election deciding who
// does the fleet-wide duties (collector/cluster/README.md).
import { errorText, type Logger } from '../../common/index.js';
import type { Alerting } from '../alerting/index.js';
import { PgAlertingStore } from '../alerting/store-pg.js';
import type { Silence } from '../alerting/store.js';
import { openPostgres, type PgPool } from '../pg.js';
import type { Placement } from '../placement/index.js';
import { PgPlacementStore } from '../placement/store-pg.js';
import type { FleetState } from '../state.js';
import { PgFleetStore } from '../store-pg.js';
import type { ClusterConfig } from './config.js';
import { LeaderElection, type ElectionView } from './election.js';

export { resolveClusterConfig, CLUSTER_DEFAULTS, type ClusterConfig, type PostgresConfig } from './config.js';
export { LeaderElection, type ElectionView, type ElectionOptions } from './election.js';

export interface ClusterView extends ElectionView {
  id: string;
  postgres: { ok: boolean; lastSyncAt: string | null; error?: string };
  syncIntervalMs: number;
}

/** The shared stores of a cluster member, opened before the rest of the collector is built. */
export class ClusterMember {
  readonly fleet: PgFleetStore;
  readonly alerting: PgAlertingStore;
  readonly placements: PgPlacementStore;
  private readonly election: LeaderElection;
  private state: FleetState | undefined;
  private alerts: Alerting | undefined;
  private placement: Placement | undefined;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private fleetCursor = 0;
  private alertCursor = 0;
  private readonly changedAlerts = new Set<string>();
  private readonly changedSilences = new Map<string, Silence>();
  private lastSyncAt = 0;
  private lastError: string | undefined;
  private leaderHandlers: ((leader: boolean) => void)[] = [];

  private constructor(
    readonly config: ClusterConfig,
    readonly pool: PgPool,
    private readonly logger: Logger,
  ) {
    this.fleet = new PgFleetStore(pool, config.id);
    this.alerting = new PgAlertingStore(pool, config.id);
    this.placements = new PgPlacementStore(pool);
    this.election = new LeaderElection({
      servers: config.zookeeper.servers,
      path: config.zookeeper.path,
      sessionTimeoutMs: config.zookeeper.sessionTimeoutMs,
      id: config.id,
      logger,
      onChange: (leader, epoch) => this.onLeadership(leader, epoch),
    });
  }

  static async open(config: ClusterConfig, logger: Logger): Promise<ClusterMember> {
    const log = logger.child({ component: 'cluster' });
    const pool = await openPostgres(config.postgres, log);
    return new ClusterMember(config, pool, log);
  }

  get isLeader(): boolean {
    return this.election.isLeader;
  }
  get epoch(): number {
    return this.election.epoch;
  }
  get id(): string {
    return this.config.id;
  }

  onLeaderChange(fn: (leader: boolean) => void): void {
    this.leaderHandlers.push(fn);
  }

  /** Brings the shared state into this collector's memory (before it serves), then keeps both in step. */
  async start(deps: { state: FleetState; alerting?: Alerting; placement?: Placement }): Promise<void> {
    this.state = deps.state;
    this.alerts = deps.alerting;
    this.placement = deps.placement;
    if (deps.alerting) {
      deps.alerting.store.observer = {
        alert: (fp) => this.changedAlerts.add(fp),
        silence: (s) => this.changedSilences.set(s.id, s),
      };
    }
    await this.syncOnce();
    await deps.placement?.restoreShared();
    this.election.start();
    this.timer = setInterval(() => {
      void this.sync();
    }, this.config.syncIntervalMs);
    this.timer.unref();
  }

  view(): ClusterView {
    return {
      id: this.config.id,
      ...this.election.view(),
      syncIntervalMs: this.config.syncIntervalMs,
      postgres: {
        ok: this.lastError === undefined,
        lastSyncAt: this.lastSyncAt ? new Date(this.lastSyncAt).toISOString() : null,
        ...(this.lastError ? { error: this.lastError } : {}),
      },
    };
  }

  sync(): Promise<void> {
    this.syncing ??= this.syncOnce()
      .then(
        () => {
          if (this.lastError !== undefined) this.logger.info('cluster: shared state reachable again');
          this.lastError = undefined;
          this.lastSyncAt = Date.now();
        },
        (err: unknown) => {
          if (this.lastError === undefined) this.logger.error({ error: errorText(err) }, 'cluster: shared state sync failed; retrying');
          this.lastError = errorText(err);
        },
      )
      .finally(() => {
        this.syncing = undefined;
      });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const state = this.state!;
    // Ours out: hosts connected here, alert and silence changes made here.
    state.persist();
    const mine = state.takeSharedChanges();
    try {
      await this.fleet.saveState(mine.hosts, mine.instances, mine.removed);
    } catch (err) {
      state.requeueShared(mine);
      throw err;
    }
    if (this.alerts) {
      const fps = [...this.changedAlerts];
      const silences = [...this.changedSilences.values()];
      this.changedAlerts.clear();
      this.changedSilences.clear();
      const present = fps.map((fp) => this.alerts!.alerts.get(fp)).filter((a) => a !== undefined);
      const gone = fps.filter((fp) => !this.alerts!.alerts.get(fp));
      try {
        await this.alerting.saveAlerts(present, gone);
        for (const s of silences) await this.alerting.saveSilence(s);
      } catch (err) {
        for (const fp of fps) this.changedAlerts.add(fp);
        for (const s of silences) if (!this.changedSilences.has(s.id)) this.changedSilences.set(s.id, s);
        throw err;
      }
    }
    // Theirs in.
    const theirs = await this.fleet.changedSince(this.fleetCursor);
    state.mergeRemote(theirs.hosts, theirs.instances, this.isLeader);
    this.fleetCursor = theirs.cursor;
    if (this.alerts) {
      const changes = await this.alerting.changedSince(this.alertCursor);
      const now = Date.now();
      for (const a of changes.alerts) if (!this.changedAlerts.has(a.fingerprint)) this.alerts.alerts.merge(a, now);
      for (const fp of changes.deleted) if (!this.changedAlerts.has(fp)) this.alerts.alerts.mergeDelete(fp);
      for (const s of changes.silences) this.alerts.silences.merge(s);
      this.alertCursor = changes.cursor;
    }
    // Leader duty: placement expiry for the whole cluster.
    if (this.isLeader && this.placement) await this.placement.expireShared();
  }

  private async onLeadership(leader: boolean, epoch: number): Promise<void> {
    if (leader) {
      const took = await this.alerting.takeLeadership(epoch, this.config.id, Date.now());
      if (!took) this.logger.warn({ epoch }, 'cluster: a newer leader epoch is already recorded in PostgreSQL');
      // Everything the previous leader wrote is in before this one notifies.
      await this.sync();
      this.alerts?.dispatcher.resume(Date.now());
      this.alerts?.outbox.kick(0);
    }
    for (const fn of this.leaderHandlers) fn(leader);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing;
    await this.sync().catch(() => undefined);
    await this.election.stop();
    await this.pool.end().catch(() => undefined);
  }
}
