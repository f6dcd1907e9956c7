// The persistence scheduler's I/O loop: polls every instance on the host, takes over Redis's own
// save / AOF-rewrite triggers, and starts at most one fork at a time on the host when memory
// admission allows. Every decision is made by the pure functions in decide.ts.
import { Redis } from 'ioredis';
import cron, { type ScheduledTask } from 'node-cron';
import { createLogger, OnceLog, parseHostPort, type Logger } from '../../common/index.js';
import type { Event } from '../../proto/index.js';
import { resolveConfig } from './config.js';
import {
  aofGrowthPercent,
  classifyStartReply,
  dueJobs,
  estimateCow,
  forkActivity,
  forksRunning,
  mastersBackedUpByReplica,
  observeForks,
  orderQueue,
  pickNext,
  recordCow,
  tokenHolder,
  type CowHistory,
  type ForkActivity,
  type ForkTracker,
} from './decide.js';
import { killForkChild, readMemAvailableBytes } from './host.js';
import { effectivePolicy, formatSavePoints, learnTriggers, TRIGGERS_OFF, triggersOn, type KnownTriggers } from './policy.js';
import { PolicyStore } from './policy-store.js';
import { errorText, pollForkFlags, pollInstance, readLogLocation, setTriggers, startFork, type Poll } from './redis-io.js';
import { failureFromLog, logPath, logSize } from './redis-log.js';
import type {
  ForkKind,
  InstanceSpec,
  InstanceState,
  Job,
  LastFork,
  PersistenceConfig,
  PersistenceEventKind,
  PersistencePolicy,
  PersistenceInfo,
  PersistenceState,
  QueueEntry,
  RunningFork,
  SchedulerOptions,
} from './types.js';

/** How long to wait before asking an instance that refused CONFIG SET again (unless it restarts). */
const TAKEOVER_RETRY_MS = 60_000;
/** Events kept for drainEvents() between two drains (oldest dropped first). */
const EVENT_BUFFER = 1000;

interface Slot {
  spec: InstanceSpec;
  address: string;
  client: Redis;
  ownClient: boolean;
  up: boolean;
  error?: string;
  info?: PersistenceInfo;
  activity?: ForkActivity;
  tracker?: ForkTracker;
  known?: KnownTriggers;
  aofRewriteMinSize: number;
  policy: PersistencePolicy;
  managed: boolean;
  unmanagedReason?: string;
  takeoverRetryAt: number;
  /** '' = logs to stdout (no file to read), undefined = not known yet. */
  logFile?: string;
  logOffsetAtStart?: number;
  cow: CowHistory;
  lastFork?: LastFork;
  retryAt: number;
  backupRequestedAt?: number;
  /** startedAt of the child the memory-floor action was already taken for. */
  floorHandledFor?: number;
}

type Attrs = Record<string, string | number | boolean | undefined>;

export class PersistenceScheduler {
  readonly config: PersistenceConfig;
  private readonly slots: Slot[];
  private readonly log: Logger;
  private readonly onEvent: (e: Event) => void;
  private readonly readMem: () => number;
  private readonly store: PolicyStore;
  private readonly once = new OnceLog();
  private stopped = true;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private ticking = false;
  private cronTask?: ScheduledTask;
  private loops = 0;
  private lastFullAt = 0;
  private needFull = false;
  private memAvailable = 0;
  private queue: QueueEntry[] = [];
  private readonly blocked = new Set<string>();
  private pendingEvents: Event[] = [];
  private droppedEvents = 0;

  constructor(opts: SchedulerOptions) {
    this.config = resolveConfig(opts.config ?? {});
    this.log = opts.logger ?? createLogger('redis-fleet-agent').child({ component: 'persistence' });
    this.onEvent = opts.onEvent ?? (() => {});
    this.readMem = opts.readMemAvailable ?? (() => readMemAvailableBytes());
    this.store = new PolicyStore(this.config.statePath);
    const seen = new Set<string>();
    this.slots = opts.instances.map((spec, i) => {
      if (!spec.address) throw new Error(`persistence: instances[${i}].address is required`);
      if (seen.has(spec.address)) throw new Error(`persistence: instances[${i}].address ${spec.address} is listed twice`);
      seen.add(spec.address);
      const { client, own } = this.clientFor(spec, i);
      return {
        spec,
        address: spec.address,
        client,
        ownClient: own,
        up: false,
        aofRewriteMinSize: 0,
        policy: effectivePolicy({ save: '', aofRewritePercentage: 0, source: 'observed-off' }, 0, spec.policyOverride),
        managed: false,
        takeoverRetryAt: 0,
        cow: { rdb: [], aof: [] },
        retryAt: 0,
      };
    });
  }

