// codis-proxy documents → one ProxySample (kind "codis"). Pure. Field names of the
// proxy-level counters are codis's own `codis_usage` names (its InfluxDB/StatsD push), so
// dashboards built on those map one to one.
import type { ProxyItem, ProxySample } from '../../proto/index.js';
import { flag, float, int, str, type Fields } from '../fields.js';
import type { CodisProxyConfig, CodisProxyModel, CodisSlot, CodisStats } from './parse.js';
import { summarizeCodisSlots } from './slots.js';

export interface CodisSampleInput {
  /** The admin address polled (host:port), reported as ProxySample.address. */
  address: string;
  stats: CodisStats;
  model?: CodisProxyModel;
  slots?: readonly CodisSlot[];
  config?: CodisProxyConfig;
  /** codis build version string (overview `version`). */
  version?: string;
  /** proxy_max_clients when the config is not available (xauth mode); the config wins. */
  maxClients?: number;
}

export function codisSample(input: CodisSampleInput): ProxySample {
  const { stats, model, config } = input;
  const f: Fields = {
    online: flag(stats.online),
    closed: flag(stats.closed),
    state: str(stats.closed ? 'closed' : stats.online ? 'online' : 'offline'),
    ops_total: int(stats.ops.total),
    ops_fails: int(stats.ops.fails),
    ops_redis_errors: int(stats.ops.redisErrors),
    ops_qps: int(stats.ops.qps),
    sessions_total: int(stats.sessions.total),
    sessions_alive: int(stats.sessions.alive),
    rusage_cpu: float(stats.rusage.cpu),
    rusage_mem: int(stats.rusage.mem),
    sentinels_switched: flag(stats.sentinels.switched),
    sentinels_servers: int(stats.sentinels.servers.length),
    primary_only: flag(stats.primaryOnly),
  };
  if (stats.rusage.raw) {
    f.rusage_threads = int(stats.rusage.raw.numThreads);
    f.rusage_cpu_time_ms = int((stats.rusage.raw.utimeNs + stats.rusage.raw.stimeNs) / 1e6);
  }
  const maxClients = config?.proxyMaxClients ?? input.maxClients;
  if (maxClients !== undefined && maxClients > 0) {
    f.proxy_max_clients = int(maxClients);
    f.sessions_ratio = float(stats.sessions.alive / maxClients);
  }
  const rt = stats.runtime;
  if (rt) {
    f.runtime_gc_num = int(rt.gcNum);
    f.runtime_gc_total_pausems = int(rt.gcTotalPauseMs);
    f.runtime_num_procs = int(rt.numProcs);
    f.runtime_num_goroutines = int(rt.numGoroutines);
    f.runtime_num_cgo_call = int(rt.numCgoCall);
    f.runtime_num_mem_offheap = int(rt.memOffheap);
    f.runtime_heap_alloc = int(rt.heapAlloc);
    f.runtime_heap_inuse = int(rt.heapInuse);
  }
  if (model) {
    f.token = str(model.token);
    f.start_time = str(model.startTime);
    f.pid = int(model.pid);
    f.product_name = str(model.productName);
    f.proxy_addr = str(model.proxyAddr);
    f.hostname = str(model.hostname);
  }
  if (input.version) f.version = str(input.version);

  const items: ProxyItem[] = [];
  for (const c of stats.ops.commands ?? []) {
    items.push({
      kind: 'command',
      tags: { command: c.command },
      fields: {
        calls: int(c.calls),
        usec: int(c.usecs),
        usec_per_call: float(c.calls > 0 ? c.usecs / c.calls : 0),
        fails: int(c.fails),
        redis_errors: int(c.redisErrors),
      },
    });
  }

  const sentinelMasters = stats.sentinels.masters;
  if (input.slots) {
    const sum = summarizeCodisSlots(input.slots);
    f.slots_total = int(sum.total);
    f.slots_assigned = int(sum.assigned);
    f.slots_unassigned = int(sum.unassigned.length);
    f.slots_locked = int(sum.locked.length);
    f.slots_migrating = int(sum.migrating.length);
    f.groups = int(sum.groups.filter((g) => g.slots > 0).length);
    const seen = new Set<string>();
    for (const g of sum.groups) {
      const id = String(g.group);
      seen.add(id);
      const fields: Fields = {
        master: str(g.master),
        slots: int(g.slots),
        addresses: int(g.addresses.length),
        migrating_in: int(g.migratingIn),
        migrating_out: int(g.migratingOut),
        replicas: int(g.replicas.length),
      };
      const sm = sentinelMasters[id];
      if (sm !== undefined) {
        fields.sentinel_master = str(sm);
        fields.sentinel_agrees = flag(sm === g.master);
      }
      items.push({ kind: 'group', tags: { group: id }, fields });
    }
    // Groups the sentinels know but no slot routes to.
    for (const [id, sm] of Object.entries(sentinelMasters)) {
      if (seen.has(id)) continue;
      items.push({ kind: 'group', tags: { group: id }, fields: { master: str(''), slots: int(0), sentinel_master: str(sm) } });
    }
  } else {
    // No slot table: the sentinel view is the only group → master map there is.
    for (const [id, sm] of Object.entries(sentinelMasters)) {
      items.push({ kind: 'group', tags: { group: id }, fields: { sentinel_master: str(sm) } });
    }
  }

  return {
    kind: 'codis',
    address: input.address,
    name: model?.productName ?? config?.productName ?? '',
    up: true,
    error: '',
    fields: f,
    items,
  };
}
