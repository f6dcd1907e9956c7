// GET /api/v1/capacity: the capacity table as JSON, filtered, with totals per idc, city and env.
// Rows are turned into objects here, on read; the scheduler never sees these.
import type { Placement } from './service.js';

export interface CapacityQuery {
  host?: string;
  role?: string;
  env?: string;
  city?: string;
  idc?: string;
  module?: string;
  storage?: string;
  /** true: only hosts whose last report is fresh (the Health filter's view). */
  fresh?: boolean;
}

export const CAPACITY_LABEL_FILTERS = ['env', 'city', 'idc', 'module', 'storage'] as const;
const TOTALS_BY = ['idc', 'city', 'env'] as const;

interface Totals {
  hosts: number;
  freshHosts: number;
  cpuCores: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  maxmemoryReservedBytes: number;
  heldMemoryBytes: number;
  instanceSlots: number;
  runningInstances: number;
  idleInstances: number;
  freeSlots: number;
  diskTotalBytes: number;
  diskFreeBytes: number;
}

const emptyTotals = (): Totals => ({
  hosts: 0,
  freshHosts: 0,
  cpuCores: 0,
  memTotalBytes: 0,
  memAvailableBytes: 0,
  maxmemoryReservedBytes: 0,
  heldMemoryBytes: 0,
  instanceSlots: 0,
  runningInstances: 0,
  idleInstances: 0,
  freeSlots: 0,
  diskTotalBytes: 0,
  diskFreeBytes: 0,
});

const iso = (ms: number): string | null => (ms ? new Date(ms).toISOString() : null);

export function capacityView(p: Placement, q: CapacityQuery, now = Date.now()) {
  p.sweep(now);
  const t = p.table;
  p.holds.ensureRows(t.size);
  const heldMemory = p.holds.heldMemory;
  const heldSlots = p.holds.heldSlots;
  const all = emptyTotals();
  const by = Object.fromEntries(TOTALS_BY.map((k) => [k, new Map<string, Totals>()])) as Record<
    (typeof TOTALS_BY)[number],
    Map<string, Totals>
  >;
  const hosts = [];
  for (let row = 0; row < t.size; row++) {
    const id = t.hostId(row);
    const labels = t.labels(row);
    if (q.host !== undefined && id !== q.host) continue;
    if (q.role !== undefined && !t.roleNames(row).includes(q.role)) continue;
    if (CAPACITY_LABEL_FILTERS.some((k) => q[k] !== undefined && labels[k] !== q[k])) continue;
    const fresh = t.reportedAt[row]! > 0 && t.freshUntil[row]! >= now;
    if (q.fresh !== undefined && fresh !== q.fresh) continue;
    const freeSlots = Math.max(0, t.slots[row]! - t.running[row]! - heldSlots[row]!);
    const host = {
      id,
      roles: t.roleNames(row),
      labels,
      fresh,
      lastReportAt: iso(t.reportedAt[row]!),
      reportAgeMs: t.reportedAt[row] ? now - t.reportedAt[row]! : null,
      cpu: { cores: t.cpuCores[row]!, usagePercent: t.cpuPercent[row]! },
      memory: {
        totalBytes: t.memTotal[row]!,
        availableBytes: t.memAvailable[row]!,
        maxmemoryReservedBytes: t.maxmemoryReserved[row]!,
        heldBytes: heldMemory[row]!,
        unreservedBytes: Math.max(0, t.memTotal[row]! - t.maxmemoryReserved[row]! - heldMemory[row]!),
      },
      disk: { totalBytes: t.diskTotal[row]!, freeBytes: t.diskFree[row]! },
      instances: {
        slots: t.slots[row]!,
        running: t.running[row]!,
        idle: t.idle[row]!,
        idleInstances: t
          .idleInstances(row)
          .map((i) => ({ address: i.address, maxmemoryBytes: i.maxmemoryBytes, held: p.holds.isIdleHeld(row, i.address) })),
        heldSlots: heldSlots[row]!,
        freeSlots,
      },
    };
    hosts.push(host);
    const targets = [all];
    for (const k of TOTALS_BY) {
      const v = labels[k];
      if (v === undefined) continue;
      let tot = by[k].get(v);
      if (!tot) by[k].set(v, (tot = emptyTotals()));
      targets.push(tot);
    }
    for (const tot of targets) add(tot, host, fresh);
  }
  hosts.sort((a, b) => a.id.localeCompare(b.id));
  const sortedMap = (m: Map<string, Totals>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
  return { hosts, totals: { all, idc: sortedMap(by.idc), city: sortedMap(by.city), env: sortedMap(by.env) } };
}

function add(
  t: Totals,
  h: {
    cpu: { cores: number };
    memory: { totalBytes: number; availableBytes: number; maxmemoryReservedBytes: number; heldBytes: number };
    disk: { totalBytes: number; freeBytes: number };
    instances: { slots: number; running: number; idle: number; freeSlots: number };
  },
  fresh: boolean,
): void {
  t.hosts++;
  if (fresh) t.freshHosts++;
  t.cpuCores += h.cpu.cores;
  t.memTotalBytes += h.memory.totalBytes;
  t.memAvailableBytes += h.memory.availableBytes;
  t.maxmemoryReservedBytes += h.memory.maxmemoryReservedBytes;
  t.heldMemoryBytes += h.memory.heldBytes;
  t.instanceSlots += h.instances.slots;
  t.runningInstances += h.instances.running;
  t.idleInstances += h.instances.idle;
  t.freeSlots += h.instances.freeSlots;
  t.diskTotalBytes += h.disk.totalBytes;
  t.diskFreeBytes += h.disk.freeBytes;
}