  private clientFor(spec: InstanceSpec, i: number): { client: Redis; own: boolean } {
    if (spec.client) return { client: spec.client, own: false };
    const hp = spec.host && spec.port ? { host: spec.host, port: spec.port } : parseHostPort(spec.address, `instances[${i}].address`);
    const client = new Redis({
      host: hp.host,
      port: hp.port,
      username: spec.user,
      password: spec.password,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: this.config.commandTimeoutMs,
      retryStrategy: (n: number) => Math.min(200 * n, 5000),
    });
    client.on('error', (err: Error) => {
      if (this.once.enter(`conn:${spec.address}`, err.message)) {
        this.log.warn({ instance: spec.address, err: err.message }, 'persistence: connection error');
      }
    });
    client.on('ready', () => {
      if (this.once.clear(`conn:${spec.address}`)) this.log.info({ instance: spec.address }, 'persistence: connected');
    });
    return { client, own: true };
  }

  /** Connects, takes over the triggers (first loop), then loops until stop(). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await Promise.all(this.slots.filter((s) => s.ownClient).map((s) => s.client.connect().catch(() => {})));
    if (this.config.backupCron) {
      this.cronTask = cron.schedule(this.config.backupCron, () => this.requestBackups(), {
        name: 'redis-fleet-persistence-backup',
        noOverlap: true,
        ...(this.config.backupTimezone ? { timezone: this.config.backupTimezone } : {}),
      });
    }
    this.inFlight = this.fullTick().catch((err) => this.log.error({ error: errorText(err) }, 'persistence loop failed'));
    await this.inFlight;
    this.scheduleNext();
  }

  /**
   * Stops the loop (a running child is left to finish). With `restoreTriggers`, gives every
   * managed instance its operator's triggers back (and persists them like the takeover did).
   */
  async stop(opts: { restoreTriggers?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.cronTask) await this.cronTask.destroy();
    await this.inFlight;
    if (opts.restoreTriggers) {
      await Promise.all(
        this.slots
          .filter((s) => s.managed && s.known && s.up)
          .map(async (s) => {
            const res = await setTriggers(
              s.client,
              { save: s.known!.save, aofRewritePercentage: s.known!.aofRewritePercentage },
              s.info?.configFile ?? '',
              this.config.commandTimeoutMs,
            ).catch((err) => ({ error: errorText(err) }));
            if (res.error) this.log.warn({ instance: s.address, err: res.error }, 'persistence: could not restore triggers');
          }),
      );
    }
    for (const s of this.slots) if (s.ownClient) s.client.disconnect();
  }

  /** Asks for one RDB save on each eligible instance (what the backup cron does). */
  requestBackups(addresses?: string[]): void {
    const now = Date.now();
    const want = addresses ? new Set(addresses) : undefined;
    for (const s of this.slots) if (!want || want.has(s.address)) s.backupRequestedAt = now;
    this.log.info({ instances: addresses ?? 'all' }, 'persistence: backups requested');
    this.needFull = true;
    this.wake();
  }

  /**
   * Events since the last call (also delivered to onEvent as they happen), for a caller that
   * collects them once per report. At most 1000 are kept; older ones are dropped and counted.
   */
  drainEvents(): { events: Event[]; dropped: number } {
    const out = { events: this.pendingEvents, dropped: this.droppedEvents };
    this.pendingEvents = [];
    this.droppedEvents = 0;
    return out;
  }

