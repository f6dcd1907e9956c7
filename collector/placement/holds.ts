// Reservations: what placements took and have not given back yet. While a reservation holds,
// its memory and slots count as used on the host and its idle instances are not handed out
// again. A reserved placement that is not confirmed in time expires; a confirmed one keeps
// holding for `confirmedHoldMs` (until the agents' reports show the new instances), then
// stops holding but stays on record.
import { NumberColumn } from './columns.js';

export type ReservationState = 'reserved' | 'confirmed' | 'released' | 'expired';

export interface HeldMember {
  row: number;
  hostId: string;
  memoryBytes: number;
  /** 1 when the member takes a new instance slot, 0 when it takes an idle instance. */
  slot: number;
  idleAddress: string | null;
}

export interface Reservation {
  requestId: string;
  state: ReservationState;
  /** true while the members count against their hosts. */
  holding: boolean;
  createdAt: number;
  /** When the hold ends: expiry of a reserved placement, or end of a confirmed one's hold. */
  holdUntil: number;
  members: HeldMember[];
}

export class Holds {
  private readonly memory = new NumberColumn(1024);
  private readonly slots = new NumberColumn(1024);
  private readonly idle = new Map<number, Set<string>>();
  private readonly holding = new Map<string, Reservation>();
  private nextEnd = Infinity;

  /** Memory (bytes) held per row. */
  get heldMemory(): Float64Array {
    return this.memory.data;
  }
  /** New instance slots held per row. */
  get heldSlots(): Float64Array {
    return this.slots.data;
  }

  /** Makes the per-row columns cover `rows` table rows. */
  ensureRows(rows: number): void {
    if (rows <= this.memory.data.length) return;
    let n = this.memory.data.length;
    while (n < rows) n *= 2;
    this.memory.grow(n);
    this.slots.grow(n);
  }

  isIdleHeld(row: number, address: string): boolean {
    return this.idle.get(row)?.has(address) ?? false;
  }

  get activeCount(): number {
    return this.holding.size;
  }
  active(): Reservation[] {
    return [...this.holding.values()];
  }

  hold(r: Reservation): void {
    this.ensureRows(Math.max(0, ...r.members.map((m) => m.row + 1)));
    for (const m of r.members) {
      this.memory.data[m.row]! += m.memoryBytes;
      this.slots.data[m.row]! += m.slot;
      if (m.idleAddress !== null) {
        let set = this.idle.get(m.row);
        if (!set) this.idle.set(m.row, (set = new Set()));
        set.add(m.idleAddress);
      }
    }
    r.holding = true;
    this.holding.set(r.requestId, r);
    this.nextEnd = Math.min(this.nextEnd, r.holdUntil);
  }

  /** Extends or shortens the hold of a holding reservation (confirm). */
  setHoldUntil(r: Reservation, until: number): void {
    r.holdUntil = until;
    this.nextEnd = Math.min(this.nextEnd, until);
  }

  /** Gives the members back; `state` is what the reservation becomes (released, expired, or stays confirmed). */
  unhold(r: Reservation, state: ReservationState): void {
    if (r.holding) {
      for (const m of r.members) {
        this.memory.data[m.row] = Math.max(0, this.memory.data[m.row]! - m.memoryBytes);
        this.slots.data[m.row] = Math.max(0, this.slots.data[m.row]! - m.slot);
        if (m.idleAddress !== null) this.idle.get(m.row)?.delete(m.idleAddress);
      }
      r.holding = false;
      this.holding.delete(r.requestId);
    }
    r.state = state;
  }

  /** Ends every hold whose time is up; returns the reservations that changed. */
  sweep(now: number): Reservation[] {
    if (now < this.nextEnd) return [];
    const ended: Reservation[] = [];
    let next = Infinity;
    for (const r of this.holding.values()) {
      if (r.holdUntil <= now) ended.push(r);
      else next = Math.min(next, r.holdUntil);
    }
    for (const r of ended) this.unhold(r, r.state === 'reserved' ? 'expired' : r.state);
    this.nextEnd = next;
    return ended;
  }
}
