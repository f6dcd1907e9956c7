// The guard loop: every probe interval, probe ZooKeeper; when it is unreachable, ask the Sentinels
// (failsafe) and fence every local master they do not confirm; while fenced, keep the fence in
// place (a Redis restart drops it) and, once the host has not been cut off for the hysteresis
// window, restore each instance to its rightful role from ZooKeeper and the Sentinel majority.
import { Redis } from 'ioredis';
import { errorText, type Logger, nameWhenReady, OnceLog, withTimeout } from '../common/index.js';
import { guardBudget, type GuardConfig, type InstanceGuardOptions } from './config.js';
import { FENCES, replicatesFrom, type FenceContext, type FenceMechanism } from './fence.js';
import { IntentStore, type FenceIntent } from './intent.js';
import { SentinelPanel, failsafeVerdict, isThisInstance, nameFor, rightfulMaster, splitAddress, type SentinelRound } from './sentinels.js';
import { ZooKeeperProbe } from '../common/zookeeper/index.js';
import { SentinelWatch, type SentinelEvent } from '../sentinel/index.js';

export interface GuardInstance {
  address: string;
  host: string;
  port: number;
  /** The agent's own ACL user and password (never logged). */
  user?: string;
  password?: string;
  /** Codis product and group id: the default ZooKeeper group path. */
  cluster: string;
  group: string;
  options?: InstanceGuardOptions;
}

export interface GuardEvent {
  timestampMs: number;
  kind: string;
  instance: string;
  message: string;
  attrs: Record<string, string>;
}

export type ZkState = 'unknown' | 'reachable' | 'unreachable';
export type Phase = 'serving' | 'failsafe' | 'fenced' | 'demoting' | 'replica' | 'down' | 'opt-out';

export interface InstanceView {
  address: string;
  phase: Phase;
  role: string;
  fenced: boolean;
  fencedSinceMs?: number;
  fenceReason?: string;
  fenceMode?: string;
  sentinelName?: string;
  sentinelMaster?: string;
  zkMaster?: string;
  waitingFor?: string;
  error?: string;
}

export interface GuardView {
  zkState: ZkState;
  zkSinceMs: number;
  zkConsecutiveFailures: number;
  zkLastOkMs: number;
  zkLastError: string;
  zkClientsCreated: number;
  /** ZooKeeper worker threads started (more than 1: the client library crashed or hung). */
  zkWorkersStarted: number;
  zkLastWorkerError: string;
  sentinelsTotal: number;
  sentinelsAnswered: number | null;
  sentinelRoundAtMs: number;
  mode: string;
  loops: number;
  budgetWorstCaseMs: number;
  budgetLimitMs: number;
  budgetViolation?: string;
  instances: InstanceView[];
}

interface Slot {
  spec: GuardInstance;
  client: Redis;
  phase: Phase;
  role: string;
  /** replica: master it follows and whether the link is up. */
  master: string | null;
  linkUp: boolean;
  sentinelName?: string;
  /** Since when this instance has not been cut off (ZooKeeper reachable or the failsafe holds). */
  okSinceMs: number | null;
  sentinelMaster?: string;
  zkMaster?: string;
  waitingFor?: string;
  error?: string;
  /** The fence was lifted but the intent file could not be rewritten yet. */
  liftUnsaved?: boolean;
}

const MAX_EVENTS = 1000;
const NAME_REFRESH_MS = 30_000;

/** "7", "0007" or "group-0007" → 7. */
export function codisGroupId(group: string): number | undefined {
  const m = /^(?:group-)?(\d+)$/.exec(group);
  return m ? Number(m[1]) : undefined;
}

/** The znode naming the group's master: configured, or Codis's `/codis3/<product>/group/group-NNNN`. */
export function masterZnodeFor(spec: Pick<GuardInstance, 'cluster' | 'group' | 'options'>): string | undefined {
  if (spec.options?.masterZnode) return spec.options.masterZnode;
  const gid = codisGroupId(spec.group);
  if (spec.cluster && gid !== undefined) return `/codis3/${spec.cluster}/group/group-${String(gid).padStart(4, '0')}`;
  return undefined;
}