  state(): PersistenceState {
    const now = Date.now();
    const token = tokenHolder(this.tokenView());
    const holder = token && this.slots.find((s) => s.address === token.address);
    const instances: Record<string, InstanceState> = {};
    for (const s of this.slots) {
      instances[s.address] = {
        managed: s.managed,
        ...(s.unmanagedReason ? { unmanagedReason: s.unmanagedReason } : {}),
        up: s.up,
        ...(s.error ? { error: s.error } : {}),
        role: s.info?.role ?? '',
        policy: s.policy,
        policySource: s.known?.source ?? 'observed-off',
        ...(s.tracker?.running ? { running: { ...s.tracker.running } } : {}),
        ...(s.lastFork ? { lastFork: { ...s.lastFork } } : {}),
        cowEstimateBytes: estimateCow(
          'rdb',
          s.cow,
          s.info?.usedMemoryRss ?? 0,
          this.config.cowSafetyFactor,
          this.config.rssFractionWithoutHistory,
        ).bytes,
        rdbLastSaveAt: (s.info?.rdbLastSaveTime ?? 0) * 1000,
        rdbChangesSinceLastSave: s.info?.rdbChangesSinceLastSave ?? 0,
        ...(s.info?.aofEnabled ? { aofGrowthPercent: aofGrowthPercent(s.info) } : {}),
      };
    }
    return {
      tokenHolder: token?.address ?? '',
      ...(token && holder
        ? {
            token: {
              address: token.address,
              kind: token.kind,
              pending: token.pending,
              origin: holder.tracker?.running?.origin ?? (holder.tracker?.agentAofScheduled ? 'agent' : 'foreign'),
              since: holder.tracker?.running?.startedAt ?? now,
            },
          }
        : {}),
      queue: this.queue.map((q) => ({ ...q })),
      memAvailableBytes: this.memAvailable,
      forksRunning: forksRunning(this.tokenView()),
      loops: this.loops,
      instances,
    };
  }

  // ---- loop ----

  private scheduleNext(): void {
    if (this.stopped) return;
    const sinceFull = Date.now() - this.lastFullAt;
    const untilFull = Math.max(0, this.config.loopIntervalMs - sinceFull);
    const busy = this.slots.some((s) => s.up && (s.activity?.running || s.activity?.pending));
    const delay = this.needFull
      ? Math.min(untilFull, this.config.childPollIntervalMs)
      : busy
        ? Math.min(untilFull, this.config.childPollIntervalMs)
        : untilFull;
    this.timer = setTimeout(() => this.runLoop(), delay);
  }

  private runLoop(): void {
    this.ticking = true;
    this.inFlight = this.loopOnce().finally(() => {
      this.ticking = false;
    });
    void this.inFlight.then(() => this.scheduleNext());
  }

  /** Runs the loop now instead of at the next timer (new work was requested). */
  private wake(): void {
    if (this.stopped || this.ticking || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.runLoop(), 0);
  }

  private async loopOnce(): Promise<void> {
    try {
      if (this.needFull || Date.now() - this.lastFullAt >= this.config.loopIntervalMs) await this.fullTick();
      else await this.fastTick();
    } catch (err) {
      this.log.error({ error: errorText(err) }, 'persistence loop failed');
    }
  }

  /** While a child runs: poll only the instances holding the token; a full tick when one ends. */
  private async fastTick(): Promise<void> {
    const holders = this.slots.filter((s) => s.up && (s.activity?.running || s.activity?.pending));
    this.memAvailable = this.readMemSafe();
    await Promise.all(holders.map((s) => this.pollAndObserve(s, false)));
    this.watchFloor();
    if (holders.some((s) => !s.activity?.running && !s.activity?.pending)) await this.fullTick();
  }

  private async fullTick(): Promise<void> {
    this.lastFullAt = Date.now();
    this.needFull = false;
    this.memAvailable = this.readMemSafe();
    await Promise.all(this.slots.map((s) => this.pollAndObserve(s, true)));
    this.watchFloor();
    if (!this.stopped) await this.planAndStart();
    this.loops++;
  }

  private readMemSafe(): number {
    try {
      const v = this.readMem();
      if (!Number.isFinite(v)) throw new Error(`not a number: ${v}`);
      this.once.clear('meminfo');
      return v;
    } catch (err) {
      if (this.once.enter('meminfo', errorText(err))) {
        this.log.error({ error: errorText(err) }, 'persistence: cannot read MemAvailable; no fork is admitted');
      }
      return 0;
    }
  }

