// Shapes shared by the persistence scheduler's pure decision code and its I/O loop.
import type { Redis } from 'ioredis';
import type { Logger } from '../../common/index.js';
import type { Event } from '../../proto/index.js';

/** What a fork child does: an RDB save (also a replica full sync), an AOF rewrite, a module fork. */
export type ForkKind = 'rdb' | 'aof' | 'module' | 'unknown';
/** Forks the scheduler started, and forks someone else started (replica sync, operator, Redis). */
export type ForkOrigin = 'agent' | 'foreign';
export type ForkResult = 'ok' | 'error' | 'killed';
/** The forks the scheduler itself starts. */
export type JobKind = 'rdb' | 'aof';
export type JobReason = 'save-point' | 'max-age' | 'backup' | 'aof-growth';

/** One Redis `save` point: save when `changes` writes happened and `seconds` passed. */
export interface SavePoint {
  seconds: number;
  changes: number;
}

/** The operator's persistence policy for one instance, applied by the scheduler instead of Redis. */
export interface PersistencePolicy {
  /** Redis `save` points; [] = no change-driven RDB saves. */
  savePoints: SavePoint[];
  /** Redis `auto-aof-rewrite-percentage`; 0 = no growth-driven rewrites. */
  aofRewritePercentage: number;
  /** Redis `auto-aof-rewrite-min-size` in bytes. */
  aofRewriteMinSize: number;
  /** Include the instance in the max-age objective and cron backups (default: it has save points). */
  rdbBackups: boolean;
}

/**
 * Where the policy came from: the instance's own triggers when first seen ('instance'), the
 * scheduler's record from an earlier run ('recorded'), or nothing: the triggers were already off
 * and no record exists ('observed-off'). `policyOverride` is applied on top of any of them.
 */
export type PolicySource = 'instance' | 'recorded' | 'observed-off';

export interface PersistenceConfig {
  loopIntervalMs: number;
  /** While a child runs, its instance is polled this often (end detection, COW, memory floor). */
  childPollIntervalMs: number;
  cowSafetyFactor: number;
  rssFractionWithoutHistory: number;
  reserveBytes: number;
  floorBytes: number;
  floorAction: 'alert' | 'kill';
  /** Max-age objective for RDB files of instances with rdbBackups (0 = none). */
  maxRdbAgeMs: number;
  /** node-cron expression for off-peak backups (one RDB save per eligible instance). */
  backupCron?: string;
  backupTimezone?: string;
  /** After a failed start or a failed child, wait this long before forking that instance again. */
  retryAfterFailureMs: number;
  commandTimeoutMs: number;
  /** JSON file keeping each instance's original triggers across agent restarts. */
  statePath?: string;
  /** How many past COW sizes per kind feed the estimate. */
  cowHistoryLength: number;
}

export interface InstanceSpec {
  /** host:port as configured (the key everywhere). */
  address: string;
  /** A connection owned by the caller; without it the scheduler opens (and closes) its own. */
  client?: Redis;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  /**
   * The instance's log file, when CONFIG GET logfile cannot tell (stdout captured elsewhere,
   * CONFIG refused). Failed saves are reported with the warning lines Redis wrote there.
   */
  logFile?: string;
  /** Leave this instance's triggers alone; its forks still hold the host token. */
  optOut?: boolean;
  policyOverride?: Partial<PersistencePolicy>;
}

export interface SchedulerOptions {
  instances: InstanceSpec[];
  config?: Partial<PersistenceConfig>;
  /** Host MemAvailable in bytes (default: /proc/meminfo). Injected by tests. */
  readMemAvailable?: () => number;
  logger?: Logger;
  onEvent?: (event: Event) => void;
}

/** Typed view of the INFO fields the scheduler reads. */
export interface PersistenceInfo {
  runId: string;
  processId: number;
  configFile: string;
  role: string;
  loading: boolean;
  asyncLoading: boolean;
  masterSyncInProgress: boolean;
  masterHost: string;
  masterPort: number;
  masterLinkUp: boolean;
  /** Replicas listed by a master (slaveN lines). */
  replicas: { ip: string; port: number; state: string }[];
  rdbBgsaveInProgress: boolean;
  aofRewriteInProgress: boolean;
  moduleForkInProgress: boolean;
  aofRewriteScheduled: boolean;
  rdbChangesSinceLastSave: number;
  /** Unix seconds. */
  rdbLastSaveTime: number;
  rdbLastBgsaveStatus: string;
  rdbLastBgsaveTimeSec: number;
  rdbCurrentBgsaveTimeSec: number;
  /** -1 when the field does not exist (before 7.0). */
  rdbSaves: number;
  rdbLastCowSize: number;
  moduleForkLastCowSize: number;
  aofEnabled: boolean;
  aofCurrentSize: number;
  aofBaseSize: number;
  aofLastRewriteTimeSec: number;
  aofCurrentRewriteTimeSec: number;
  aofLastBgrewriteStatus: string;
  aofRewrites: number;
  aofLastCowSize: number;
  currentCowSize: number;
  currentCowSizeAge: number;
  usedMemoryRss: number;
  totalForks: number;
}

/** A fork the scheduler wants to start. */
export interface Job {
  address: string;
  kind: JobKind;
  reason: JobReason;
  /** ≥ 1 when due; how far past its trigger (see decide.ts). */
  urgency: number;
  /** Past the max-age objective: ranked first. */
  overdue: boolean;
  /** The instance is a master (its RDB jobs rank after replicas'). */
  onMaster: boolean;
}

export interface QueueEntry extends Job {
  estimateBytes: number;
  estimateBasis: 'history' | 'rss';
  /** Why it is not starting now: the token is held, or memory admission refused it. */
  waiting?: 'token' | 'admission';
}

export interface LastFork {
  kind: ForkKind;
  origin: ForkOrigin;
  /** ms since the epoch. */
  startedAt: number;
  durationMs: number;
  cowBytes: number;
  result: ForkResult;
  /** Redis's own words when result is 'error' (its reply, or its log line). */
  error?: string;
}

export interface RunningFork {
  kind: ForkKind;
  origin: ForkOrigin;
  startedAt: number;
  reason?: JobReason;
  currentCowBytes: number;
  killed?: boolean;
}

export interface InstanceState {
  managed: boolean;
  unmanagedReason?: string;
  up: boolean;
  error?: string;
  role: string;
  policy: PersistencePolicy;
  policySource: PolicySource;
  running?: RunningFork;
  lastFork?: LastFork;
  /** COW estimate for the next RDB save (bytes). */
  cowEstimateBytes: number;
  rdbLastSaveAt: number;
  rdbChangesSinceLastSave: number;
  aofGrowthPercent?: number;
}

export interface PersistenceState {
  /** Address whose child holds the host's fork token ('' = free). */
  tokenHolder: string;
  token?: { address: string; kind: ForkKind; origin: ForkOrigin; since: number; pending: boolean };
  queue: QueueEntry[];
  memAvailableBytes: number;
  forksRunning: number;
  loops: number;
  instances: Record<string, InstanceState>;
}

export type PersistenceEventKind =
  'fork.start' | 'fork.end' | 'persistence.takeover' | 'persistence.unmanaged' | 'fork.admission_blocked' | 'fork.memory_floor';