/** A Codis group model (first server is the master) or a plain "host:port". */
export function parseMasterZnode(data: Buffer): string | null {
  const text = data.toString('utf8').trim();
  if (!text) return null;
  if (text.startsWith('{')) {
    const g = JSON.parse(text) as { servers?: Array<{ server?: string }> };
    return g.servers?.[0]?.server ?? null;
  }
  return text;
}

export class SentinelGuard {
  private readonly slots: Slot[];
  private readonly zk: ZooKeeperProbe;
  private readonly panel: SentinelPanel;
  private readonly watch: SentinelWatch;
  private readonly intents: IntentStore;
  private intent = new Map<string, FenceIntent>();
  private readonly fence: FenceMechanism;
  private readonly log: Logger;
  private readonly events: GuardEvent[] = [];
  private dropped = 0;
  private zkState: ZkState = 'unknown';
  private zkSinceMs = Date.now();
  private lastRound: SentinelRound | undefined;
  private lastNameRefreshMs = 0;
  private loops = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private budgetViolation: string | undefined;
  private readonly once = new OnceLog();

  constructor(
    private readonly config: GuardConfig,
    instances: GuardInstance[],
    logger: Logger,
  ) {
    this.log = logger;
    this.fence = FENCES[config.fence.mode];
    this.zk = new ZooKeeperProbe({
      servers: config.zookeeper.servers,
      probePath: config.zookeeper.probePath,
      sessionTimeoutMs: config.zookeeper.sessionTimeoutMs,
    });
    this.panel = new SentinelPanel(config.sentinels.addresses, {
      password: config.sentinels.password,
      timeoutMs: config.sentinels.timeoutMs,
    });
    this.watch = new SentinelWatch(config.sentinels.addresses, {
      password: config.sentinels.password,
      onEvent: (e) => this.onSentinelEvent(e),
    });
    this.intents = new IntentStore(config.stateDir);
    this.slots = instances.map((spec) => {
      const client = nameWhenReady(
        new Redis({
          host: spec.host,
          port: spec.port,
          username: spec.user,
          password: spec.password,
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          enableReadyCheck: false,
          connectTimeout: Math.max(config.fence.timeoutMs, 200),
          commandTimeout: config.fence.timeoutMs,
          // Reconnect fast: a restarted Redis must be re-fenced before it serves clients for long.
          retryStrategy: (n: number) => Math.min(20 * n, 500),
          disableClientInfo: true, // and no connectionName: named once ready (common/redis-name.ts)
        }),
        'redis-fleet-guard',
      );
      client.on('error', (err: Error) => {
        if (this.once.enter(`conn:${spec.address}`, 'down'))
          this.log.warn({ instance: spec.address, err: err.message }, 'guard: connection error');
      });
      client.on('ready', () => this.once.clear(`conn:${spec.address}`));
      const slot: Slot = {
        spec,
        client,
        phase: spec.options?.optOut ? 'opt-out' : 'down',
        role: 'unknown',
        master: null,
        linkUp: false,
        okSinceMs: null,
      };
      if (spec.options?.sentinelName) slot.sentinelName = spec.options.sentinelName;
      return slot;
    });
  }

  private emit(kind: string, instance: string, message: string, attrs: Record<string, string> = {}, timestampMs = Date.now()): void {
    if (this.events.length >= MAX_EVENTS) {
      this.events.shift();
      this.dropped++;
    }
    this.events.push({ timestampMs, kind, instance, message, attrs });
  }

  /** Events since the last call (the agent forwards them to the collector). */
  drainEvents(): { events: GuardEvent[]; dropped: number } {
    const out = { events: this.events.splice(0), dropped: this.dropped };
    this.dropped = 0;
    return out;
  }

