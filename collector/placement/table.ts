// The fleet's capacity table: one row per host, kept as flat columns (typed arrays, interned
// labels, a role bitmask) and updated when a report arrives, so a placement is a scan over
// numbers. The HTTP view (capacity-view.ts) turns rows back into JSON on read.
import type { RedisSample } from '../../proto/index.js';
import type { HostRecord } from '../state.js';
import { InternedColumn, NumberColumn } from './columns.js';

/** A provisioned instance with no keys and no cluster: the buffer pool a placement can hand out. */
export interface IdleInstance {
  address: string;
  maxmemoryBytes: number;
}

const NUMERIC = [
  'reportedAt',
  'freshUntil',
  'cpuCores',
  'cpuPercent',
  'memTotal',
  'memAvailable',
  'maxmemoryReserved',
  'diskTotal',
  'diskFree',
  'slots',
  'running',
  'idle',
] as const;
type NumericName = (typeof NUMERIC)[number];

const INITIAL_ROWS = 1024;

export class CapacityTable {
  private readonly rowOf = new Map<string, number>();
  private readonly hostIds: string[] = [];
  private readonly labelsOf: Record<string, string>[] = [];
  private readonly rolesOf: string[][] = [];
  private readonly idleOf: IdleInstance[][] = [];
  private readonly numeric: Record<NumericName, NumberColumn>;
  private readonly labelColumns = new Map<string, InternedColumn>();
  private readonly roleBits = new Map<string, number>();
  private roleMask = new Uint32Array(INITIAL_ROWS);
  private rows = INITIAL_ROWS;

  constructor(private readonly hostDownAfterIntervals: number) {
    this.numeric = Object.fromEntries(NUMERIC.map((n) => [n, new NumberColumn(INITIAL_ROWS)])) as Record<NumericName, NumberColumn>;
  }

  get size(): number {
    return this.hostIds.length;
  }

  // Column accessors for the plugins; re-read after an update (a column may have grown).
  get reportedAt(): Float64Array {
    return this.numeric.reportedAt.data;
  }
  /** A report older than this (ms) makes the host unhealthy: hostDownAfterIntervals × its interval. */
  get freshUntil(): Float64Array {
    return this.numeric.freshUntil.data;
  }
  get cpuCores(): Float64Array {
    return this.numeric.cpuCores.data;
  }
  get cpuPercent(): Float64Array {
    return this.numeric.cpuPercent.data;
  }
  get memTotal(): Float64Array {
    return this.numeric.memTotal.data;
  }
  get memAvailable(): Float64Array {
    return this.numeric.memAvailable.data;
  }
  get maxmemoryReserved(): Float64Array {
    return this.numeric.maxmemoryReserved.data;
  }
  get diskTotal(): Float64Array {
    return this.numeric.diskTotal.data;
  }
  get diskFree(): Float64Array {
    return this.numeric.diskFree.data;
  }
  get slots(): Float64Array {
    return this.numeric.slots.data;
  }
  get running(): Float64Array {
    return this.numeric.running.data;
  }
  get idle(): Float64Array {
    return this.numeric.idle.data;
  }
  get roles(): Uint32Array {
    return this.roleMask;
  }

  hostId(row: number): string {
    return this.hostIds[row]!;
  }
  rowOfHost(hostId: string): number {
    return this.rowOf.get(hostId) ?? -1;
  }
  labels(row: number): Record<string, string> {
    return this.labelsOf[row]!;
  }
  roleNames(row: number): string[] {
    return this.rolesOf[row]!;
  }
  idleInstances(row: number): IdleInstance[] {
    return this.idleOf[row]!;
  }
  /** The column of one label key, or undefined when no host has that key. */
  labelColumn(key: string): InternedColumn | undefined {
    return this.labelColumns.get(key);
  }
  /** The bit of a role in `roles`, or 0 when no host has that role. */
  roleBit(role: string): number {
    return this.roleBits.get(role) ?? 0;
  }

  /** Takes the host's newest state (hello labels/roles, latest report) into its row. */
  update(h: HostRecord, redis: RedisSample[]): void {
    const row = this.rowFor(h.id);
    this.labelsOf[row] = { ...h.labels };
    for (const [key, col] of this.labelColumns) if (!(key in h.labels)) col.ids[row] = 0;
    for (const [key, value] of Object.entries(h.labels)) this.column(key).ids[row] = this.column(key).intern(value);
    this.rolesOf[row] = [...h.roles];
    let mask = 0;
    for (const r of h.roles) mask |= this.bitFor(r);
    this.roleMask[row] = mask;

    const n = this.numeric;
    const reportedAt = h.lastReportAt ?? 0;
    n.reportedAt.data[row] = reportedAt;
    n.freshUntil.data[row] = h.host && h.capacity && reportedAt ? reportedAt + this.hostDownAfterIntervals * h.intervalMs : 0;
    n.cpuCores.data[row] = h.host?.cpuCores ?? 0;
    n.cpuPercent.data[row] = h.host?.cpuPercent ?? 0;
    n.memTotal.data[row] = h.host?.memTotalBytes ?? 0;
    n.memAvailable.data[row] = h.host?.memAvailableBytes ?? 0;
    n.diskTotal.data[row] = h.host?.diskTotalBytes ?? 0;
    n.diskFree.data[row] = h.host?.diskFreeBytes ?? 0;
    n.maxmemoryReserved.data[row] = h.capacity?.maxmemoryReservedBytes ?? 0;
    n.slots.data[row] = h.capacity?.instanceSlots ?? 0;
    n.running.data[row] = h.capacity?.runningInstances ?? 0;
    const idle = idleInstances(h.capacity?.idleAddresses ?? [], redis);
    this.idleOf[row] = idle;
    n.idle.data[row] = idle.length;
  }

  private rowFor(hostId: string): number {
    let row = this.rowOf.get(hostId);
    if (row !== undefined) return row;
    row = this.hostIds.length;
    if (row >= this.rows) this.grow(this.rows * 2);
    this.rowOf.set(hostId, row);
    this.hostIds.push(hostId);
    this.labelsOf.push({});
    this.rolesOf.push([]);
    this.idleOf.push([]);
    return row;
  }

  private grow(rows: number): void {
    this.rows = rows;
    for (const c of Object.values(this.numeric)) c.grow(rows);
    for (const c of this.labelColumns.values()) c.grow(rows);
    const mask = new Uint32Array(rows);
    mask.set(this.roleMask);
    this.roleMask = mask;
  }

  private column(key: string): InternedColumn {
    let c = this.labelColumns.get(key);
    if (!c) {
      c = new InternedColumn(this.rows);
      this.labelColumns.set(key, c);
    }
    return c;
  }

  private bitFor(role: string): number {
    let bit = this.roleBits.get(role);
    if (bit === undefined) {
      if (this.roleBits.size >= 32) return 0; // hello allows 16 roles per host; 32 distinct fleet-wide is plenty
      bit = 1 << this.roleBits.size;
      this.roleBits.set(role, bit);
    }
    return bit >>> 0;
  }
}

/** The reported idle addresses with the maxmemory of their samples (0 = no limit set). */
function idleInstances(addresses: string[], redis: RedisSample[]): IdleInstance[] {
  if (addresses.length === 0) return [];
  const maxmemory = new Map(redis.map((s) => [s.address, s.maxmemory > 0 ? s.maxmemory : 0]));
  return addresses.map((address) => ({ address, maxmemoryBytes: maxmemory.get(address) ?? 0 }));
}
