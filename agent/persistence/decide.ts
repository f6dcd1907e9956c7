// The scheduler's decisions, as pure functions of what it observed: who holds the host's fork
// token, what is due, in which order, how much copy-on-write memory a fork will need, and
// whether the host can afford it. The I/O loop (scheduler.ts) only gathers inputs and acts.
import type { ForkKind, Job, JobKind, LastFork, PersistenceInfo, PersistencePolicy, QueueEntry, RunningFork } from './types.js';

export interface ForkActivity {
  /** The kind of child running now, if any. */
  running: ForkKind | null;
  /**
   * A fork Redis will start by itself without being asked again: a BGREWRITEAOF accepted while
   * another child ran (aof_rewrite_scheduled), or a replica waiting for its full-sync child
   * (state=wait_bgsave, e.g. during repl-diskless-sync-delay).
   */
  pending: boolean;
}

export function forkActivity(info: PersistenceInfo): ForkActivity {
  const running: ForkKind | null = info.rdbBgsaveInProgress
    ? 'rdb'
    : info.aofRewriteInProgress
      ? 'aof'
      : info.moduleForkInProgress
        ? 'module'
        : null;
  const pending = info.aofRewriteScheduled || info.replicas.some((r) => r.state === 'wait_bgsave');
  return { running, pending };
}

export interface TokenHolder {
  address: string;
  kind: ForkKind;
  pending: boolean;
}

/**
 * The host has one fork token. A running child holds it (whoever started it); failing that, a
 * pending fork does. `instances` are in configuration order, which breaks ties.
 */
export function tokenHolder(instances: { address: string; activity?: ForkActivity }[]): TokenHolder | undefined {
  for (const i of instances) {
    if (i.activity?.running) return { address: i.address, kind: i.activity.running, pending: false };
  }
  for (const i of instances) {
    if (i.activity?.pending) return { address: i.address, kind: i.activity.running ?? 'unknown', pending: true };
  }
  return undefined;
}

/** Number of instances with a child running now. */
export function forksRunning(instances: { activity?: ForkActivity }[]): number {
  return instances.filter((i) => i.activity?.running).length;
}

/** Never add a fork to an instance that is loading a dataset or in a full sync as a replica. */
export function forkBlocker(info: PersistenceInfo): string | undefined {
  if (info.loading) return 'loading';
  if (info.asyncLoading) return 'async loading';
  if (info.masterSyncInProgress) return 'full sync from its master';
  return undefined;
}

/** Growth of the AOF since its last rewrite, in percent, as Redis computes it. */
export function aofGrowthPercent(info: PersistenceInfo): number {
  const base = info.aofBaseSize > 0 ? info.aofBaseSize : 1;
  return ((info.aofCurrentSize - base) * 100) / base;
}

export interface DueInput {
  address: string;
  info: PersistenceInfo;
  policy: PersistencePolicy;
  nowMs: number;
  /** 0 = no max-age objective. */
  maxRdbAgeMs: number;
  /** A cron backup was requested for this instance and no save has happened since. */
  backupRequested: boolean;
  /** A master whose replica on this host takes the backups instead (max-age, cron). */
  backupsOnReplica: boolean;
}

/**
 * The forks due on one instance. Urgency is "how many times past its trigger":
 * - RDB save point: the smaller of changes/needed and age/needed (both must hold for Redis too),
 *   the largest over the satisfied points;
 * - max-age objective: age / maxRdbAgeMs, and such a job is `overdue` (ranked first);
 * - AOF: growth / auto-aof-rewrite-percentage.
 */
export function dueJobs(x: DueInput): Job[] {
  const { info, policy } = x;
  if (forkBlocker(info)) return [];
  const jobs: Job[] = [];
  const onMaster = info.role === 'master';
  const ageS = Math.max(0, x.nowMs / 1000 - info.rdbLastSaveTime);
  const changes = info.rdbChangesSinceLastSave;

  let savePointUrgency = 0;
  for (const sp of policy.savePoints) {
    if (changes >= sp.changes && ageS >= sp.seconds) {
      const byChanges = sp.changes > 0 ? changes / sp.changes : Infinity;
      savePointUrgency = Math.max(savePointUrgency, Math.min(byChanges, ageS / sp.seconds));
    }
  }
  const backups = policy.rdbBackups && !x.backupsOnReplica;
  const ageRatio = x.maxRdbAgeMs > 0 ? (ageS * 1000) / x.maxRdbAgeMs : 0;
  const overdue = backups && x.maxRdbAgeMs > 0 && ageRatio >= 1 && changes > 0;
  if (overdue) {
    jobs.push({
      address: x.address,
      kind: 'rdb',
      reason: 'max-age',
      urgency: Math.max(ageRatio, savePointUrgency),
      overdue: true,
      onMaster,
    });
  } else if (savePointUrgency > 0) {
    jobs.push({ address: x.address, kind: 'rdb', reason: 'save-point', urgency: savePointUrgency, overdue: false, onMaster });
  } else if (backups && x.backupRequested) {
    jobs.push({ address: x.address, kind: 'rdb', reason: 'backup', urgency: 1, overdue: false, onMaster });
  }

  if (info.aofEnabled && policy.aofRewritePercentage > 0 && info.aofCurrentSize > policy.aofRewriteMinSize) {
    const growth = aofGrowthPercent(info);
    if (growth >= policy.aofRewritePercentage) {
      jobs.push({
        address: x.address,
        kind: 'aof',
        reason: 'aof-growth',
        urgency: growth / policy.aofRewritePercentage,
        overdue: false,
        onMaster,
      });
    }
  }
  return jobs;
}