  private onSentinelEvent(e: SentinelEvent): void {
    this.emit(`sentinel.${e.channel}`, e.instance, `${e.channel} ${e.payload}`, { sentinel: e.sentinel, ...e.attrs }, e.timestampMs);
    if (e.channel === '+switch-master' && !this.stopped) this.kick();
  }

  /** Reads the intent file (fail closed: every instance in it counts as fenced), then loops. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.intent = this.intents.load();
    this.stopped = false;
    const known = new Set(this.slots.map((s) => s.spec.address));
    for (const [addr, i] of this.intent) {
      if (!known.has(addr))
        this.log.warn(
          { instance: addr },
          'guard: the intent file names an instance that is no longer configured; its fence is left as it is',
        );
      else
        this.log.warn(
          { instance: addr, fencedAt: new Date(i.fencedAtMs).toISOString(), reason: i.reason, mode: i.mode },
          'guard: found a fence from a previous run; re-evaluating',
        );
    }
    await Promise.all([...this.slots.map((s) => s.client.connect().catch(() => {})), this.panel.connect()]);
    await this.watch.start();
    const b = guardBudget(this.config);
    this.log.info(
      {
        instances: this.slots.length,
        mode: this.fence.mode,
        sentinels: this.panel.total,
        worstCaseFenceMs: b.worstCaseFenceMs,
        limitMs: b.limitMs,
        intentFile: this.intents.file,
      },
      'guard started',
    );
    this.loop();
  }

  private loop(): void {
    if (this.stopped) return;
    const t0 = Date.now();
    this.running = this.tick()
      .catch((err) => this.log.error({ error: errorText(err) }, 'guard loop failed'))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        this.timer = setTimeout(() => this.loop(), Math.max(0, this.config.zookeeper.probeIntervalMs - (Date.now() - t0)));
      });
  }

  /** Runs the next loop now (a +switch-master arrived). */
  private kick(): void {
    if (this.running || this.stopped) return;
    clearTimeout(this.timer);
    this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.watch.stop();
    this.panel.close();
    this.zk.close();
    for (const s of this.slots) s.client.disconnect();
    // The fence, if any, stays: the intent file and the live ACLs are reconciled by the next run.
  }

  private async tick(): Promise<void> {
    this.loops++;
    const now0 = Date.now();
    const probe = await this.zk.probe(this.config.zookeeper.probeTimeoutMs);
    this.updateZkState(probe.ok);
    await Promise.all(this.slots.filter((s) => s.phase !== 'opt-out').map((s) => this.pollRole(s)));

    const fencedOrPending = this.slots.some((s) => this.intent.has(s.spec.address));
    // Names are learned on the first loop and refreshed every 30 s, not every loop: an instance no
    // Sentinel monitors (an idle one) must not cost a round per second on every host.
    const refresh = now0 - this.lastNameRefreshMs >= NAME_REFRESH_MS;
    let round: SentinelRound | undefined;
    if (this.zkState !== 'reachable' || fencedOrPending || refresh) {
      round = await this.panel.round();
      this.lastRound = round;
      this.lastNameRefreshMs = now0;
      this.learnNames(round);
      this.checkDownAfter(round);
    }
    await Promise.all(
      this.slots
        .filter((s) => s.phase !== 'opt-out')
        .map((s) =>
          this.evaluate(s, round).then(
            () => {
              if (this.once.clear(`eval:${s.spec.address}`))
                this.log.info({ instance: s.spec.address }, 'guard: evaluating instance works again');
            },
            (err) => {
              s.error = errorText(err);
              if (this.once.enter(`eval:${s.spec.address}`, s.error))
                this.log.error({ instance: s.spec.address, err: s.error }, 'guard: evaluating instance failed');
            },
          ),
        ),
    );
  }

