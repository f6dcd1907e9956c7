// What a proxy's slot table says about routing: which address each group's slots go to
// (the proxy's view of the group master), unassigned and locked slots, and migrations.
import type { CodisSlot } from './parse.js';

export interface CodisMigration {
  slot: number;
  fromAddr: string;
  fromGroup: number;
  toAddr: string;
  toGroup: number;
}

export interface CodisGroupRoute {
  group: number;
  /** The backend address most of this group's slots route to: the proxy's master for the group. */
  master: string;
  /** Slots routed to this group. */
  slots: number;
  /** Distinct backend addresses among those slots (more than one only while a switch is half applied). */
  addresses: string[];
  /** Slots migrating into / out of this group. */
  migratingIn: number;
  migratingOut: number;
  /** Read replicas the proxy may use for this group (replica_groups, deduplicated). */
  replicas: string[];
}

export interface CodisSlotSummary {
  total: number;
  assigned: number;
  /** Slot ids with no backend: requests for their keys fail with "slot is not ready". */
  unassigned: number[];
  locked: number[];
  migrating: CodisMigration[];
  /** By group id, ascending. */
  groups: CodisGroupRoute[];
}

export function summarizeCodisSlots(slots: readonly CodisSlot[]): CodisSlotSummary {
  const unassigned: number[] = [];
  const locked: number[] = [];
  const migrating: CodisMigration[] = [];
  const groups = new Map<
    number,
    { counts: Map<string, number>; slots: number; migratingIn: number; migratingOut: number; replicas: Set<string> }
  >();
  const group = (id: number) => {
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { counts: new Map(), slots: 0, migratingIn: 0, migratingOut: 0, replicas: new Set() }));
    return g;
  };
  for (const s of slots) {
    if (s.locked) locked.push(s.id);
    if (!s.backendAddr) {
      unassigned.push(s.id);
      continue;
    }
    const g = group(s.backendGroupId);
    g.slots++;
    g.counts.set(s.backendAddr, (g.counts.get(s.backendAddr) ?? 0) + 1);
    for (const rg of s.replicaGroups) for (const a of rg) if (a !== s.backendAddr) g.replicas.add(a);
    if (s.migrateFrom) {
      migrating.push({
        slot: s.id,
        fromAddr: s.migrateFrom,
        fromGroup: s.migrateFromGroupId,
        toAddr: s.backendAddr,
        toGroup: s.backendGroupId,
      });
      g.migratingIn++;
      group(s.migrateFromGroupId).migratingOut++;
    }
  }
  const routes: CodisGroupRoute[] = [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([id, g]) => {
      const addresses = [...g.counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([a]) => a);
      return {
        group: id,
        master: addresses[0] ?? '',
        slots: g.slots,
        addresses,
        migratingIn: g.migratingIn,
        migratingOut: g.migratingOut,
        replicas: [...g.replicas].sort(),
      };
    });
  return { total: slots.length, assigned: slots.length - unassigned.length, unassigned, locked, migrating, groups: routes };
}

/** Group id → master address as routed by the slot table. */
export function codisGroupMasters(slots: readonly CodisSlot[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const g of summarizeCodisSlots(slots).groups) if (g.master) out[String(g.group)] = g.master;
  return out;
}
