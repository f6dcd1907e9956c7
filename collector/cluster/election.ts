// Leader election through ZooKeeper, the standard recipe
// (https://zookeeper.apache.org/doc/current/recipes.html#sc_leaderElection): every collector
// creates an ephemeral sequential znode under the election path; the lowest sequence leads;
// each other one watches only its predecessor. A leader that dies loses its znode when its
// session expires (the lease: cluster.zookeeper.sessionTimeout), and the next one takes over.
// The znode's sequence number is the leader's epoch: it only grows, so stale leaders are fenced
// (alert_outbox claims, collector/alerting/store-pg.ts). Any doubt about our own session (a
// disconnect, a request past its deadline) steps down at once and joins again with a new znode.
import { errorText, type Logger } from '../../common/index.js';
import { CreateMode, ZkSession } from '../../common/zookeeper/index.js';

export interface ElectionOptions {
  servers: string;
  path: string;
  sessionTimeoutMs: number;
  /** This collector's id (the znode's data). */
  id: string;
  logger: Logger;
  /** Called on every change of leadership (true with the epoch when this collector leads). */
  onChange(leader: boolean, epoch: number): void | Promise<void>;
}

export interface ElectionView {
  leader: boolean;
  epoch: number;
  leaderId: string | null;
  members: string[];
  znode: string | null;
}

const seqOf = (name: string): number => Number(/(\d+)$/.exec(name)?.[1] ?? NaN);

export class LeaderElection {
  private session: ZkSession | undefined;
  private znode: string | undefined;
  private leading = false;
  private epochNow = 0;
  private leaderId: string | null = null;
  private members: string[] = [];
  private stopped = false;
  private checking: Promise<void> | undefined;
  private recheck = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly requestMs: number;

  constructor(private readonly opts: ElectionOptions) {
    // A request that takes a third of the lease is a session in doubt.
    this.requestMs = Math.max(500, Math.floor(opts.sessionTimeoutMs / 3));
  }

  get isLeader(): boolean {
    return this.leading;
  }
  get epoch(): number {
    return this.epochNow;
  }

  view(): ElectionView {
    return { leader: this.leading, epoch: this.epochNow, leaderId: this.leaderId, members: [...this.members], znode: this.znode ?? null };
  }

  start(): void {
    this.stopped = false;
    void this.check();
    // Besides the watch: the periodic look keeps our own session honest (a deadline discards it).
    this.timer = setInterval(() => void this.check(), Math.max(250, Math.floor(this.opts.sessionTimeoutMs / 4)));
    this.timer.unref();
  }

  /** Leaves the election: our znode is deleted, so the next collector leads at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.checking;
    const s = this.session;
    const z = this.znode;
    this.session = undefined;
    this.znode = undefined;
    await this.setLeader(false, this.epochNow);
    if (s && z) await s.remove(z, this.requestMs).catch(() => undefined);
    s?.discard();
  }

  private lost(session: ZkSession): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.znode = undefined;
    if (this.leading) this.opts.logger.warn({ epoch: this.epochNow }, 'cluster: ZooKeeper session lost; stepping down');
    void this.setLeader(false, this.epochNow);
  }

  private check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.checking) {
      this.recheck = true;
      return this.checking;
    }
    this.checking = (async () => {
      try {
        do {
          this.recheck = false;
          await this.checkOnce();
        } while (this.recheck && !this.stopped);
      } catch (err) {
        if (!this.stopped) this.opts.logger.warn({ error: errorText(err) }, 'cluster: leader election step failed; retrying');
        this.session?.discard();
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    const { path, id } = this.opts;
    if (this.stopped) return;
    if (!this.session) {
      const session: ZkSession = new ZkSession({
        servers: this.opts.servers,
        sessionTimeoutMs: this.opts.sessionTimeoutMs,
        onDiscard: () => this.lost(session),
      });
      this.session = session;
      await session.mkdirp(path, this.opts.sessionTimeoutMs);
      this.znode = await session.create(`${path}/n_`, Buffer.from(id), CreateMode.EPHEMERAL_SEQUENTIAL, this.opts.sessionTimeoutMs);
      this.opts.logger.info({ znode: this.znode }, 'cluster: joined the leader election');
    }
    const session = this.session;
    if (this.stopped) return;
    const mine = this.znode!.slice(path.length + 1);
    const children = (await session.getChildren(path, this.requestMs))
      .filter((c) => !Number.isNaN(seqOf(c)))
      .sort((a, b) => seqOf(a) - seqOf(b));
    const members: string[] = [];
    for (const c of children) {
      const data = await session.getData(`${path}/${c}`, this.requestMs);
      if (data) members.push(data.toString());
    }
    if (this.session !== session) return;
    this.members = members;
    const at = children.indexOf(mine);
    if (at < 0) {
      // Our znode is gone (our session expired on the server): start over with a new one.
      this.opts.logger.warn({ znode: this.znode }, 'cluster: our election znode vanished; joining again');
      session.discard();
      this.recheck = true;
      return;
    }
    this.leaderId = members[0] ?? null;
    if (at === 0) {
      await this.setLeader(true, seqOf(mine));
      return;
    }
    await this.setLeader(false, this.epochNow);
    const predecessor = `${path}/${children[at - 1]}`;
    const exists = await session.existsWatch(predecessor, () => void this.check(), this.requestMs);
    if (!exists) this.recheck = true;
  }

  private async setLeader(leader: boolean, epoch: number): Promise<void> {
    if (leader === this.leading && epoch === this.epochNow) return;
    this.leading = leader;
    this.epochNow = epoch;
    if (leader) this.leaderId = this.opts.id;
    this.opts.logger.info(
      { leader, epoch, id: this.opts.id },
      leader ? 'cluster: this collector is the leader' : 'cluster: this collector follows',
    );
    try {
      await this.opts.onChange(leader, epoch);
    } catch (err) {
      this.opts.logger.error({ error: errorText(err) }, 'cluster: leadership change handler failed');
    }
  }
}