  private updateZkState(ok: boolean): void {
    const next: ZkState = ok ? 'reachable' : this.zk.consecutiveFailures >= this.config.zookeeper.failures ? 'unreachable' : this.zkState;
    if (next === this.zkState) return;
    const prev = this.zkState;
    this.zkState = next;
    this.zkSinceMs = Date.now();
    if (next === 'unreachable') {
      const msg = `ZooKeeper unreachable: ${this.zk.consecutiveFailures} probes failed in a row (${this.zk.lastError})`;
      this.log.warn({ servers: this.config.zookeeper.servers, failures: this.zk.consecutiveFailures, err: this.zk.lastError }, msg);
      this.emit('guard.zk_unreachable', '', msg, { failures: String(this.zk.consecutiveFailures) });
    } else if (next === 'reachable' && prev === 'unreachable') {
      this.log.info({ servers: this.config.zookeeper.servers }, 'ZooKeeper reachable again');
      this.emit('guard.zk_reachable', '', 'ZooKeeper reachable again', {});
    } else if (next === 'reachable') {
      // A previous run may have left GuardZooKeeperUnreachable firing; only this event resolves it.
      this.log.info({ servers: this.config.zookeeper.servers }, 'ZooKeeper reachable');
      this.emit('guard.zk_reachable', '', 'ZooKeeper reachable', {});
    }
  }

  private async pollRole(s: Slot): Promise<void> {
    try {
      const r = await replicatesFrom(s.client);
      s.role = r.master === null ? 'master' : 'slave';
      s.master = r.master;
      s.linkUp = r.linkUp;
      s.error = undefined;
    } catch (err) {
      s.role = 'unknown';
      s.master = null;
      s.linkUp = false;
      s.error = errorText(err);
    }
  }

  private learnNames(round: SentinelRound): void {
    for (const s of this.slots) {
      if (s.spec.options?.sentinelName || s.role !== 'master') continue;
      // Learned only while this instance is a master the Sentinels point at; a fenced replicaof-mode
      // master reports role slave and keeps the name it had.
      const name = nameFor(round, s.spec.address, this.config.sentinels.announceHost);
      if (name) s.sentinelName = name;
    }
    for (const s of this.slots) {
      if (s.sentinelName || s.spec.options?.sentinelName) continue;
      const i = this.intent.get(s.spec.address);
      if (i?.sentinelName) s.sentinelName = i.sentinelName;
      else if (s.spec.cluster && codisGroupId(s.spec.group) !== undefined)
        s.sentinelName = `${s.spec.cluster}-${codisGroupId(s.spec.group)}`; // Codis names masters <product>-<gid>
    }
  }

  private checkDownAfter(round: SentinelRound): void {
    const names = new Set(this.slots.map((s) => s.sentinelName).filter(Boolean));
    for (const [sentinel, masters] of round.answers) {
      for (const v of masters.values()) {
        if (!names.has(v.name) || v.downAfterMs <= 0 || v.downAfterMs >= this.config.sentinels.downAfterMs) continue;
        const msg = `Sentinel ${sentinel} runs ${v.name} with down-after-milliseconds ${v.downAfterMs}, below guard.sentinels.downAfter (${this.config.sentinels.downAfterMs}): the fence may come after a failover`;
        this.budgetViolation = msg;
        if (this.once.enter(`downafter:${sentinel}:${v.name}`, String(v.downAfterMs))) {
          this.log.error({ sentinel, master: v.name, downAfterMs: v.downAfterMs }, msg);
          this.emit('guard.budget_violation', '', msg, { sentinel, master: v.name });
        }
      }
    }
  }

  private cutOff(s: Slot, round: SentinelRound | undefined): { cut: boolean; why: string } {
    if (this.zkState === 'reachable') return { cut: false, why: 'ZooKeeper reachable' };
    if (!round) return { cut: true, why: 'no Sentinel round' };
    const name = s.sentinelName ?? nameFor(round, s.spec.address, this.config.sentinels.announceHost);
    const v = failsafeVerdict(round, name, s.spec.address, this.config.sentinels.announceHost);
    return v.ok ? { cut: false, why: v.detail } : { cut: true, why: v.reason };
  }