  private tokenView(): { address: string; activity?: ForkActivity }[] {
    return this.slots.map((s) => ({ address: s.address, activity: s.up ? s.activity : undefined }));
  }

  // ---- observation ----

  private async pollAndObserve(s: Slot, withConfig: boolean): Promise<void> {
    let poll: Poll;
    try {
      poll = await pollInstance(s.client, withConfig && !s.spec.optOut, this.config.commandTimeoutMs);
    } catch (err) {
      s.up = false;
      s.error = errorText(err);
      s.activity = undefined;
      if (this.once.enter(`down:${s.address}`, 'down'))
        this.log.warn({ instance: s.address, err: s.error }, 'persistence: instance unreachable');
      return;
    }
    if (this.once.clear(`down:${s.address}`)) this.log.info({ instance: s.address }, 'persistence: instance reachable again');
    const now = Date.now();
    const info = poll.info;
    s.up = true;
    s.error = undefined;
    const firstSight = !s.tracker || s.tracker.runId !== info.runId;
    const obs = observeForks(s.tracker, info, now);
    s.tracker = obs.tracker;
    s.info = info;
    s.activity = forkActivity(info);
    if (firstSight) {
      s.logFile = undefined;
      if (s.cow.rdb.length === 0 && info.rdbLastBgsaveTimeSec >= 0)
        s.cow = recordCow(s.cow, 'rdb', info.rdbLastCowSize, this.config.cowHistoryLength);
      if (s.cow.aof.length === 0 && info.aofLastRewriteTimeSec >= 0)
        s.cow = recordCow(s.cow, 'aof', info.aofLastCowSize, this.config.cowHistoryLength);
    }
    if (s.logFile === undefined && s.spec.logFile !== undefined) {
      s.logFile = s.spec.logFile;
    } else if (s.logFile === undefined && !s.spec.optOut) {
      const loc = await readLogLocation(s.client, this.config.commandTimeoutMs);
      s.logFile = loc ? logPath(loc.logfile, loc.dir) : '';
    }
    if (obs.ended) await this.forkEnded(s, obs.ended, now);
    if (obs.started) this.forkStarted(s, obs.started);
    if (obs.missed) this.forksMissed(s, obs.missed, info, now);
    if (withConfig) await this.checkTriggers(s, poll, obs.restarted, now);
    if (s.backupRequestedAt !== undefined && info.rdbLastSaveTime >= Math.floor(s.backupRequestedAt / 1000))
      s.backupRequestedAt = undefined;
  }

  private forkStarted(s: Slot, r: RunningFork): void {
    s.logOffsetAtStart = logSize(s.logFile ?? '');
    this.emit(
      'fork.start',
      s.address,
      `${r.kind} child started (${r.origin === 'agent' ? 'scheduled rewrite' : 'not started by the agent'})`,
      {
        kind: r.kind,
        origin: r.origin,
        reason: r.reason,
        startedAtMs: r.startedAt,
      },
    );
  }

  private async forkEnded(s: Slot, ended: LastFork, now: number): Promise<void> {
    const lf: LastFork = { ...ended };
    if (lf.result === 'error' && !lf.error) {
      lf.error =
        failureFromLog(s.logFile ?? '', s.logOffsetAtStart) ??
        `${lf.kind === 'aof' ? 'aof_last_bgrewrite_status' : 'rdb_last_bgsave_status'}:err (the Redis log is not readable by the agent)`;
    }
    if (lf.result === 'ok' && (lf.kind === 'rdb' || lf.kind === 'aof'))
      s.cow = recordCow(s.cow, lf.kind, lf.cowBytes, this.config.cowHistoryLength);
    if (lf.result !== 'ok') s.retryAt = now + this.config.retryAfterFailureMs;
    s.lastFork = lf;
    s.logOffsetAtStart = undefined;
    s.floorHandledFor = undefined;
    this.emit('fork.end', s.address, `${lf.kind} child ended: ${lf.result}${lf.error ? ` (${lf.error})` : ''}`, {
      kind: lf.kind,
      origin: lf.origin,
      result: lf.result,
      durationMs: lf.durationMs,
      cowBytes: lf.cowBytes,
      startedAtMs: lf.startedAt,
      error: lf.error,
    });
  }

