// The plugin interface (Kubernetes scheduling-framework shape, cut down) and the per-request
// context the plugins read. A plugin's prepare() runs once per request (PreFilter / PreScore)
// and returns the per-host function the scan calls; the closure keeps the typed arrays it
// needs in locals, so the scan does no lookups.
import type { Holds } from './holds.js';
import { scratch } from './scratch.js';
import type { CapacityTable, IdleInstance } from './table.js';

export interface PlacementRequest {
  requestId: string;
  role: string;
  count: number;
  memoryMb: number;
  labels: Record<string, string>;
  /** Label key whose values the members are spread over (e.g. idc). */
  spreadBy?: string;
  /** "group": no two members of one group on one host. */
  antiAffinity: 'none' | 'group';
  /** Members per group (e.g. 2 for master + replica); the whole request when not given. */
  groupSize: number;
  /** A profile name or a single score plugin's name. */
  strategy?: string;
}

/** Per-role safety limits, checked with the request added. */
export interface RoleThresholds {
  /** Largest fraction of host memory that maxmemory reservations (+ holds + this request) may reach. */
  memory: number;
  /** Highest host CPU usage (percent, all cores) that still takes new instances. */
  cpu: number;
  /** Highest used fraction of the data volume. */
  disk: number;
}

/** Roles whose members occupy an instance slot (and can take an idle instance). */
const SLOT_ROLES = new Set(['redis']);

export class PlacementContext {
  readonly memoryBytes: number;
  readonly usesSlots: boolean;
  /** Memory and slots the earlier members of this request put on each row. */
  readonly extraMemory: Float64Array;
  readonly extraSlots: Float64Array;
  private readonly takenIdle = new Map<number, Set<string>>();

  // What placing the next member on `demandRow` takes (filled by demand()).
  private demandRow = -1;
  demandMemory = 0;
  demandSlot = 0;
  demandIdle: IdleInstance | null = null;

  constructor(
    readonly table: CapacityTable,
    readonly holds: Holds,
    readonly request: PlacementRequest,
    readonly thresholds: RoleThresholds,
    readonly now: number,
  ) {
    this.memoryBytes = request.memoryMb * 1024 * 1024;
    this.usesSlots = SLOT_ROLES.has(request.role);
    this.extraMemory = scratch.get('f64', 'extraMemory', table.size);
    this.extraSlots = scratch.get('f64', 'extraSlots', table.size);
    holds.ensureRows(table.size);
  }

  /**
   * Works out what the next member needs on `row`: an idle instance that fits (its maxmemory
   * already covers the request, or it has none and the request's memory is added), else a new
   * slot and the request's memory. Cached until the row takes a member.
   */
  demand(row: number): void {
    if (this.demandRow === row) return;
    this.demandRow = row;
    this.demandIdle = this.usesSlots ? this.pickIdle(row) : null;
    if (this.demandIdle) {
      this.demandSlot = 0;
      this.demandMemory = this.demandIdle.maxmemoryBytes >= this.memoryBytes ? 0 : this.memoryBytes;
    } else {
      this.demandSlot = this.usesSlots ? 1 : 0;
      this.demandMemory = this.memoryBytes;
    }
  }

  /** Records that the next member goes to `row` with what demand(row) computed. */
  take(row: number): void {
    this.demand(row);
    this.extraMemory[row]! += this.demandMemory;
    this.extraSlots[row]! += this.demandSlot;
    if (this.demandIdle) {
      let set = this.takenIdle.get(row);
      if (!set) this.takenIdle.set(row, (set = new Set()));
      set.add(this.demandIdle.address);
    }
    this.demandRow = -1;
  }

  /** Memory (bytes) on `row` not yet reserved by maxmemory, holds, this request or the next member. */
  freeMemoryAfter(row: number): number {
    this.demand(row);
    const t = this.table;
    return Math.max(
      0,
      t.memTotal[row]! - t.maxmemoryReserved[row]! - this.holds.heldMemory[row]! - this.extraMemory[row]! - this.demandMemory,
    );
  }

  private pickIdle(row: number): IdleInstance | null {
    if (this.table.idle[row] === 0) return null;
    const taken = this.takenIdle.get(row);
    let best: IdleInstance | null = null;
    for (const i of this.table.idleInstances(row)) {
      if (taken?.has(i.address) || this.holds.isIdleHeld(row, i.address)) continue;
      // Smallest maxmemory that covers the request; one without a limit (0) only as a last resort.
      const fits = i.maxmemoryBytes >= this.memoryBytes;
      if (!fits && i.maxmemoryBytes !== 0) continue;
      if (!best) best = i;
      else if (fits && (best.maxmemoryBytes === 0 || i.maxmemoryBytes < best.maxmemoryBytes)) best = i;
    }
    return best;
  }
}

/** Per-host check of one request; null = the host passes, else why not (a short phrase). */
export type HostFilter = (row: number) => string | null;
/** Raw score ≥ 0 of placing the next member on the host. */
export type HostScore = (row: number) => number;

export interface FilterPlugin {
  readonly name: string;
  prepare(ctx: PlacementContext): HostFilter;
}

export interface ScorePlugin {
  readonly name: string;
  /** Lower raw scores are better: normalised as 100 − raw × 100 / max instead of raw × 100 / max. */
  readonly lowerIsBetter: boolean;
  prepare(ctx: PlacementContext): HostScore;
}