  private ctx(s: Slot): FenceContext {
    const exempt = new Set(this.config.fence.exemptUsers);
    if (s.spec.user && s.spec.user !== 'default') exempt.add(s.spec.user);
    return { client: s.client, exemptUsers: exempt, pubsub: this.config.fence.pubsub };
  }

  private async evaluate(s: Slot, round: SentinelRound | undefined): Promise<void> {
    const addr = s.spec.address;
    const intent = this.intent.get(addr);
    if (intent) return this.evaluateFenced(s, intent, round);
    s.waitingFor = undefined;
    if (s.role === 'unknown') {
      s.phase = 'down';
      return;
    }
    if (s.role !== 'master') {
      s.phase = 'replica';
      return;
    }
    if (this.config.backstop) await this.applyBackstop(s);
    // Fencing needs `failures` probes failed in a row; before that ZooKeeper is not unreachable.
    if (this.zkState !== 'unreachable') {
      s.phase = 'serving';
      this.once.clear(`fencefail:${addr}`);
      return;
    }
    const c = this.cutOff(s, round);
    if (!c.cut) {
      this.once.clear(`fencefail:${addr}`);
      if (this.zkState === 'unreachable') {
        if (s.phase !== 'failsafe') {
          this.log.warn(
            { instance: addr, detail: c.why },
            'guard: ZooKeeper unreachable but the Sentinel majority confirms this master; not fencing (failsafe)',
          );
          this.emit('guard.failsafe', addr, `not fenced: ZooKeeper unreachable but ${c.why}`, { sentinel_name: s.sentinelName ?? '' });
        }
        s.phase = 'failsafe';
      } else {
        s.phase = 'serving';
      }
      return;
    }
    await this.applyFence(s, `ZooKeeper unreachable (${this.zk.consecutiveFailures} probes failed: ${this.zk.lastError}) and ${c.why}`);
  }

  private async applyFence(s: Slot, reason: string, refence = false): Promise<void> {
    const addr = s.spec.address;
    const ctx = this.ctx(s);
    const t0 = Date.now();
    const prior = this.intent.get(addr);
    const intent: FenceIntent = prior ?? { address: addr, mode: this.fence.mode, fencedAtMs: t0, reason };
    if (s.sentinelName) intent.sentinelName = s.sentinelName;
    try {
      await withTimeout(this.fence.prepare(ctx, intent), this.config.fence.timeoutMs, 'fence prepare');
      this.intent.set(addr, intent);
      this.intents.save(this.intent);
      await withTimeout(this.fence.apply(ctx, intent), this.config.fence.timeoutMs, 'fence');
    } catch (err) {
      const msg = errorText(err);
      s.error = msg;
      if (this.once.enter(`fencefail:${addr}`, msg)) {
        this.log.error({ instance: addr, err: msg, mode: this.fence.mode }, 'guard: FENCE FAILED; the master may still accept writes');
        this.emit('guard.fence_failed', addr, `fence failed: ${msg}`, { mode: this.fence.mode });
      }
      s.phase = this.intent.has(addr) ? 'fenced' : s.phase;
      return;
    }
    s.phase = 'fenced';
    s.okSinceMs = null;
    s.error = undefined;
    s.liftUnsaved = false;
    this.once.clear(`fencefail:${addr}`);
    const ms = Date.now() - t0;
    const users = intent.users ? Object.keys(intent.users).length : 0;
    if (refence) {
      this.log.warn({ instance: addr, reason, ms }, 'guard: fence was lost; fenced again');
      this.emit('guard.fenced', addr, `fenced again: ${reason}`, { mode: intent.mode, refence: '1', apply_ms: String(ms) });
    } else {
      this.log.warn({ instance: addr, reason, mode: intent.mode, users, ms }, 'guard: master fenced');
      this.emit('guard.fenced', addr, `fenced (${intent.mode}): ${reason}`, {
        mode: intent.mode,
        apply_ms: String(ms),
        users: String(users),
      });
    }
  }