  /** Children that started and ended between two polls: reported from Redis's own counters. */
  private forksMissed(s: Slot, missed: { count: number; kind: ForkKind }, info: PersistenceInfo, now: number): void {
    const kind = missed.kind;
    const sec = kind === 'aof' ? info.aofLastRewriteTimeSec : info.rdbLastBgsaveTimeSec;
    const status = kind === 'aof' ? info.aofLastBgrewriteStatus : kind === 'rdb' ? info.rdbLastBgsaveStatus : 'ok';
    const cow = kind === 'aof' ? info.aofLastCowSize : kind === 'rdb' ? info.rdbLastCowSize : 0;
    const durationMs = Math.max(0, sec) * 1000;
    const lf: LastFork = {
      kind,
      origin: 'foreign',
      startedAt: now - durationMs,
      durationMs,
      cowBytes: cow,
      result: status === 'ok' ? 'ok' : 'error',
      ...(status === 'ok' ? {} : { error: failureFromLog(s.logFile ?? '', undefined) ?? `${kind} status err` }),
    };
    if (lf.result === 'ok' && (kind === 'rdb' || kind === 'aof')) s.cow = recordCow(s.cow, kind, cow, this.config.cowHistoryLength);
    s.lastFork = lf;
    this.emit('fork.end', s.address, `${missed.count} fork(s) not started by the agent ran between two polls`, {
      kind,
      origin: 'foreign',
      result: lf.result,
      durationMs,
      cowBytes: cow,
      unobserved: missed.count,
      error: lf.error,
    });
  }

  // ---- takeover ----

  private setUnmanaged(s: Slot, reason: string): void {
    s.managed = false;
    if (s.unmanagedReason === reason) return;
    s.unmanagedReason = reason;
    this.log.warn({ instance: s.address, reason }, 'persistence: instance not managed');
    this.emit('persistence.unmanaged', s.address, `persistence not managed: ${reason}`, { reason });
  }

  /** Writes the operator's triggers learned from the instance to the state file. */
  private recordTriggers(s: Slot): string | undefined {
    if (s.known?.source !== 'instance') return undefined;
    const { written, error } = this.store.put(s.address, s.known);
    if (error && this.once.enter('store', error)) this.log.error({ error }, 'persistence: cannot record original triggers');
    if (written && this.once.clear('store'))
      this.log.info({ instance: s.address, statePath: this.config.statePath }, 'persistence: original triggers recorded');
    return error;
  }

  private async checkTriggers(s: Slot, poll: Poll, restarted: boolean, now: number): Promise<void> {
    if (s.spec.optOut) return this.setUnmanaged(s, 'opt-out');
    if (poll.configError || !poll.triggers) return this.setUnmanaged(s, poll.configError ?? 'no trigger settings');
    const t = poll.triggers;
    const firstSight = s.known === undefined;
    s.known = learnTriggers(s.known ?? this.store.get(s.address), t);
    s.aofRewriteMinSize = t.aofRewriteMinSize;
    s.policy = effectivePolicy(s.known, t.aofRewriteMinSize, s.spec.policyOverride);
    const policyAttrs: Attrs = {
      save: s.known.save,
      aofRewritePercentage: s.known.aofRewritePercentage,
      aofRewriteMinSize: t.aofRewriteMinSize,
      policySource: s.known.source,
      policySave: formatSavePoints(s.policy.savePoints),
    };
    if (!triggersOn(t)) {
      // Triggers off by our earlier takeover: a record that could not be written then is retried here.
      const storeError = this.recordTriggers(s);
      if (!s.managed) {
        s.managed = true;
        s.unmanagedReason = undefined;
        this.emit('persistence.takeover', s.address, 'triggers already off; scheduler manages persistence', {
          reason: firstSight ? 'initial' : 'recovered',
          persisted: 'unchanged',
          storeError,
          ...policyAttrs,
        });
      }
      return;
    }
    if (s.unmanagedReason?.startsWith('CONFIG SET refused') && now < s.takeoverRetryAt && !restarted) return;
    const reason = firstSight ? 'initial' : restarted ? 'restart' : 'reverted';
    let res;
    try {
      res = await setTriggers(s.client, TRIGGERS_OFF, s.info?.configFile ?? '', this.config.commandTimeoutMs);
    } catch (err) {
      s.error = errorText(err);
      return; // unreachable now; retried next loop
    }
    if (res.error) {
      s.takeoverRetryAt = now + TAKEOVER_RETRY_MS;
      return this.setUnmanaged(s, `CONFIG SET refused: ${res.error}`);
    }
    const storeError = this.recordTriggers(s);
    if (res.persistError && this.once.enter(`rewrite:${s.address}`, res.persistError)) {
      this.log.warn(
        { instance: s.address, err: res.persistError },
        'persistence: CONFIG REWRITE failed; triggers are off until the next restart',
      );
    }
    s.managed = true;
    s.unmanagedReason = undefined;
    this.emit('persistence.takeover', s.address, `took over save / AOF rewrite triggers (${reason})`, {
      reason,
      persisted: res.persisted,
      persistError: res.persistError,
      storeError,
      ...policyAttrs,
    });
  }

