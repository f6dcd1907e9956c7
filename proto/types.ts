// TypeScript view of proto/redisfleet/v1/fleet.proto as loaded by proto/index.ts
// (camelCase names, 64-bit integers as JS numbers, oneofs as `body` / `kind`).
// Keep it in step with the .proto: test/proto.test.ts round-trips every message.

export type Value = { int: number } | { float: number } | { str: string };

export interface Hello {
  hostId: string;
  labels: Record<string, string>;
  roles: string[];
  agentVersion: string;
  intervalMs: number;
  sessionId: string;
  protocolVersion: number;
  /** Report forms offered besides 1 (proto/form2.ts); absent from agents that predate forms. */
  reportForms?: number[];
  /** The agent's redis schema fingerprint (form 2 index). */
  schema?: number;
}

export interface Welcome {
  collectorVersion: string;
  serverTimeMs: number;
  maxMessageBytes?: number;
  /** The form to send reports in (2 = redisV2); 0 or absent from a collector that predates forms. */
  reportForm?: number;
}
export interface Ack {
  sessionId: string;
  seq: number;
}
export interface Reject {
  seq: number;
  reason: string;
}
export interface Directive {
  id: string;
  kind: string;
  args: Record<string, string>;
}

export interface HostMetrics {
  cpuPercent: number;
  cpuCores: number;
  load1: number;
  load5: number;
  load15: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
  dataPath: string;
  diskTotalBytes: number;
  diskFreeBytes: number;
  diskReadBytesPerSec: number;
  diskWriteBytesPerSec: number;
  netRxBytesPerSec: number;
  netTxBytesPerSec: number;
  netInterface: string;
}

export interface Capacity {
  instanceSlots: number;
  runningInstances: number;
  maxmemoryReservedBytes: number;
  idleInstances: number;
  idleAddresses: string[];
}

export interface ReplicaInfo {
  id: string;
  ip: string;
  port: number;
  state: string;
  offset: number;
  lagSeconds: number;
  lagBytes: number;
}

export interface KeyspaceInfo {
  db: string;
  keys: number;
  expires: number;
  avgTtl: number;
}

export interface CommandStat {
  command: string;
  calls: number;
  usec: number;
  usecPerCall: number;
  rejectedCalls: number;
  failedCalls: number;
}

export interface LatencyStat {
  command: string;
  p50: number;
  p99: number;
  p999: number;
}
export interface ErrorStat {
  error: string;
  count: number;
}

export interface RedisRates {
  valid: boolean;
  opsPerSec: number;
  netInputBytesPerSec: number;
  netOutputBytesPerSec: number;
  keyspaceHitRatio: number;
  evictedKeysPerSec: number;
  expiredKeysPerSec: number;
  rejectedConnectionsPerSec: number;
}

export interface Headroom {
  usedBytes: number;
  limitBytes: number;
  limitSource: 'maxmemory' | 'host_memory' | '';
  usedRatio: number;
}

export interface SlowlogEntry {
  id: number;
  timestamp: number;
  durationUsec: number;
  command: string;
  client: string;
  clientName: string;
}

export interface RedisSample {
  address: string;
  cluster: string;
  group: string;
  up: boolean;
  error: string;
  sampledAtMs: number;
  role: string;
  info: Record<string, Value>;
  replicas: ReplicaInfo[];
  keyspace: KeyspaceInfo[];
  commandstats: CommandStat[];
  latencystats: LatencyStat[];
  errorstats: ErrorStat[];
  maxmemory: number;
  maxclients: number;
  rates?: RedisRates;
  headroom?: Headroom;
  unavailable: string[];
  slowlog: SlowlogEntry[];
}

export interface ProxyItem {
  kind: string;
  tags: Record<string, string>;
  fields: Record<string, Value>;
}

export interface ProxySample {
  kind: string;
  address: string;
  name: string;
  up: boolean;
  error: string;
  fields: Record<string, Value>;
  items: ProxyItem[];
}

/** One codis-dashboard poll (items: group | server | sentinel | proxy rows). */
export interface DashboardSample {
  address: string;
  product: string;
  name: string;
  up: boolean;
  error: string;
  fields: Record<string, Value>;
  items: ProxyItem[];
}

export interface PersistenceState {
  tokenHolder: string;
  queue: string[];
  fields: Record<string, Value>;
}

export interface GuardState {
  zkState: string;
  fields: Record<string, Value>;
}

export interface Event {
  timestampMs: number;
  kind: string;
  instance: string;
  message: string;
  attrs: Record<string, string>;
}

export interface AgentStats {
  bufferedReports: number;
  droppedReports: number;
  tickCpuMs: number;
  rssBytes: number;
  reconnects: number;
}

export interface Report {
  seq: number;
  timestampMs: number;
  host?: HostMetrics;
  capacity?: Capacity;
  redis: RedisSample[];
  proxies: ProxySample[];
  /** Absent from agents that predate it. */
  dashboards?: DashboardSample[];
  persistence?: PersistenceState;
  guard?: GuardState;
  events: Event[];
  agent?: AgentStats;
  sentinels?: SentinelSample[];
  /** Form 2: the Redis samples as an encoded redisfleet.v2.RedisSamples (proto/form2.ts; then `redis` is empty). The collector turns it back into `redis` on arrival. */
  redisV2?: Buffer | Uint8Array | null;
}

export interface SentinelMasterState {
  name: string;
  address: string;
  flags: string;
  replicas: number;
  sentinels: number;
  quorum: number;
  quorumReachable: boolean;
  quorumDetail: string;
  configEpoch: number;
}

export interface SentinelSample {
  address: string;
  up: boolean;
  error: string;
  sampledAtMs: number;
  tilt: boolean;
  discovered: boolean;
  masters: SentinelMasterState[];
}

export type AgentMessage = { hello: Hello } | { report: Report };
export type CollectorMessage = { welcome: Welcome } | { ack: Ack } | { directive: Directive } | { reject: Reject };