  private async evaluateFenced(s: Slot, intent: FenceIntent, round: SentinelRound | undefined): Promise<void> {
    const addr = s.spec.address;
    if (s.role === 'unknown') {
      s.phase = 'fenced';
      s.waitingFor = `instance unreachable: ${s.error ?? ''}`;
      return;
    }
    if (!s.sentinelName && intent.sentinelName) s.sentinelName = intent.sentinelName;
    if (s.phase !== 'demoting') s.phase = 'fenced';

    const c = this.cutOff(s, round);
    const gap = await this.fence.gap(this.ctx(s), intent);
    // After a lift whose save failed the fence is off on purpose: the lift is retried below, unless the host is cut off again.
    if (gap && !(s.liftUnsaved && !c.cut)) {
      await this.applyFence(s, `${gap}; fence kept until the instance's role is settled`, true);
      if (!this.intent.has(addr)) return;
    }

    const now = Date.now();
    if (c.cut) {
      s.okSinceMs = null;
      s.waitingFor = `host still cut off: ${c.why}`;
      return;
    }
    s.okSinceMs ??= now;
    const waited = now - s.okSinceMs;
    if (waited < this.config.hysteresisMs) {
      s.waitingFor = `hysteresis: not cut off for ${waited} of ${this.config.hysteresisMs} ms`;
      return;
    }
    if (!round) {
      s.waitingFor = 'no Sentinel round';
      return;
    }
    if (!s.sentinelName) {
      s.waitingFor = 'the Sentinel master name of this instance is unknown (set redis[].guard.sentinelName)';
      return;
    }

    const rm = rightfulMaster(round, s.sentinelName);
    if (!rm.known) {
      s.waitingFor = rm.reason;
      return;
    }
    s.sentinelMaster = rm.address;
    if (!rm.clean) {
      s.waitingFor = `Sentinels are still failing over ${s.sentinelName}`;
      return;
    }

    const announce = this.config.sentinels.announceHost;
    const me = isThisInstance(rm.address, addr, announce);
    let zkMaster: string | null | undefined;
    const znode = masterZnodeFor(s.spec);
    if (znode && this.zkState === 'reachable') {
      const data = await this.zk.getData(znode, this.config.zookeeper.probeTimeoutMs);
      zkMaster = data ? parseMasterZnode(data) : null;
      s.zkMaster = zkMaster ?? undefined;
    }

    if (me) {
      if (zkMaster && !isThisInstance(zkMaster, addr, announce)) {
        s.waitingFor = `the Sentinels name this instance master of ${s.sentinelName} but ZooKeeper (${znode}) names ${zkMaster}`;
        return;
      }
      const how = zkMaster
        ? `ZooKeeper and ${rm.voters} Sentinels (epoch ${rm.configEpoch}) name it master`
        : this.zkState === 'reachable'
          ? `${rm.voters} Sentinels (epoch ${rm.configEpoch}) name it master`
          : `ZooKeeper still unreachable but ${c.why}`;
      await this.lift(s, intent, true, `restored: ${how}`, { how: 'restored' });
      return;
    }

    // Another instance is the master: this one must follow it before the fence comes off.
    if (s.master === rm.address && s.linkUp) {
      await this.lift(s, intent, false, `unfenced as a replica of ${rm.address} (replaced by a failover; link up)`, {
        how: 'demoted',
        master: rm.address,
      });
      return;
    }
    if (s.master !== rm.address) {
      const [host, port] = splitAddress(rm.address);
      await s.client.call('REPLICAOF', host, String(port));
      s.phase = 'demoting';
      this.log.warn(
        { instance: addr, master: rm.address },
        'guard: this master was replaced while fenced; making it a replica of the new master (fence stays until the link is up)',
      );
      this.emit(
        'guard.demoted',
        addr,
        `replaced by ${rm.address} (epoch ${rm.configEpoch}); REPLICAOF issued, fence kept until the link is up`,
        { master: rm.address },
      );
    }
    s.waitingFor = `replication link to ${rm.address} is not up yet`;
  }