  // ---- memory floor ----

  private watchFloor(): void {
    if (this.memAvailable <= 0 || this.memAvailable >= this.config.floorBytes) return;
    for (const s of this.slots) {
      const r = s.tracker?.running;
      if (!s.up || !r || s.floorHandledFor === r.startedAt) continue;
      s.floorHandledFor = r.startedAt;
      const attrs: Attrs = {
        kind: r.kind,
        origin: r.origin,
        memAvailableBytes: this.memAvailable,
        floorBytes: this.config.floorBytes,
        currentCowBytes: r.currentCowBytes,
        action: this.config.floorAction,
      };
      if (this.config.floorAction === 'kill') {
        const res = killForkChild(s.info!.processId);
        attrs.pids = res.pids.join(',');
        if (res.error) attrs.killError = res.error;
        else r.killed = true;
      }
      this.emit(
        'fork.memory_floor',
        s.address,
        `MemAvailable ${this.memAvailable} below the floor ${this.config.floorBytes} while a ${r.kind} child runs${r.killed ? '; child killed' : ''}`,
        attrs,
      );
    }
  }

  // ---- planning ----

  private async planAndStart(): Promise<void> {
    const now = Date.now();
    const token = tokenHolder(this.tokenView());
    const byReplica = mastersBackedUpByReplica(this.slots.map((s) => ({ address: s.address, managed: s.managed, up: s.up, info: s.info })));
    const jobs: Job[] = [];
    for (const s of this.slots) {
      if (!s.managed || !s.up || !s.info || now < s.retryAt) continue;
      if (byReplica.has(s.address)) s.backupRequestedAt = undefined;
      jobs.push(
        ...dueJobs({
          address: s.address,
          info: s.info,
          policy: s.policy,
          nowMs: now,
          maxRdbAgeMs: this.config.maxRdbAgeMs,
          backupRequested: s.backupRequestedAt !== undefined,
          backupsOnReplica: byReplica.has(s.address),
        }),
      );
    }
    const ordered: QueueEntry[] = orderQueue(jobs).map((j) => {
      const s = this.slot(j.address);
      const est = estimateCow(
        j.kind,
        s.cow,
        s.info?.usedMemoryRss ?? 0,
        this.config.cowSafetyFactor,
        this.config.rssFractionWithoutHistory,
      );
      return { ...j, estimateBytes: est.bytes, estimateBasis: est.basis };
    });
    if (token) {
      this.queue = ordered.map((q) => ({ ...q, waiting: 'token' }));
      this.forgetBlocked(new Set());
      return;
    }
    const { start, blocked } = pickNext(ordered, this.memAvailable, this.config.reserveBytes);
    const blockedKeys = new Set<string>();
    for (const b of blocked) {
      b.waiting = 'admission';
      const key = `${b.kind}@${b.address}`;
      blockedKeys.add(key);
      if (this.blocked.has(key)) continue;
      this.blocked.add(key);
      this.emit(
        'fork.admission_blocked',
        b.address,
        `${b.kind} fork held back: needs ~${b.estimateBytes} bytes, MemAvailable ${this.memAvailable} - reserve ${this.config.reserveBytes}`,
        {
          kind: b.kind,
          reason: b.reason,
          estimateBytes: b.estimateBytes,
          estimateBasis: b.estimateBasis,
          memAvailableBytes: this.memAvailable,
          reserveBytes: this.config.reserveBytes,
        },
      );
    }
    this.forgetBlocked(blockedKeys);
    this.queue = ordered.filter((q) => q !== start).map((q) => ({ ...q, waiting: q.waiting ?? 'token' }));
    if (!start || this.stopped) return;
    if (await this.someoneForking()) {
      this.needFull = true;
      this.queue = ordered.map((q) => ({ ...q, waiting: q.waiting ?? 'token' }));
      return;
    }
    await this.startJob(this.slot(start.address), start);
  }

