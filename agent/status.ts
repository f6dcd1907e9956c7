// The agent's local status file, rewritten after every tick (atomically: temp file + rename)
// for `redis-fleet status` on this host: what is sampled, what is up, the collector link,
// the persistence queue. Works while the collector is away. No secrets in it.
import fs from 'node:fs';
import path from 'node:path';
import { fieldReader, splitInstanceFields, valueOf, type Report } from '../proto/index.js';
import type { LinkStats } from './transport/link.js';

export interface AgentStatus {
  hostId: string;
  version: string;
  sessionId: string;
  pid: number;
  startedAt: string;
  updatedAt: string;
  intervalMs: number;
  roles: string[];
  inputs: string[];
  inputErrors: Record<string, string>;
  collector: {
    addresses: string[];
    connected: boolean;
    lastSeq: number;
    bufferedReports: number;
    droppedReports: number;
    reconnects: number;
    lastReportAt: string;
    lastError: string;
  };
  instances: {
    address: string;
    up: boolean;
    role: string;
    error: string;
    usedMemoryBytes: number | null;
    maxmemoryBytes: number;
    cluster: string;
    group: string;
    unavailable: string[];
  }[];
  proxies: { kind: string; address: string; name: string; up: boolean; error: string }[];
  persistence: { tokenHolder: string; queue: string[] } | null;
  guard: {
    zkState: string;
    zkConsecutiveFailures: number | null;
    sentinelsAnswered: number | null;
    sentinelsTotal: number | null;
    instances: {
      address: string;
      phase: string;
      fenced: boolean;
      fencedSince: string | null;
      fenceReason: string;
      fenceMode: string;
      waitingFor: string;
      error: string;
    }[];
  } | null;
}

export interface StatusContext {
  hostId: string;
  version: string;
  sessionId: string;
  startedAt: number;
  intervalMs: number;
  roles: string[];
  inputs: string[];
  collectorAddresses: string[];
}

/** The status after one tick, from the report it produced. */
export function buildStatus(
  ctx: StatusContext,
  report: Omit<Report, 'seq'>,
  link: LinkStats,
  inputErrors: Map<string, string>,
  now = Date.now(),
): AgentStatus {
  const used = (i: Report['redis'][number]) => {
    // headroom carries used_memory for an answering instance: reading `info` would decode the
    // agent's form-2 sample back into a map (proto/form2.ts form2Sample)
    if (i.headroom) return i.headroom.usedBytes;
    const v = valueOf(i.info.used_memory);
    return typeof v === 'number' ? v : null;
  };
  return {
    hostId: ctx.hostId,
    version: ctx.version,
    sessionId: ctx.sessionId,
    pid: process.pid,
    startedAt: new Date(ctx.startedAt).toISOString(),
    updatedAt: new Date(now).toISOString(),
    intervalMs: ctx.intervalMs,
    roles: ctx.roles,
    inputs: ctx.inputs,
    inputErrors: Object.fromEntries(inputErrors),
    collector: {
      addresses: ctx.collectorAddresses,
      connected: link.connected,
      lastSeq: link.lastSeq,
      bufferedReports: link.bufferedReports,
      droppedReports: link.droppedReports,
      reconnects: link.reconnects,
      lastReportAt: new Date(report.timestampMs).toISOString(),
      lastError: link.lastError,
    },
    instances: report.redis.map((r) => ({
      address: r.address,
      up: r.up,
      role: r.role,
      error: r.error,
      usedMemoryBytes: used(r),
      maxmemoryBytes: r.maxmemory,
      cluster: r.cluster,
      group: r.group,
      unavailable: r.unavailable,
    })),
    proxies: report.proxies.map((p) => ({ kind: p.kind, address: p.address, name: p.name, up: p.up, error: p.error })),
    persistence: report.persistence ? { tokenHolder: report.persistence.tokenHolder, queue: report.persistence.queue } : null,
    guard: report.guard ? guardStatus(report.guard) : null,
  };
}

function guardStatus(g: NonNullable<Report['guard']>): NonNullable<AgentStatus['guard']> {
  const { host, instances } = splitInstanceFields(g);
  const h = fieldReader(host);
  return {
    zkState: g.zkState,
    zkConsecutiveFailures: h.num('zk_consecutive_failures'),
    sentinelsAnswered: h.num('sentinels_answered'),
    sentinelsTotal: h.num('sentinels_total'),
    instances: [...instances.entries()].map(([address, f]) => {
      const r = fieldReader(f);
      const since = r.num('fenced_since_ms');
      return {
        address,
        phase: r.str('phase') ?? '',
        fenced: r.flag('fenced'),
        fencedSince: since ? new Date(since).toISOString() : null,
        fenceReason: r.str('fence_reason') ?? '',
        fenceMode: r.str('fence_mode') ?? '',
        waitingFor: r.str('waiting_for') ?? '',
        error: r.str('error') ?? '',
      };
    }),
  };
}

export function writeStatusFile(file: string, status: AgentStatus): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(tmp, JSON.stringify(status, null, 2) + '\n', { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export function readStatusFile(file: string): AgentStatus {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as AgentStatus;
}