  private async lift(s: Slot, intent: FenceIntent, stillMaster: boolean, message: string, attrs: Record<string, string>): Promise<void> {
    const addr = s.spec.address;
    await withTimeout(this.fence.lift(this.ctx(s), intent, { stillMaster }), this.config.fence.timeoutMs, 'unfence');
    s.liftUnsaved = true;
    // Saved before it leaves memory: a failed save keeps the intent, so the next loop lifts (idempotent) and saves again.
    const rest = new Map(this.intent);
    rest.delete(addr);
    this.intents.save(rest);
    this.intent.delete(addr);
    s.liftUnsaved = false;
    this.once.clear(`fencefail:${addr}`);
    const fencedForMs = Date.now() - intent.fencedAtMs;
    s.phase = stillMaster ? 'serving' : 'replica';
    s.waitingFor = undefined;
    s.okSinceMs = null;
    this.log.warn({ instance: addr, fencedForMs, ...attrs }, `guard: ${message}`);
    this.emit('guard.unfenced', addr, message, { ...attrs, mode: intent.mode, fenced_for_ms: String(fencedForMs) });
  }

  private async applyBackstop(s: Slot): Promise<void> {
    const b = this.config.backstop!;
    try {
      const r = (await s.client.call('CONFIG', 'GET', 'min-replicas-to-write')) as string[];
      if (Number(r[1]) === b.minReplicasToWrite) return;
      await s.client.call(
        'CONFIG',
        'SET',
        'min-replicas-to-write',
        String(b.minReplicasToWrite),
        'min-replicas-max-lag',
        String(b.minReplicasMaxLagS),
      );
      this.log.info({ instance: s.spec.address, ...b }, 'guard: backstop min-replicas-to-write set');
    } catch (err) {
      if (this.once.enter(`backstop:${s.spec.address}`, 'refused'))
        this.log.warn(
          { instance: s.spec.address, err: errorText(err) },
          'guard: cannot set the min-replicas backstop (CONFIG refused?); continuing without it',
        );
    }
  }

  view(): GuardView {
    const b = guardBudget(this.config);
    return {
      zkState: this.zkState,
      zkSinceMs: this.zkSinceMs,
      zkConsecutiveFailures: this.zk.consecutiveFailures,
      zkLastOkMs: this.zk.lastOkMs,
      zkLastError: this.zk.lastError,
      zkClientsCreated: this.zk.clientsCreated,
      zkWorkersStarted: this.zk.workersStarted,
      zkLastWorkerError: this.zk.lastWorkerError,
      sentinelsTotal: this.panel.total,
      sentinelsAnswered: this.lastRound ? this.lastRound.answers.size : null,
      sentinelRoundAtMs: this.lastRound?.atMs ?? 0,
      mode: this.fence.mode,
      loops: this.loops,
      budgetWorstCaseMs: b.worstCaseFenceMs,
      budgetLimitMs: b.limitMs,
      ...(this.budgetViolation ? { budgetViolation: this.budgetViolation } : {}),
      instances: this.slots.map((s) => {
        const i = this.intent.get(s.spec.address);
        const v: InstanceView = { address: s.spec.address, phase: s.phase, role: s.role, fenced: !!i };
        if (i) {
          v.fencedSinceMs = i.fencedAtMs;
          v.fenceReason = i.reason;
          v.fenceMode = i.mode;
        }
        if (s.sentinelName) v.sentinelName = s.sentinelName;
        if (s.sentinelMaster) v.sentinelMaster = s.sentinelMaster;
        if (s.zkMaster) v.zkMaster = s.zkMaster;
        if (s.waitingFor) v.waitingFor = s.waitingFor;
        if (s.error) v.error = s.error;
        return v;
      }),
    };
  }
}