/**
 * Queue order: jobs past the max-age objective first; then everything except masters' RDB
 * saves (replicas take RDB backups in preference to masters); then by urgency; then by
 * address and kind so the order is stable.
 */
export function orderQueue<T extends Job>(jobs: T[]): T[] {
  const key = (j: Job): [number, number, number] => [j.overdue ? 0 : 1, j.kind === 'rdb' && j.onMaster ? 1 : 0, -j.urgency];
  return [...jobs].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return a.address === b.address ? a.kind.localeCompare(b.kind) : a.address.localeCompare(b.address);
  });
}

export interface BackupCandidate {
  address: string;
  managed: boolean;
  up: boolean;
  info?: PersistenceInfo;
}

/**
 * Masters whose backups a replica on this host takes instead: some managed, reachable replica
 * on this host reports this master as its master with the link up.
 */
export function mastersBackedUpByReplica(instances: BackupCandidate[]): Set<string> {
  const out = new Set<string>();
  const masters = new Set(instances.filter((i) => i.up && i.info?.role === 'master').map((i) => i.address));
  for (const r of instances) {
    if (!r.managed || !r.up || r.info?.role !== 'slave' || !r.info.masterLinkUp) continue;
    const master = `${r.info.masterHost}:${r.info.masterPort}`;
    if (masters.has(master)) out.add(master);
  }
  return out;
}

/** Past copy-on-write sizes of one instance, newest last. */
export interface CowHistory {
  rdb: number[];
  aof: number[];
}

export function recordCow(history: CowHistory, kind: JobKind, bytes: number, keep: number): CowHistory {
  const next = { rdb: [...history.rdb], aof: [...history.aof] };
  next[kind].push(bytes);
  if (next[kind].length > keep) next[kind].splice(0, next[kind].length - keep);
  return next;
}

export interface CowEstimate {
  bytes: number;
  basis: 'history' | 'rss';
}

/**
 * The child's copy-on-write: the largest recent COW of that kind (else of the other kind, the
 * same dataset being copied) times the safety factor; a fraction of RSS without any history.
 */
export function estimateCow(kind: JobKind, history: CowHistory, rssBytes: number, safetyFactor: number, rssFraction: number): CowEstimate {
  const own = history[kind];
  const values = own.length > 0 ? own : history[kind === 'rdb' ? 'aof' : 'rdb'];
  if (values.length > 0) return { bytes: Math.ceil(Math.max(...values) * safetyFactor), basis: 'history' };
  return { bytes: Math.ceil(rssBytes * rssFraction), basis: 'rss' };
}

/** The host can afford the fork when MemAvailable minus the reserve covers the estimate. */
export function admits(estimateBytes: number, memAvailableBytes: number, reserveBytes: number): boolean {
  return memAvailableBytes - reserveBytes >= estimateBytes;
}

/**
 * The job to start now, from the ordered queue: the first one memory admission accepts. Jobs
 * ahead of it that admission refused are returned as `blocked`.
 */
export function pickNext(
  queue: QueueEntry[],
  memAvailableBytes: number,
  reserveBytes: number,
): { start?: QueueEntry; blocked: QueueEntry[] } {
  const blocked: QueueEntry[] = [];
  for (const q of queue) {
    if (admits(q.estimateBytes, memAvailableBytes, reserveBytes)) return { start: q, blocked };
    blocked.push(q);
  }
  return { blocked };
}

/** Per instance, what the scheduler remembers about forks between polls. */
export interface ForkTracker {
  runId: string;
  totalForks: number;
  rdbSaves: number;
  aofRewrites: number;
  running?: RunningFork;
  /** Forks the scheduler started since the last poll (already counted in total_forks). */
  agentStarts: { rdb: number; aof: number };
  /** The scheduler's BGREWRITEAOF was answered "scheduled": Redis will fork it later. */
  agentAofScheduled: boolean;
}

export interface ForkObservation {
  tracker: ForkTracker;
  /** A child that ended since the last poll; error text is filled in by the caller. */
  ended?: LastFork;
  /** A child first seen now (foreign, or our scheduled AOF rewrite). */
  started?: RunningFork;
  /** Forks that started and ended between two polls without being seen. */
  missed?: { count: number; kind: ForkKind };
  /** The instance restarted (new run_id) since the last poll. */
  restarted: boolean;
}

