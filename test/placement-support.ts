// Shared by the placement tests and benchmark: synthetic hosts that speak the real agent
// protocol (grpc-js stream, bearer token, Hello then Reports) with the capacity we choose,
// and small helpers for the placement API.
import crypto from 'node:crypto';
import { PROTOCOL_VERSION, type Report, type RedisSample } from '../proto/index.js';
import { TestAgent } from './collector-support.js';
import { DEFAULT_TOKEN, type CollectorProcess } from './harness/index.js';

export const GB = 1024 ** 3;
export const MB = 1024 ** 2;

/** Whatever closes the streams at the end (the test's harness). */
export interface Owner {
  onClose(fn: () => Promise<void>): void;
}

export interface HostSpec {
  hostId: string;
  labels?: Record<string, string>;
  roles?: string[];
  intervalMs?: number;
  cpuCores?: number;
  cpuPercent?: number;
  memTotalBytes?: number;
  memAvailableBytes?: number;
  maxmemoryReservedBytes?: number;
  diskTotalBytes?: number;
  diskFreeBytes?: number;
  instanceSlots?: number;
  runningInstances?: number;
  /** Idle instances (no keys, no cluster) with their maxmemory. */
  idle?: { address: string; maxmemoryBytes: number }[];
}

/** The defaults a synthetic host reports: 16 cores at 20 %, 64 GB with 16 GB reserved, 8 slots with 2 used. */
export function fullSpec(s: HostSpec): Required<HostSpec> {
  return {
    labels: { env: 'prod', city: 'sz', idc: 'sz-a' },
    roles: ['redis'],
    intervalMs: 60_000,
    cpuCores: 16,
    cpuPercent: 20,
    memTotalBytes: 64 * GB,
    memAvailableBytes: 48 * GB,
    maxmemoryReservedBytes: 16 * GB,
    diskTotalBytes: 1000 * GB,
    diskFreeBytes: 800 * GB,
    instanceSlots: 8,
    runningInstances: 2,
    idle: [],
    ...s,
  };
}

function idleSample(address: string, maxmemory: number, now: number): RedisSample {
  return {
    address,
    cluster: '',
    group: '',
    up: true,
    error: '',
    sampledAtMs: now,
    role: 'master',
    info: {},
    replicas: [],
    keyspace: [],
    commandstats: [],
    latencystats: [],
    errorstats: [],
    maxmemory,
    maxclients: 10_000,
    unavailable: [],
    slowlog: [],
  };
}

export function capacityReport(s: Required<HostSpec>, seq: number, now = Date.now()): Report {
  return {
    seq,
    timestampMs: now,
    host: {
      cpuPercent: s.cpuPercent,
      cpuCores: s.cpuCores,
      load1: 0,
      load5: 0,
      load15: 0,
      memTotalBytes: s.memTotalBytes,
      memAvailableBytes: s.memAvailableBytes,
      swapTotalBytes: 0,
      swapUsedBytes: 0,
      dataPath: '/data',
      diskTotalBytes: s.diskTotalBytes,
      diskFreeBytes: s.diskFreeBytes,
      diskReadBytesPerSec: 0,
      diskWriteBytesPerSec: 0,
      netRxBytesPerSec: 0,
      netTxBytesPerSec: 0,
      netInterface: 'eth0',
    },
    capacity: {
      instanceSlots: s.instanceSlots,
      runningInstances: s.runningInstances,
      maxmemoryReservedBytes: s.maxmemoryReservedBytes,
      idleInstances: s.idle.length,
      idleAddresses: s.idle.map((i) => i.address),
    },
    redis: s.idle.map((i) => idleSample(i.address, i.maxmemoryBytes, now)),
    proxies: [],
    events: [],
  };
}

/** One synthetic host: a real gRPC stream to the collector, Hello, then reports on demand. */
export class SyntheticHost {
  readonly spec: Required<HostSpec>;
  private readonly agent: TestAgent;
  private seq = 0;

  private constructor(collector: CollectorProcess, spec: HostSpec) {
    this.spec = fullSpec(spec);
    this.agent = new TestAgent(collector.grpcAddress, collector.tokens[0] ?? DEFAULT_TOKEN);
  }

  /** Connects, says hello and sends the first report (resolves on its ack). */
  static async start(owner: Owner, collector: CollectorProcess, spec: HostSpec): Promise<SyntheticHost> {
    const h = new SyntheticHost(collector, spec);
    owner.onClose(async () => h.close());
    await h.agent.hello({
      hostId: h.spec.hostId,
      labels: h.spec.labels,
      roles: h.spec.roles,
      agentVersion: '0.0.0-synthetic',
      intervalMs: h.spec.intervalMs,
      sessionId: crypto.randomUUID(),
      protocolVersion: PROTOCOL_VERSION,
    });
    await h.report();
    return h;
  }

  /** Sends a report with the spec (changed by `patch`) and waits for the ack. */
  async report(patch: Partial<HostSpec> = {}): Promise<void> {
    Object.assign(this.spec, patch);
    await this.agent.report(capacityReport(this.spec, ++this.seq));
  }

  close(): void {
    this.agent.close();
  }
}

/** Starts many synthetic hosts, `concurrency` streams opening at a time. */
export async function startHosts(owner: Owner, collector: CollectorProcess, specs: HostSpec[], concurrency = 64): Promise<SyntheticHost[]> {
  const out: SyntheticHost[] = new Array(specs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, specs.length) }, async () => {
      while (next < specs.length) {
        const i = next++;
        out[i] = await SyntheticHost.start(owner, collector, specs[i]!);
      }
    }),
  );
  return out;
}

export interface PlaceResult {
  status: number;
  body: any;
  replay: boolean;
}

export async function place(collector: CollectorProcess, body: Record<string, unknown>): Promise<PlaceResult> {
  const res = await collector.request('/api/v1/placements', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: res.body, replay: res.headers.get('idempotent-replay') === 'true' };
}

export async function placementAction(
  collector: CollectorProcess,
  requestId: string,
  action: 'confirm' | 'release',
): Promise<{ status: number; body: any }> {
  const res = await collector.request(`/api/v1/placements/${encodeURIComponent(requestId)}/${action}`, { method: 'POST' });
  return { status: res.status, body: res.body };
}

let ids = 0;
/** A requestId unique in this process. */
export const rid = (prefix = 'req'): string => `${prefix}-${process.pid}-${++ids}`;

/** Host ids of a successful placement, in member order. */
export const hostsOf = (r: PlaceResult): string[] => (r.body.members as { host: string }[]).map((m) => m.host);
