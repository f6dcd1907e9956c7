// The JSON shapes the HTTP API returns (HostView, InstanceView in interfaces.md).
// Built from state on read; nothing secret is ever part of the state.
import { sampleInfo, valueOf, type RedisSample } from '../proto/index.js';
import type { FleetState, HostRecord, InstanceRecord } from './state.js';

export type InstanceStatus = 'up' | 'down' | 'host_down';

const iso = (ms: number | null): string | null => (ms ? new Date(ms).toISOString() : null);

/** The INFO fields instanceView reads: all of INFO a cluster shares for another collector's instances (store-pg.ts). */
export const VIEW_INFO_FIELDS = [
  'used_memory',
  'maxmemory',
  'connected_clients',
  'maxclients',
  'instantaneous_ops_per_sec',
  'redis_version',
  'slave_repl_offset',
  'master_link_status',
  'master_host',
  'master_port',
  'connected_slaves',
  'master_repl_offset',
] as const;
type ViewInfoField = (typeof VIEW_INFO_FIELDS)[number];

function num(s: RedisSample, field: ViewInfoField): number | null {
  const v = valueOf(sampleInfo(s, field));
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function str(s: RedisSample, field: ViewInfoField): string | null {
  const v = valueOf(sampleInfo(s, field));
  return v === undefined ? null : String(v);
}

export function hostView(state: FleetState, h: HostRecord, now = Date.now()) {
  return {
    id: h.id,
    labels: h.labels,
    roles: h.roles,
    agentVersion: h.agentVersion,
    intervalMs: h.intervalMs,
    status: state.statusOf(h, now),
    statusSince: iso(h.statusSince),
    lastReportAt: iso(h.lastReportAt),
    lastSeq: h.lastSeq,
    connected: state.isConnected(h.id),
    host: h.host,
    capacity: h.capacity,
    instances: h.instances.length,
    agent: h.agent,
  };
}

export function instanceStatus(state: FleetState, i: InstanceRecord, now = Date.now()): InstanceStatus {
  const h = state.host(i.host);
  if (h && state.statusOf(h, now) === 'down') return 'host_down';
  return i.sample.up ? 'up' : 'down';
}

function replication(s: RedisSample) {
  if (!s.up) return null;
  if (s.role === 'slave') {
    return {
      slaveReplOffset: num(s, 'slave_repl_offset'),
      masterLinkStatus: str(s, 'master_link_status'),
      masterHost: str(s, 'master_host'),
      masterPort: num(s, 'master_port'),
      connectedSlaves: num(s, 'connected_slaves'),
    };
  }
  return {
    masterReplOffset: num(s, 'master_repl_offset'),
    connectedSlaves: num(s, 'connected_slaves'),
    replicas: s.replicas.map((r) => ({
      id: r.id,
      address: `${r.ip}:${r.port}`,
      state: r.state,
      offset: r.offset,
      lagSeconds: r.lagSeconds,
      lagBytes: r.lagBytes,
    })),
  };
}

export function instanceView(state: FleetState, i: InstanceRecord, now = Date.now()) {
  const s = i.sample;
  const maxmemory = s.maxmemory >= 0 ? s.maxmemory : num(s, 'maxmemory');
  const maxclients = s.maxclients >= 0 ? s.maxclients : num(s, 'maxclients');
  return {
    id: i.id,
    host: i.host,
    address: i.address,
    cluster: s.cluster,
    group: s.group,
    role: s.up ? s.role : '',
    status: instanceStatus(state, i, now),
    error: s.error,
    usedMemory: num(s, 'used_memory'),
    maxmemory,
    headroom: s.headroom?.limitSource
      ? {
          usedBytes: s.headroom.usedBytes,
          limitBytes: s.headroom.limitBytes,
          limitSource: s.headroom.limitSource,
          usedRatio: s.headroom.usedRatio,
        }
      : null,
    clients: num(s, 'connected_clients'),
    maxclients,
    opsPerSec: s.rates?.valid ? s.rates.opsPerSec : num(s, 'instantaneous_ops_per_sec'),
    replication: replication(s),
    unavailable: s.unavailable,
    version: str(s, 'redis_version'),
    sampledAt: iso(s.sampledAtMs || i.receivedAt),
  };
}