function runningSince(kind: ForkKind, info: PersistenceInfo, nowMs: number): number {
  const sec = kind === 'rdb' ? info.rdbCurrentBgsaveTimeSec : kind === 'aof' ? info.aofCurrentRewriteTimeSec : -1;
  return nowMs - Math.max(0, sec) * 1000;
}

function endOf(r: RunningFork, info: PersistenceInfo, nowMs: number): LastFork {
  const status = r.kind === 'rdb' ? info.rdbLastBgsaveStatus : r.kind === 'aof' ? info.aofLastBgrewriteStatus : 'ok';
  const result = r.killed ? 'killed' : status === 'ok' ? 'ok' : 'error';
  // Redis reports the child's COW only when it succeeded; otherwise the last seen current_cow_size.
  const reported =
    r.kind === 'rdb' ? info.rdbLastCowSize : r.kind === 'aof' ? info.aofLastCowSize : r.kind === 'module' ? info.moduleForkLastCowSize : 0;
  return {
    kind: r.kind,
    origin: r.origin,
    startedAt: r.startedAt,
    durationMs: Math.max(0, nowMs - r.startedAt),
    cowBytes: result === 'ok' ? reported : r.currentCowBytes,
    result,
  };
}

export function newTracker(info: PersistenceInfo): ForkTracker {
  return {
    runId: info.runId,
    totalForks: info.totalForks,
    rdbSaves: info.rdbSaves,
    aofRewrites: info.aofRewrites,
    agentStarts: { rdb: 0, aof: 0 },
    agentAofScheduled: false,
  };
}

/** Compares a fresh INFO with what was known: forks ended, started (by someone else), missed. */
export function observeForks(prev: ForkTracker | undefined, info: PersistenceInfo, nowMs: number): ForkObservation {
  const act = forkActivity(info);
  if (!prev || prev.runId !== info.runId) {
    const tracker = newTracker(info);
    let started: RunningFork | undefined;
    if (act.running) {
      started = {
        kind: act.running,
        origin: 'foreign',
        startedAt: runningSince(act.running, info, nowMs),
        currentCowBytes: info.currentCowSize,
      };
      tracker.running = started;
    }
    let ended: LastFork | undefined;
    if (prev?.running) {
      ended = {
        ...endOf(prev.running, info, nowMs),
        result: 'error',
        cowBytes: prev.running.currentCowBytes,
        error: 'the instance restarted while the child ran',
      };
    }
    return { tracker, started, ended, restarted: prev !== undefined };
  }

  const tracker: ForkTracker = {
    ...prev,
    totalForks: info.totalForks,
    rdbSaves: info.rdbSaves,
    aofRewrites: info.aofRewrites,
    agentStarts: { rdb: 0, aof: 0 },
  };
  let ended: LastFork | undefined;
  let started: RunningFork | undefined;
  const r = prev.running;
  if (r && act.running !== r.kind) {
    ended = endOf(r, info, nowMs);
    tracker.running = undefined;
  } else if (r) {
    tracker.running = { ...r, currentCowBytes: info.currentCowSize };
  }
  if (act.running && (!r || act.running !== r.kind)) {
    const ours = act.running === 'aof' && prev.agentAofScheduled;
    started = {
      kind: act.running,
      origin: ours ? 'agent' : 'foreign',
      startedAt: ours ? nowMs : runningSince(act.running, info, nowMs),
      currentCowBytes: info.currentCowSize,
      ...(ours ? { reason: 'aof-growth' as const } : {}),
    };
    if (ours) tracker.agentAofScheduled = false;
    tracker.running = started;
  }
  if (tracker.agentAofScheduled && !info.aofRewriteScheduled && !act.running) tracker.agentAofScheduled = false;

  const seen = prev.agentStarts.rdb + prev.agentStarts.aof + (started ? 1 : 0);
  const missedCount = info.totalForks - prev.totalForks - seen;
  let missed: ForkObservation['missed'];
  if (missedCount > 0) {
    const seenAof = prev.agentStarts.aof + (started?.kind === 'aof' ? 1 : 0);
    const seenRdb = prev.agentStarts.rdb + (started?.kind === 'rdb' ? 1 : 0);
    const kind: ForkKind =
      prev.aofRewrites >= 0 && info.aofRewrites - prev.aofRewrites > seenAof
        ? 'aof'
        : prev.rdbSaves >= 0 && info.rdbSaves - prev.rdbSaves > seenRdb
          ? 'rdb'
          : 'unknown';
    missed = { count: missedCount, kind };
  }
  return { tracker, ended, started, missed, restarted: false };
}

/** Redis replies to BGSAVE / BGREWRITEAOF, classified (never a failure when merely busy). */
export type StartReply = 'started' | 'scheduled' | 'busy' | 'failed';

export function classifyStartReply(reply: string): StartReply {
  const r = reply.toLowerCase();
  if (r.includes('already in progress') || r.includes('another child process is active')) return 'busy';
  if (r.includes('scheduled')) return 'scheduled';
  if (r.includes('started')) return 'started';
  return 'failed';
}