  private forgetBlocked(keep: Set<string>): void {
    for (const k of [...this.blocked]) if (!keep.has(k)) this.blocked.delete(k);
  }

  /** Fresh fork flags of every reachable instance, right before forking (someone may just have). */
  private async someoneForking(): Promise<boolean> {
    const flags = await Promise.all(
      this.slots
        .filter((s) => s.up)
        .map((s) =>
          pollForkFlags(s.client, this.config.commandTimeoutMs)
            .then((i) => forkActivity(i))
            .catch(() => undefined),
        ),
    );
    return flags.some((a) => a && (a.running || a.pending));
  }

  private async startJob(s: Slot, job: QueueEntry): Promise<void> {
    const offset = logSize(s.logFile ?? '');
    const startedAt = Date.now();
    const { reply } = await startFork(s.client, job.kind, this.config.commandTimeoutMs);
    const outcome = reply.includes('no reply within') ? 'busy' : classifyStartReply(reply);
    const tracker = s.tracker!;
    switch (outcome) {
      case 'started':
        tracker.running = { kind: job.kind, origin: 'agent', startedAt, reason: job.reason, currentCowBytes: 0 };
        tracker.agentStarts[job.kind]++;
        s.activity = { running: job.kind, pending: false };
        s.logOffsetAtStart = offset;
        this.blocked.delete(`${job.kind}@${s.address}`);
        this.emit('fork.start', s.address, `${job.kind} child started by the scheduler (${job.reason})`, {
          kind: job.kind,
          origin: 'agent',
          reason: job.reason,
          urgency: Number(job.urgency.toFixed(3)),
          estimateBytes: job.estimateBytes,
          estimateBasis: job.estimateBasis,
          memAvailableBytes: this.memAvailable,
          reserveBytes: this.config.reserveBytes,
          startedAtMs: startedAt,
        });
        return;
      case 'scheduled':
        tracker.agentAofScheduled = true;
        s.activity = { running: null, pending: true };
        this.log.info({ instance: s.address, reply }, 'persistence: AOF rewrite scheduled by Redis (another child was running)');
        return;
      case 'busy':
        this.needFull = true;
        this.log.info({ instance: s.address, reply }, 'persistence: instance busy with another child; waiting');
        return;
      case 'failed': {
        const detail = failureFromLog(s.logFile ?? '', offset);
        const error = detail && !reply.includes(detail) ? `${reply}: ${detail}` : reply;
        s.lastFork = { kind: job.kind, origin: 'agent', startedAt, durationMs: 0, cowBytes: 0, result: 'error', error };
        s.retryAt = Date.now() + this.config.retryAfterFailureMs;
        this.emit('fork.end', s.address, `${job.kind} could not start: ${error}`, {
          kind: job.kind,
          origin: 'agent',
          reason: job.reason,
          result: 'error',
          durationMs: 0,
          cowBytes: 0,
          error,
          startedAtMs: startedAt,
        });
      }
    }
  }

  private slot(address: string): Slot {
    return this.slots.find((s) => s.address === address)!;
  }

  private emit(kind: PersistenceEventKind, instance: string, message: string, attrs: Attrs): void {
    const a: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== '') a[k] = String(v);
    const event: Event = { timestampMs: Date.now(), kind, instance, message, attrs: a };
    this.log.info({ event: kind, instance, attrs: a }, message);
    this.pendingEvents.push(event);
    if (this.pendingEvents.length > EVENT_BUFFER) {
      this.pendingEvents.splice(0, this.pendingEvents.length - EVENT_BUFFER);
      this.droppedEvents++;
    }
    try {
      this.onEvent(event);
    } catch (err) {
      this.log.error({ error: errorText(err) }, 'persistence: event handler threw');
    }
  }
}
